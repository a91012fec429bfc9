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
    Answer,
    Release,
    Send,
    SessionContext,
    Wait,
    login_flow,
    refresh_flow,
    request_flow,
)
from tokensession.http import Request, Response
from tokensession.policy import SessionPolicy
from tokensession.state import Event, Phase

GRANT = TokenGrant("acc1", "ref1", expires_in=60)
NEW = {"access_token": "acc2", "refresh_token": "ref2", "expires_in": 60, "token_type": "Bearer"}


def context(window_s: float = 30, refreshing: bool = False) -> tuple[SessionContext, FakeClock, MemoryCookieJar]:
    clock = FakeClock()
    jar = MemoryCookieJar(clock)
    ctx = SessionContext(jar, clock, SessionPolicy.from_seconds(window_s))
    if refreshing:
        ctx.state.process(Event.REFRESH_STARTED)
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


def logout_send(command: Any) -> Send:
    """The ``logout`` call a session's end sends, without waiting for its answer."""
    send = as_send(command)
    assert send.background and not send.intercept and send.request.path == "logout"
    return send


def test_live_token_is_attached_and_answer_returned() -> None:
    ctx, clock, _ = context()
    signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    send = as_send(start(flow))
    assert isinstance(send, Send)
    assert send.intercept
    assert send.request.headers["authorization"] == "Bearer acc1"
    answer = finish(flow, Response(200))
    assert answer.response.status == 200 and answer.refresh_due is None


def test_success_inside_window_asks_for_a_background_refresh() -> None:
    ctx, clock, _ = context()
    sent = signed_in(ctx, clock)
    clock.advance(31)  # 29 s left, window 30 s
    flow = request_flow(ctx, Request.build("GET", "me"))
    start(flow)
    answer = finish(flow, Response(200))
    assert answer == Answer(Response(200), refresh_due=sent)  # the driver runs it; the caller has its answer


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
    logout_send(next(flow))  # cookies cleared first, then the logout call; nothing else goes out
    assert ctx.read().is_empty
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
    assert finish(flow, Response(200)).response.status == 200


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
    ctx, clock, _ = context()
    signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    start(flow)
    assert flow.send(Response(401)) == Acquire()  # the refresh is just another request, under the lock
    refresh = as_send(flow.send(None))
    assert refresh.request.path == "refresh_token"
    assert flow.send(Response(200, body=json.dumps(NEW).encode())) == Release()
    retry = as_send(flow.send(None))
    assert retry.request.headers["authorization"] == "Bearer acc2"
    logout_send(flow.send(Response(401)))  # no second refresh: no loop; the session ends
    with pytest.raises(SessionExpired) as info:
        flow.send(None)
    assert info.value.reason == "unauthorized"
    assert ctx.state.phase is Phase.OUT


def test_401_after_the_cookies_were_refreshed_retries_with_the_new_token_without_a_refresh() -> None:
    # The storm after a 401: the first answer's refresh is done when a later 401 arrives.
    ctx, clock, jar = context()
    signed_in(ctx, clock)
    flow = request_flow(ctx, Request.build("GET", "me"))
    start(flow)
    for line in grant_assignments(TokenGrant.from_json(NEW), received_ms=clock()):  # type: ignore[arg-type]
        jar.write(line)
    retry = as_send(flow.send(Response(401)))  # no refresh, no lock: straight to the retry
    assert retry.request.headers["authorization"] == "Bearer acc2"
    logout_send(flow.send(Response(401)))  # still only one retry (R4): the session ends


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
    assert ctx.state.refreshing
    assert flow.send(Response(200, body=json.dumps(NEW).encode())) == Release()
    assert not ctx.state.refreshing  # stored: the state heard REFRESHED (its listeners fire on_refresh)
    refreshed = finish(flow, None)
    assert refreshed == ctx.read() and refreshed.access_token == "acc2"
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
    logout_send(flow.send(None))
    with pytest.raises(SessionExpired) as info:
        flow.send(None)
    assert info.value.reason == "refresh_rejected"
    assert ctx.state.phase is Phase.OUT and ctx.read().is_empty


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
    assert ctx.state.phase is Phase.IN_BACKOFF and ctx.state.blips == 1
    assert ctx.state.retry_at_ms == clock() + 1000


def test_refresh_answer_after_sign_out_does_not_resurrect_the_session() -> None:
    ctx, clock, _ = context()
    flow = refresh_flow(ctx, signed_in(ctx, clock))
    next(flow)
    flow.send(None)
    ctx.end("logout")  # signed out while the refresh was in flight
    assert flow.send(Response(200, body=json.dumps(NEW).encode())) == Release()
    logout = logout_send(flow.send(None))
    assert json.loads(logout.request.body) == {"refresh_token": "ref2"}  # retire the new family
    with pytest.raises(SessionExpired):
        flow.send(None)
    assert ctx.read().is_empty
    assert ctx.state.phase is Phase.OUT  # the refresh is over too


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
    assert ctx.end("logout") == (True, "ref1")
    assert ctx.end("logout") == (False, None)  # already cleared: no second logout, no second hook


def test_a_second_refresh_joins_the_one_in_flight_and_shares_its_new_session() -> None:
    ctx, clock, _ = context()
    seen = signed_in(ctx, clock)
    first = refresh_flow(ctx, seen)
    assert next(first) == Acquire()
    second = refresh_flow(ctx, seen)
    assert next(second) == Wait()  # single flight: no second lock, no second call
    as_send(first.send(None))
    first.send(Response(200, body=json.dumps(NEW).encode()))
    renewed = finish(first, None)
    assert finish(second, None) == renewed


def test_a_second_refresh_shares_the_blip_of_the_one_in_flight() -> None:
    ctx, clock, _ = context()
    seen = signed_in(ctx, clock)
    first = refresh_flow(ctx, seen)
    next(first)
    second = refresh_flow(ctx, seen)
    next(second)
    first.send(None)
    first.send(Response(503))
    with pytest.raises(RefreshFailed) as blip:
        first.send(None)
    with pytest.raises(RefreshFailed) as shared:
        second.send(None)
    assert shared.value is blip.value  # one failure, reported once by the state's listeners


def test_a_refresh_whose_wait_ended_without_an_outcome_is_a_timeout_blip() -> None:
    ctx, clock, _ = context(refreshing=True)  # a refresh that never ends
    flow = refresh_flow(ctx, signed_in(ctx, clock))
    assert next(flow) == Wait()
    with pytest.raises(RefreshFailed) as info:
        flow.send(None)  # the driver's bounded wait gave up
    assert info.value.kind == "timeout"


def test_a_refresh_lock_not_granted_is_a_timeout_blip_that_keeps_the_session() -> None:
    ctx, clock, _ = context()
    before = signed_in(ctx, clock)
    flow = refresh_flow(ctx, before)
    assert next(flow) == Acquire()
    with pytest.raises(RefreshFailed) as info:
        flow.throw(RequestTimeout("refresh lock not granted within 10000 ms"))
    assert info.value.kind == "timeout" and isinstance(info.value.cause, RequestTimeout)
    assert ctx.read() == before
    assert ctx.state.phase is Phase.IN_BACKOFF


def test_every_command_a_flow_yields_is_io() -> None:
    # Flows say what happened by return values and errors; they yield only I/O.
    ctx, clock, _ = context()
    signed_in(ctx, clock)
    clock.advance(31)
    flow = request_flow(ctx, Request.build("GET", "me"))
    replies = iter([None, Response(401), None, Response(200, body=json.dumps(NEW).encode()), None, Response(200)])
    seen = []
    command: Any = next(flow)
    while command is not None:
        seen.append(type(command).__name__)
        assert isinstance(command, (Send, Acquire, Release, Wait))
        try:
            command = flow.send(next(replies))
        except StopIteration:
            command = None
    assert seen == ["Wait", "Send", "Acquire", "Send", "Release", "Send"]
