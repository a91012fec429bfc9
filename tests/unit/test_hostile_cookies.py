"""Hostile cookies: garbage, duplicates, oversized values, injected ``;`` or ``=``, a live
``utilTime`` beside a bad token. The session reads as absent or ended, or is refreshed
per R4; nothing raises anything but the library's own errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authapi.messages import ApiResponse
from tests.unit.conftest import Handler, World, WorldFactory
from tokensession.cookies import MAX_VALUE, Session, parse_cookie_header
from tokensession.errors import RefreshFailed, SessionExpired
from tokensession.messages import toast_text
from tokensession.policy import Action, SessionPolicy

pytestmark = pytest.mark.anyio

NAMES = st.sampled_from(["access_token", "refresh_token", "utilTime", "expires_in", "other"])
VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "=", ";", "a=b", '"', '""', "%", "%ZZ", "1e400", "-1", "NaN", "Infinity", "0x10"]),
    st.integers(-(10**20), 10**20).map(str),
    st.just("x" * (MAX_VALUE + 1)),
)
HEADERS = (
    st.lists(st.tuples(NAMES, VALUES), max_size=8).map(lambda kv: "; ".join(f"{k}={v}" for k, v in kv)) | st.text()
)


@settings(max_examples=300, deadline=None)
@given(header=HEADERS, now=st.integers(0, 2**53))
def test_any_cookie_text_reads_as_a_session_or_none_and_the_policy_decides(header: str, now: int) -> None:
    session = Session.from_header(header)  # never raises
    action = SessionPolicy().before_send(now, session, "api", refreshing=False)
    if session.is_empty:
        assert action is Action.SEND_ANONYMOUS
    elif session.expired(now):
        assert action is Action.END_SESSION  # R3: an unreadable utilTime counts as expired
    elif session.access_token is None:
        assert action is Action.REFRESH_FIRST  # R4 without the wasted 401
    else:
        assert action is Action.SEND_WITH_TOKEN
        # What goes into the header is one bearer token: no ";", "=" inside, no spaces, bounded.
        assert ";" not in session.access_token and " " not in session.access_token
        assert len(session.access_token) <= MAX_VALUE


def test_duplicates_take_the_first_as_browsers_list_the_longest_path_first() -> None:
    cookies = parse_cookie_header("access_token=ours; access_token=stale; utilTime=5; utilTime=oops")
    assert cookies == {"access_token": "ours", "utilTime": "5"}


async def signed_in(world: World) -> None:
    await world.login()
    await world.client.settle()
    world.transport.sent.clear()


@pytest.mark.parametrize(
    "bad",
    [
        "access_token=garbage!!; Path=/",  # not a bearer token
        "access_token=" + "x" * (MAX_VALUE + 10) + "; Path=/",  # oversized
        "access_token=%E4%BD%A0; Path=/",  # decodes to non-ASCII
        "access_token=; Path=/",  # empty
    ],
)
async def test_a_live_util_time_beside_an_unusable_token_refreshes_first(world: World, bad: str) -> None:
    await signed_in(world)
    world.jar.write(bad)
    response = await world.client.get("me")
    assert response.status == 200
    assert [r.path for r in world.transport.sent] == ["refresh_token", "me"]  # no request with the bad token


@pytest.mark.parametrize(
    "bad",
    [
        "access_token=a;b=c; Path=/",  # injected ";": the browser keeps "a"
        "access_token=eyJhbGciOiJIUzI1NiJ9.e30.bm9wZQ; Path=/",  # a JWT shape that is not ours
        "access_token=abc=; Path=/",  # injected "=" (base64 padding is allowed: a token, just a wrong one)
    ],
)
async def test_a_live_util_time_beside_a_wrong_token_recovers_through_one_refresh(world: World, bad: str) -> None:
    await signed_in(world)
    world.jar.write(bad)
    response = await world.client.get("me")
    assert response.status == 200
    assert [r.path for r in world.transport.sent] == ["me", "refresh_token", "me"]  # R4: 401, refresh, retry
    assert world.ended == []


@pytest.mark.parametrize("util", ["abc", "", "1e400", "-5", "NaN", "9" * 40, "1;2"])
async def test_an_unreadable_util_time_ends_the_session_without_sending_the_token(world: World, util: str) -> None:
    await signed_in(world)
    world.jar.write(f"utilTime={util}; Path=/")
    with pytest.raises(SessionExpired):
        await world.client.get("me")
    await world.client.settle()
    assert [r.path for r in world.transport.sent] == ["logout"]  # R3: nothing else went out
    assert world.client.session().is_empty


async def test_a_garbage_refresh_token_after_a_401_ends_the_session(world: World) -> None:
    await signed_in(world)
    world.jar.write("access_token=wrong; Path=/")
    world.jar.write("refresh_token=not;valid; Path=/")  # the jar keeps "not": unknown to the server
    with pytest.raises(SessionExpired) as info:
        await world.client.get("me")
    assert info.value.reason == "refresh_rejected"
    assert world.client.session().is_empty


@pytest.mark.parametrize(
    "header",
    [
        "access_token=; refresh_token=; utilTime=; expires_in=",
        ";;;===;;",
        "utilTime=99999999999999; expires_in=20",  # an expiry with no token at all
        "refresh_token=" + "r" * (MAX_VALUE + 1),
    ],
)
async def test_only_garbage_is_no_session_and_calls_go_out_anonymous(world: World, header: str) -> None:
    for part in header.split(";"):
        world.jar.write(part.strip() + "; Path=/")
    with pytest.raises(SessionExpired):  # R4 with nothing to refresh with: no session, nothing to announce
        await world.client.get("me")
    assert [("authorization" in r.headers) for r in world.transport.sent] == [False]
    assert world.ended == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"refresh_token": "r", "expires_in": 20}',
        b'{"access_token": "a", "refresh_token": "r", "expires_in": -1}',
        b'{"access_token": "a", "refresh_token": "r", "expires_in": 0}',
        b'{"access_token": "a", "refresh_token": "r", "expires_in": 1000000000000}',
        b'{"access_token": "a", "refresh_token": "r", "expires_in": "20"}',
        b'{"access_token": "a", "refresh_token": "r", "expires_in": 20.5}',
        b'{"access_token": "a", "refresh_token": "r", "expires_in": true}',
    ],
)
async def test_a_malformed_refresh_answer_is_a_failed_refresh_never_stored(
    make_world: WorldFactory, body: bytes
) -> None:
    def wrap(handler: Handler) -> Handler:
        async def malformed(req: Any) -> Any:
            if req.path == "refresh_token":
                return ApiResponse(200, {"content-type": "application/json"}, body)
            return await handler(req)

        return malformed

    world = make_world(wrap=wrap)
    session = await world.login()
    await world.client.get("me")  # inside the window: starts a refresh, which gets the nonsense
    await world.client.settle()
    assert world.client.session() == session  # nothing of the answer stored
    assert world.ended == []  # a blip: the token still works until utilTime
    assert len(world.errors) == 1 and isinstance(world.errors[0], RefreshFailed)
    assert toast_text(world.errors[0], "en") == "Server error"
