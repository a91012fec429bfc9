"""The async client over the in-memory transport, wired to the reference API with a fake clock."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from authapi.inpage import transport_handler
from tests.unit.conftest import Handler, World, WorldFactory, hold_refreshes
from tokensession.config import Config
from tokensession.cookies import (
    PAGE_COOKIES,
    REFRESH_MARKER,
    REFRESH_TOKEN,
    MemoryCookieJar,
    RefreshCookie,
    Session,
    parse_cookie_header,
)
from tokensession.errors import (
    HttpStatusError,
    NetworkError,
    RefreshFailed,
    RequestTimeout,
    SessionExpired,
    UnauthorizedError,
)
from tokensession.http import Request
from tokensession.messages import toast_text
from tokensession.transport import InMemoryTransport

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["js", "httponly"])
def refresh_cookie(request: pytest.FixtureRequest) -> str:
    """Every test here runs in both refresh cookie modes (contract section 4)."""
    return str(request.param)


def httponly(world: World) -> bool:
    return world.refresh_cookie == "httponly"


def held_name(world: World) -> str:
    """The page's cookie that says a refresh token is held: the token, or the HttpOnly mode's marker."""
    return REFRESH_MARKER if httponly(world) else REFRESH_TOKEN


def assert_credential_call(world: World, request: Request, session: Session) -> None:
    """A ``refresh_token`` / ``logout`` call as the mode wants it: the token in the JSON body,
    or an empty body with the CSRF header (the transport adds the API's cookie)."""
    if httponly(world):
        assert request.body == b""
        assert request.headers["x-requested-with"] == "pyauth"
    else:
        assert json.loads(request.body) == {"refresh_token": session.refresh_token}


def refresh_resets(handler: Handler) -> Handler:
    """The network drops every refresh call (a blip); everything else reaches the API."""

    async def flaky(req: Any) -> Any:
        if req.path == "refresh_token":
            raise ConnectionResetError("reset")
        return await handler(req)

    return flaky


def refreshes(world: World) -> int:
    return len(world.sent("refresh_token"))


async def test_login_writes_the_four_cookies(world: World) -> None:
    session = await world.login()
    assert session == world.client.session()
    assert session.util_time_ms == world.clock() + 20_000
    names = sorted(parse_cookie_header(world.jar.read()))
    assert names == sorted(["access_token", "expires_in", held_name(world), "utilTime"])
    assert all("SameSite=Strict" in line for line in world.jar.assignments)
    if httponly(world):
        # The token is where only the API's requests carry it; the page holds a marker, not a token.
        assert world.transport.cookies is not None
        token = parse_cookie_header(world.transport.cookies.read())["refresh_token"]
        assert token not in world.jar.read()
        assert session.refresh_token is None and session.has_refresh_token


async def test_get_sends_the_bearer_token(world: World) -> None:
    session = await world.login()
    response = await world.client.get("me")
    assert response.json()["username"] == "demo"
    assert world.sent("me")[0].headers["authorization"] == f"Bearer {session.access_token}"


async def test_r1_refresh_inside_the_window(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=60, window=30)
    before = await world.login()
    world.clock.advance(31)
    await world.client.get("me")
    await world.client.settle()
    assert refreshes(world) == 1
    after = world.client.session()
    assert after.access_token != before.access_token
    assert after.util_time_ms == world.clock() + 60_000
    assert world.refreshed == [after]


async def test_r1_no_refresh_outside_the_window(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=60, window=30)
    await world.login()
    world.clock.advance(29)
    await world.client.get("me")
    await world.client.settle()
    assert refreshes(world) == 0


async def test_r1_auth_calls_never_refresh(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=1800)  # always inside the window
    await world.login()  # a success inside the window: login starts no refresh
    await world.client.settle()
    assert refreshes(world) == 0
    await world.client.refresh()  # the refresh call's own success starts no second refresh
    await world.client.settle()
    assert refreshes(world) == 1
    world.client.logout()  # nor does logout's
    await world.client.settle()
    assert refreshes(world) == 1
    assert len(world.sent("logout")) == 1
    assert [r.path for r in world.transport.sent] == ["login", "refresh_token", "logout"]


async def test_r1_auth_paths_called_as_plain_requests_never_refresh(make_world: WorldFactory) -> None:
    # The same rule when an app calls the three paths through request() (the policy's path).
    world = make_world(access_ttl=20, window=1800)
    session = await world.login()
    await world.client.post("login", json={"username": "demo", "password": "demo"})
    if world.refresh_cookie == "httponly":  # the token is the API's cookie; the header is the CSRF guard
        csrf = {"x-requested-with": "pyauth"}
        await world.client.post("refresh_token", headers=csrf)
        await world.client.post("logout", headers=csrf)
    else:
        grant = (await world.client.post("refresh_token", json={"refresh_token": session.refresh_token})).json()
        await world.client.post("logout", json={"refresh_token": grant["refresh_token"]})
    await world.client.settle()
    assert [r.path for r in world.transport.sent] == ["login", "login", "refresh_token", "logout"]
    assert all("authorization" not in r.headers for r in world.transport.sent)  # credentials in the body
    assert world.errors == [] and world.ended == []


async def test_r1_single_flight_50_concurrent_requests_one_refresh(make_world: WorldFactory) -> None:
    # The 50 are all out before any is answered, whatever order the event loop starts them in
    # (Pyodide's browser loop and CPython's differ; tests/micropython runs this on both).
    arrived, all_out = [0], asyncio.Event()

    def wrap(handler: Handler) -> Handler:
        async def together(req: Any) -> Any:
            if req.path == "me":
                arrived[0] += 1
                if arrived[0] == 50:
                    all_out.set()
                await all_out.wait()
            return await handler(req)

        return together

    world = make_world(wrap=wrap)
    await world.login()  # ttl 20 s, window 1800 s: every success is inside the window
    responses = await asyncio.gather(*(world.client.get("me") for _ in range(50)))
    await world.client.settle()
    assert [r.status for r in responses] == [200] * 50
    assert refreshes(world) == 1
    assert world.errors == []
    assert world.ended == []


async def test_requests_made_during_a_refresh_wait_and_use_the_new_token(make_world: WorldFactory) -> None:
    gate = asyncio.Event()
    world = make_world(wrap=hold_refreshes(gate), access_ttl=60, window=30)
    await world.login()
    refresh = asyncio.ensure_future(world.client.refresh())
    await asyncio.sleep(0)
    me = asyncio.ensure_future(world.client.get("me"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert world.sent("me") == []  # waiting for the refresh
    gate.set()
    new = await refresh
    await me
    assert world.sent("me")[0].headers["authorization"] == f"Bearer {new.access_token}"
    assert refreshes(world) == 1


async def test_r3_expired_token_is_never_sent_and_ends_the_session(world: World) -> None:
    await world.login()
    world.clock.advance(20)
    with pytest.raises(SessionExpired) as info:
        await world.client.get("me")
    await world.client.settle()
    assert info.value.reason == "expired"
    assert world.sent("me") == []
    assert world.client.session().is_empty
    assert world.ended == ["expired"]
    assert len(world.sent("logout")) == 1


async def test_r3_concurrent_expired_requests_end_the_session_once(world: World) -> None:
    await world.login()
    world.clock.advance(25)
    results = await asyncio.gather(*(world.client.get("me") for _ in range(5)), return_exceptions=True)
    await world.client.settle()
    assert all(isinstance(r, SessionExpired) for r in results)
    assert world.ended == ["expired"]
    assert len(world.sent("logout")) == 1


async def test_r4_garbage_token_recovers_by_refresh_and_retry(world: World) -> None:
    await world.login()
    world.jar.write("access_token=garbage; Path=/")
    response = await world.client.get("me")
    assert response.status == 200
    assert next(r.headers["authorization"] for r in world.sent("me")) == "Bearer garbage"
    assert len(world.sent("me")) == 2
    assert refreshes(world) == 1
    assert world.ended == []


async def test_r4_unsendable_token_refreshes_first(world: World) -> None:
    await world.login()
    world.jar.write("access_token=not%20a%20token; Path=/")
    assert (await world.client.get("me")).status == 200
    assert len(world.sent("me")) == 1
    assert refreshes(world) == 1


async def test_r4_retry_once_no_loop(make_world: WorldFactory) -> None:
    def wrap(handler: Handler) -> Handler:
        async def always_401(req: Any) -> Any:
            if req.path == "me":
                return await handler(type(req)("GET", "me"))  # no token: 401
            return await handler(req)

        return always_401

    world = make_world(wrap=wrap)
    await world.login()
    with pytest.raises(SessionExpired) as info:
        await world.client.get("me")
    await world.client.settle()
    assert info.value.reason == "unauthorized"
    assert len(world.sent("me")) == 2
    assert refreshes(world) == 1
    assert world.ended == ["unauthorized"]
    assert world.client.session().is_empty


async def test_r4_concurrent_401s_share_one_refresh(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=60, window=30)  # the retries' successes are outside the window
    await world.login()
    world.jar.write("access_token=garbage; Path=/")
    responses = await asyncio.gather(*(world.client.get("me") for _ in range(10)))
    assert [r.status for r in responses] == [200] * 10
    assert refreshes(world) == 1


async def test_r4_401_without_refresh_token_ends_the_session(world: World) -> None:
    await world.login()
    world.jar.write(f"{held_name(world)}=; Path=/; Max-Age=0")
    world.jar.write("access_token=garbage; Path=/")
    with pytest.raises(SessionExpired):
        await world.client.get("me")
    assert refreshes(world) == 0
    assert world.ended == ["unauthorized"]


async def test_r4_refresh_that_fails_after_a_401_ends_the_session(make_world: WorldFactory) -> None:
    # R4: "if that fails, end the session" - the token is refused and cannot be replaced.
    world = make_world(wrap=refresh_resets)
    await world.login()
    world.jar.write("access_token=garbage; Path=/")
    with pytest.raises(SessionExpired) as info:
        await world.client.get("me")
    await world.client.settle()
    assert info.value.reason == "unauthorized"
    assert world.ended == ["unauthorized"]
    assert world.client.session().is_empty
    assert refreshes(world) == 1


async def test_refused_refresh_ends_the_session(world: World) -> None:
    session = await world.login()
    body = json.dumps({"refresh_token": session.refresh_token}).encode()
    headers = {"content-type": "application/json", "x-requested-with": "pyauth"}
    await world.transport.send(Request("POST", "logout", headers, body))  # revoked (either mode)
    with pytest.raises(SessionExpired) as info:
        await world.client.get("me")  # 401 (the family is revoked), and its refresh is refused
    await world.client.settle()
    assert info.value.reason == "refresh_rejected"
    assert refreshes(world) == 1
    assert world.ended == ["refresh_rejected"]
    assert world.client.session().is_empty


async def test_refresh_blip_keeps_the_session_and_reports_once(make_world: WorldFactory) -> None:
    world = make_world(wrap=refresh_resets)
    session = await world.login()
    await asyncio.gather(*(world.client.get("me") for _ in range(3)))
    await world.client.settle()
    assert world.client.session() == session  # not signed out by a blip
    assert world.ended == []
    assert len(world.errors) == 1
    assert isinstance(world.errors[0], RefreshFailed)
    assert world.errors[0].kind == "network"
    assert toast_text(world.errors[0], "en") == "Cannot reach the server"


async def test_r6_request_times_out(make_world: WorldFactory) -> None:
    world = make_world(timeout_ms=20)
    with pytest.raises(RequestTimeout):
        await world.client.get("slow?ms=12000")
    assert isinstance(world.errors[0], RequestTimeout)
    assert toast_text(world.errors[0], "zh") == "请求超时"


async def test_per_request_timeout_overrides_the_default(world: World) -> None:
    with pytest.raises(RequestTimeout):
        await world.client.get("slow?ms=100", timeout_ms=10)
    assert world.sent("slow")[0].timeout_ms == 10


async def test_error_statuses_are_typed_and_reported(world: World) -> None:
    with pytest.raises(HttpStatusError) as info:
        await world.client.get("status/503")
    assert info.value.status == 503
    assert world.errors == [info.value]


async def test_network_down_is_a_network_error(world: World) -> None:
    world.transport.offline = True
    with pytest.raises(NetworkError):
        await world.client.get("me")
    assert toast_text(world.errors[0], "en") == "Cannot reach the server"


async def test_bad_credentials_are_unauthorized_and_end_nothing(world: World) -> None:
    with pytest.raises(UnauthorizedError):
        await world.client.login("demo", "nope")
    assert world.ended == []
    assert world.errors == []


async def test_r2_watchdog_ends_the_session_at_expiry(world: World) -> None:
    session = await world.login()
    assert world.client.session_deadline_ms() == session.util_time_ms
    world.clock.advance(19.999)
    assert world.client.check_expiry() is False
    world.clock.advance(0.001)
    assert world.client.check_expiry() is True
    assert world.client.check_expiry() is False  # once
    await world.client.settle()
    assert world.ended == ["expired"]
    assert len(world.sent("logout")) == 1
    assert world.client.session_deadline_ms() is None


async def test_r7_signed_out_in_another_tab_is_noticed_without_a_second_logout(world: World) -> None:
    await world.login()
    world.client.check_expiry()
    for name in PAGE_COOKIES:
        world.jar.write(f"{name}=; Path=/; Max-Age=0")  # the other tab cleared them
    assert world.client.check_expiry() is True
    await world.client.settle()
    assert world.ended == ["elsewhere"]
    assert world.sent("logout") == []


async def test_logout_does_not_wait_for_the_server(make_world: WorldFactory) -> None:
    never = asyncio.Event()

    def wrap(handler: Handler) -> Handler:
        async def stuck(req: Any) -> Any:
            if req.path == "logout":
                await never.wait()
            return await handler(req)

        return stuck

    world = make_world(wrap=wrap, timeout_ms=50)
    session = await world.login()
    assert world.client.logout() is True  # returns at once, the call still in flight
    assert world.ended == ["logout"]
    assert world.client.session().is_empty
    assert world.client.logout() is False  # no second logout, no second hook
    await world.client.settle()
    [logout] = world.sent("logout")
    assert_credential_call(world, logout, session)


async def test_interceptors_see_calls_but_not_the_refresh(world: World) -> None:
    seen_requests: list[str] = []
    seen_statuses: list[int] = []

    def tag(request: Request) -> None:
        seen_requests.append(request.path)
        request.headers["x-app"] = "demo"

    world.client.hooks.request.append(tag)
    world.client.hooks.response.append(lambda response: seen_statuses.append(response.status))
    session = await world.login()
    await world.client.get("me")
    await world.client.settle()
    assert seen_requests == ["login", "me"]
    assert seen_statuses == [200, 200]
    assert world.sent("me")[0].headers["x-app"] == "demo"
    refresh = world.sent("refresh_token")[0]
    assert "x-app" not in refresh.headers
    assert "?" not in refresh.path
    assert_credential_call(world, refresh, session)


async def test_idle_warning_fires_once_and_refresh_answers_it(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=60, window=30, idle_warning_seconds=10)
    warnings: list[int] = []
    world.client.hooks.on_idle_warning.append(warnings.append)
    session = await world.login()
    assert world.client.session_deadline_ms() == session.util_time_ms - 10_000  # type: ignore[operator]
    world.clock.advance(50)
    world.client.check_expiry()
    world.client.check_expiry()
    assert warnings == [10_000]
    new = await world.client.refresh()  # "stay signed in"
    assert new.util_time_ms == world.clock() + 60_000


async def test_cookies_are_the_source_of_truth(world: World, refresh_cookie: RefreshCookie) -> None:
    await world.login()
    other = MemoryCookieJar(world.clock)
    tab = InMemoryTransport(transport_handler(world.api.handle), cookies=world.transport.cookies)  # one browser
    from tokensession.client import ApiClient

    second = ApiClient(Config(), tab, other, world.clock, refresh_cookie=refresh_cookie)
    theirs = await second.login("demo", "demo")
    for line in other.assignments:
        world.jar.write(line)  # as if another tab signed in again
    await world.client.get("me")
    assert world.sent("me")[0].headers["authorization"] == f"Bearer {theirs.access_token}"


async def test_custom_lock_is_used_and_a_refresh_done_elsewhere_is_skipped(world: World) -> None:
    session = await world.login()

    class OtherTabRefreshes:
        entered = 0

        async def __aenter__(self) -> None:
            OtherTabRefreshes.entered += 1
            # While we waited for the lock, another tab refreshed and wrote the cookies.
            world.jar.write("access_token=fresh; Path=/; Max-Age=20")
            world.jar.write("refresh_token=fresh-r; Path=/")
            world.jar.write(f"utilTime={session.util_time_ms + 5000}; Path=/; Max-Age=20")  # type: ignore[operator]

        async def __aexit__(self, *exc: object) -> None:
            return None

    from tokensession.client import ApiClient

    client = ApiClient(Config(), world.transport, world.jar, world.clock, lock=OtherTabRefreshes())
    result = await client.refresh()
    assert OtherTabRefreshes.entered == 1
    assert result.access_token == "fresh"
    assert refreshes(world) == 0


async def test_a_broken_hook_does_not_break_the_client(world: World) -> None:
    def broken(_: Session) -> None:
        raise RuntimeError("bug in the app")

    world.client.hooks.on_refresh.insert(0, broken)
    await world.login()
    await world.client.get("me")
    await world.client.settle()
    assert len(world.refreshed) == 1


async def test_r1_background_refresh_refused_ends_the_session(make_world: WorldFactory) -> None:
    def wrap(handler: Handler) -> Handler:
        async def refuse(req: Any) -> Any:
            if req.path == "refresh_token":
                # An unknown token in the body, and no cookie: refused in either mode.
                unknown = b'{"refresh_token": "unknown"}'
                return await handler(
                    type(req)("POST", "refresh_token", headers={"x-requested-with": "pyauth"}, body=unknown)
                )
            return await handler(req)

        return refuse

    world = make_world(wrap=wrap)
    await world.login()
    assert (await world.client.get("me")).status == 200  # the call itself succeeds
    await world.client.settle()
    assert world.ended == ["refresh_rejected"]
    assert world.client.session().is_empty
    assert world.errors == []  # reported by on_session_end, not as an error toast


async def test_activity_inside_the_window_starts_one_refresh_and_outside_none(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=60, window=30)
    await world.login()
    world.clock.advance(20)  # 40 s left: outside the 30 s window
    assert world.client.note_activity() is False
    world.clock.advance(15)  # 25 s left
    assert world.client.note_activity() is True
    assert world.client.note_activity() is False  # one refresh at a time
    await world.client.settle()
    assert len(world.sent("refresh_token")) == 1 and len(world.refreshed) == 1
    assert world.client.session().remaining_ms(world.clock()) == 60_000


async def test_activity_never_refreshes_an_expired_or_absent_session(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=30)
    assert world.client.note_activity() is False
    await world.login()
    world.clock.advance(21)
    assert world.client.note_activity() is False
    await world.client.settle()
    assert world.sent("refresh_token") == []


async def test_settle_returns_once_the_work_is_done_even_before_its_done_callbacks_run(world: World) -> None:
    # Pyodide's browser loop may run a finished task's done callbacks after an await on it has
    # returned: settle() must not wait on such a task again (it spun there, freezing the page).
    async def quick() -> None:
        return None

    task = asyncio.get_running_loop().create_task(quick())
    await task
    world.client._tasks.add(task)  # finished, with no done callback to take it out
    await asyncio.wait_for(world.client.settle(), 30)  # a hang guard only
    assert world.client._tasks == set()
