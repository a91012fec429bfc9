"""The flows driven by hand, step by step: what each yields, with no driver and no I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.conftest import FakeClock
from tokensession.cookies import MemoryCookieJar, Session, TokenGrant, grant_assignments
from tokensession.errors import NetworkError, RefreshFailed, RequestTimeout, SessionExpired, UnauthorizedError
from tokensession.flow import (
    Acquire,
    EndSession,
    Refresh,
    Refreshed,
    Release,
    Send,
    SessionContext,
    StartRefresh,
    Wait,
    login_flow,
    refresh_flow,
    request_flow,
)
from tokensession.http import Request, Response
from tokensession.policy import SessionPolicy

GRANT = TokenGrant("acc1", "ref1", expires_in=60)
NEW = {"access_token": "acc2", "refresh_token": "ref2", "expires_in": 60, "token_type": "Bearer"}


def context(window_s: float = 30, refreshing: bool = False) -> tuple[SessionContext, FakeClock, MemoryCookieJar]:
    clock = FakeClock()
    jar = MemoryCookieJar(clock)
    ctx = SessionContext(jar, clock, SessionPolicy.from_seconds(window_s), refreshing=lambda: refreshing)
    return ctx, clock, jar


def signed_in(ctx: SessionContext, clock: FakeClock) -> Session:
    for line in grant_assignments(GRANT, received_ms=clock()):
        ctx.jar.write(line)
    return ctx.read()


def as_send(command: Any) -> Send:
    assert isinstance(command, Send), command
    return command


def start(flow: Any) -> Any:
    """The flow's first command past its R7 check (``Wait(elsewhere=True)``, before a token goes out)."""
    command = next(flow)
    return flow.send(None) if command == Wait(elsewhere=True) else command


def finish(flow: Any, reply: Any) -> Any:
    with pytest.raises(StopIteration) as stop:
        flow.send(reply)
    return stop.value.value


def test_live_token_is_attached_and_answer_returned() -> None:
    ctx, clock, _ = context()
    signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    send = as_send(start(flow))
    assert isinstance(send, Send)
    assert send.intercept
    assert send.request.headers["authorization"] == "Bearer acc1"
    assert finish(flow, Response(200)).status == 200


def test_success_inside_window_starts_a_background_refresh() -> None:
    ctx, clock, _ = context()
    sent = signed_in(ctx, clock)
    clock.advance(31)  # 29 s left, window 30 s
    flow = request_flow(ctx, Request.build("GET", "me"))
    start(flow)
    assert flow.send(Response(200)) == StartRefresh(sent)
    assert finish(flow, None).status == 200


def test_anonymous_when_signed_out() -> None:
    ctx, _, _ = context()
    flow = request_flow(ctx, Request.build("GET", "status/404"))
    send = as_send(next(flow))
    assert "authorization" not in send.request.headers


def test_expired_token_is_never_sent() -> None:
    ctx, clock, _ = context()
    signed_in(ctx, clock)
    clock.advance(60)
    flow = request_flow(ctx, Request.build("GET", "me"))
    assert next(flow) == EndSession("expired")
    with pytest.raises(SessionExpired):
        flow.send(None)


def test_request_waits_for_refresh_in_flight_then_uses_new_token() -> None:
    ctx, clock, jar = context(refreshing=True)
    signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    assert next(flow) == Wait()
    for line in grant_assignments(TokenGrant.from_json(NEW), received_ms=clock()):  # type: ignore[arg-type]
        jar.write(line)
    # The new token has 60 s left, outside the 30 s window, and no other tab said it refreshes.
    send = as_send(flow.send(None))
    assert send.request.headers["authorization"] == "Bearer acc2"


def test_token_request_inside_the_window_waits_for_a_refresh_in_another_tab_then_rereads_the_cookies() -> None:
    ctx, clock, jar = context()
    signed_in(ctx, clock)
    clock.advance(31)  # 29 s left, window 30 s: any tab may be refreshing now (R1)
    flow = request_flow(ctx, Request.build("GET", "me"))
    assert next(flow) == Wait(elsewhere=True)  # the driver waits for the cross-tab lock to be free
    for line in grant_assignments(TokenGrant.from_json(NEW), received_ms=clock()):  # type: ignore[arg-type]
        jar.write(line)  # meanwhile, another tab refreshed
    send = as_send(flow.send(None))
    assert send.request.headers["authorization"] == "Bearer acc2"
    assert finish(flow, Response(200)).status == 200


def test_token_request_outside_the_window_goes_out_at_once_when_no_tab_said_it_refreshes() -> None:
    ctx, clock, _ = context()
    signed_in(ctx, clock)  # 60 s left, window 30 s: no tab refreshes now unless it says so
    send = as_send(next(request_flow(ctx, Request.build("GET", "me"))))
    assert send.request.headers["authorization"] == "Bearer acc1"


def test_token_request_outside_the_window_waits_when_another_tab_said_it_refreshes() -> None:
    ctx, clock, jar = context()
    signed_in(ctx, clock)
    ctx.refresh_elsewhere = lambda: True  # e.g. after a 401 there, or "stay signed in"
    flow = request_flow(ctx, Request.build("GET", "me"))
    assert next(flow) == Wait(elsewhere=True)
    for line in grant_assignments(TokenGrant.from_json(NEW), received_ms=clock()):  # type: ignore[arg-type]
        jar.write(line)
    send = as_send(flow.send(None))  # waited once: decided on the new cookies, no second wait
    assert send.request.headers["authorization"] == "Bearer acc2"


def test_anonymous_and_auth_calls_do_not_wait_for_other_tabs() -> None:
    ctx, clock, _ = context()
    assert isinstance(next(request_flow(ctx, Request.build("GET", "me"))), Send)  # signed out
    signed_in(ctx, clock)
    assert isinstance(next(request_flow(ctx, Request.build("POST", "logout", json={}))), Send)


def test_401_refreshes_once_retries_once_then_ends() -> None:
    ctx, clock, jar = context()
    sent = signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    start(flow)
    assert flow.send(Response(401)) == Refresh(sent)
    for line in grant_assignments(TokenGrant.from_json(NEW), received_ms=clock()):  # type: ignore[arg-type]
        jar.write(line)
    retry = as_send(flow.send(ctx.read()))
    assert retry.request.headers["authorization"] == "Bearer acc2"
    assert flow.send(Response(401)) == EndSession("unauthorized")  # no second refresh: no loop
    with pytest.raises(SessionExpired) as info:
        flow.send(None)
    assert info.value.reason == "unauthorized"


def test_401_after_the_cookies_were_refreshed_retries_with_the_new_token_without_a_refresh() -> None:
    # The storm after a 401: the first answer's refresh is done when a later 401 arrives.
    ctx, clock, jar = context()
    signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    start(flow)
    for line in grant_assignments(TokenGrant.from_json(NEW), received_ms=clock()):  # type: ignore[arg-type]
        jar.write(line)
    retry = as_send(flow.send(Response(401)))  # no Refresh, no lock: straight to the retry
    assert retry.request.headers["authorization"] == "Bearer acc2"
    assert flow.send(Response(401)) == EndSession("unauthorized")  # still only one retry (R4)


def test_network_error_reaches_the_caller() -> None:
    ctx, clock, _ = context()
    signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    start(flow)
    with pytest.raises(NetworkError):
        flow.send(NetworkError("down"))


def test_refresh_sends_token_in_body_bypassing_interceptors() -> None:
    ctx, clock, _ = context()
    seen = signed_in(ctx, clock)
    flow = refresh_flow(ctx, seen)
    assert next(flow) == Acquire()
    send = as_send(flow.send(None))
    assert send.intercept is False
    assert (send.request.method, send.request.path) == ("POST", "refresh_token")
    assert json.loads(send.request.body) == {"refresh_token": "ref1"}
    assert "authorization" not in send.request.headers
    assert flow.send(Response(200, body=json.dumps(NEW).encode())) == Release()
    refreshed = flow.send(None)
    assert isinstance(refreshed, Refreshed)
    assert refreshed.session.access_token == "acc2"
    assert finish(flow, None) == ctx.read()
    assert ctx.read().util_time_ms == clock() + 60_000


def test_refresh_skips_when_cookies_changed_while_waiting_for_the_lock() -> None:
    ctx, clock, jar = context()
    seen = signed_in(ctx, clock)
    flow = refresh_flow(ctx, seen)
    next(flow)
    for line in grant_assignments(TokenGrant.from_json(NEW), received_ms=clock()):  # type: ignore[arg-type]
        jar.write(line)  # another tab refreshed
    assert flow.send(None) == Release()
    assert finish(flow, None).access_token == "acc2"


@pytest.mark.parametrize("status", [400, 401])
def test_refused_refresh_ends_the_session(status: int) -> None:
    ctx, clock, _ = context()
    flow = refresh_flow(ctx, signed_in(ctx, clock))
    next(flow)
    flow.send(None)
    assert flow.send(Response(status)) == Release()
    assert flow.send(None) == EndSession("refresh_rejected")
    with pytest.raises(SessionExpired):
        flow.send(None)


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Response(503), "server"),
        (Response(200, body=b"not json"), "server"),
        (Response(200, body=b'{"access_token": 1}'), "server"),
        (NetworkError("down"), "network"),
        (RequestTimeout("slow"), "timeout"),
    ],
)
def test_refresh_blip_keeps_the_session(reply: Any, kind: str) -> None:
    ctx, clock, _ = context()
    before = signed_in(ctx, clock)
    flow = refresh_flow(ctx, before)
    next(flow)
    flow.send(None)
    assert flow.send(reply) == Release()
    with pytest.raises(RefreshFailed) as info:
        flow.send(None)
    assert info.value.kind == kind
    assert ctx.read() == before


def test_refresh_answer_after_sign_out_does_not_resurrect_the_session() -> None:
    ctx, clock, _ = context()
    flow = refresh_flow(ctx, signed_in(ctx, clock))
    next(flow)
    flow.send(None)
    ctx.end()  # signed out while the refresh was in flight
    assert flow.send(Response(200, body=json.dumps(NEW).encode())) == Release()
    logout = flow.send(None)
    assert isinstance(logout, Send)
    assert logout.request.path == "logout"
    assert json.loads(logout.request.body) == {"refresh_token": "ref2"}  # retire the new family
    with pytest.raises(SessionExpired):
        flow.send(Response(204))
    assert ctx.read().is_empty


def test_login_stores_the_session_and_401_is_unauthorized() -> None:
    ctx, _clock, _ = context()
    flow = login_flow(ctx, "demo", "demo")
    send = as_send(next(flow))
    assert json.loads(send.request.body) == {"username": "demo", "password": "demo"}
    session = finish(flow, Response(200, body=json.dumps(NEW).encode()))
    assert session == ctx.read()
    assert session.access_token == "acc2"
    flow = login_flow(ctx, "demo", "wrong")
    next(flow)
    with pytest.raises(UnauthorizedError):
        flow.send(Response(401))


def test_ending_announces_once_and_hands_back_the_refresh_token() -> None:
    ctx, clock, _ = context()
    ctx.observe()
    signed_in(ctx, clock)
    assert ctx.end() == (True, "ref1")
    assert ctx.end() == (False, None)  # already cleared: no second logout, no second hook
