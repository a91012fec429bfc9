"""Refresh failures, finished: blips retried with backoff and on ``online``; 403 and
``insufficient_scope`` refuse one call, not the session (fake clock, the API in-process)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from authapi.messages import ApiResponse
from tests.unit.conftest import ClientSettings, Handler, World, WorldFactory, hold_refreshes
from tokensession.client import ApiClient
from tokensession.cookies import Session
from tokensession.errors import HttpStatusError, RefreshFailed
from tokensession.messages import toast_text
from tokensession.policy import Action, SessionPolicy, insufficient_scope

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["js", "httponly"])
def refresh_cookie(request: pytest.FixtureRequest) -> str:
    """Every test here runs in both refresh cookie modes (contract section 4)."""
    return str(request.param)


NOW = 1_000_000
NEAR = Session("tok", "ref", NOW + 10_000, 60)
policy = SessionPolicy(refresh_window_ms=30_000)
SCOPE_401 = 'Bearer realm="api", error="insufficient_scope", scope="admin"'


# -- the policy rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_at", "now", "session", "refreshing", "expected"),
    [
        (NOW, NOW, NEAR, False, Action.START_REFRESH),  # due: try the R1 refresh again
        (NOW + 1, NOW, NEAR, False, Action.NOTHING),  # not yet
        (NOW, NOW, NEAR, True, Action.NOTHING),  # one refresh at a time
        (NOW, NOW + 10_000, NEAR, False, Action.END_SESSION),  # real expiry: R2, blips or not
        (None, NOW, NEAR, False, Action.NOTHING),
        (NOW, NOW, Session("tok", None, NOW + 10_000, 60), False, Action.NOTHING),  # nothing to refresh with
    ],
)
def test_on_tick_retry_row(
    retry_at: int | None, now: int, session: Session, refreshing: bool, expected: Action
) -> None:
    action = policy.on_tick(now, session, seen=True, refreshing=refreshing, warned=False, retry_at_ms=retry_at)
    assert action is expected


@pytest.mark.parametrize(
    ("retry_at", "expected"), [(NOW + 1, Action.ACCEPT), (NOW, Action.START_REFRESH), (None, Action.START_REFRESH)]
)
def test_a_success_during_a_blips_backoff_leaves_the_retry_to_its_time(retry_at: int | None, expected: Action) -> None:
    # A burst of answers after a failed refresh: none of them retries early (no hammering, one toast).
    action = policy.after_response(
        NOW, 200, "api", sent=NEAR, current=NEAR, refreshing=False, retried=False, retry_at_ms=retry_at
    )
    assert action is expected
    activity = policy.on_activity(NOW, NEAR, refreshing=False, retry_at_ms=retry_at)
    assert activity is (Action.NOTHING if expected is Action.ACCEPT else Action.START_REFRESH)


def test_the_retry_is_a_deadline_and_the_backoff_doubles_to_a_cap() -> None:
    assert policy.deadline_ms(NEAR, warned=False, retry_at_ms=NOW + 1000) == NOW + 1000
    assert policy.deadline_ms(NEAR, warned=False, retry_at_ms=NOW + 99_000) == NEAR.util_time_ms
    assert [policy.retry_delay_ms(n) for n in range(1, 8)] == [1000, 2000, 4000, 8000, 16000, 30000, 30000]


@pytest.mark.parametrize(
    ("status", "scope", "expected"),
    [
        (403, False, Action.FAIL),  # refused, not signed out: no refresh, the session stays
        (401, True, Action.FAIL),  # the token is fine, it lacks a scope
        (401, False, Action.REFRESH_FIRST),  # R4
    ],
)
def test_refusals_that_are_not_session_problems(status: int, scope: bool, expected: Action) -> None:
    action = policy.after_response(
        NOW, status, "api", sent=NEAR, current=NEAR, refreshing=False, retried=False, insufficient_scope=scope
    )
    assert action is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (SCOPE_401, True),
        ("Bearer error=insufficient_scope", True),
        ('Bearer error="invalid_token"', False),
        ("Bearer", False),
        (None, False),
        ('Bearer error_description="insufficient_scope_x"', False),
    ],
)
def test_insufficient_scope_is_read_from_www_authenticate(header: str | None, expected: bool) -> None:
    assert insufficient_scope(header) is expected


# -- the client --------------------------------------------------------------------------------


def drop_refreshes(failures: list[int]) -> Any:
    """The network drops the next ``failures[0]`` refresh calls (blips), then lets them through."""

    def wrap(handler: Handler) -> Handler:
        async def flaky(req: Any) -> Any:
            if req.path == "refresh_token" and failures[0] > 0:
                failures[0] -= 1
                raise ConnectionResetError("reset")
            return await handler(req)

        return flaky

    return wrap


async def r1_refresh_that_blips(world: World) -> Session:
    session = await world.client.login("demo", "demo")
    world.clock.advance(5)  # 15 s left, inside the 30 s window
    await world.client.get("me")  # success: starts the R1 refresh, which the network drops
    await world.client.settle()
    return session


async def test_a_blip_during_an_r1_refresh_is_retried_after_a_backoff(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=30, wrap=drop_refreshes([1]))
    session = await r1_refresh_that_blips(world)
    assert world.client.session() == session and len(world.errors) == 1
    assert isinstance(world.errors[0], RefreshFailed)
    assert world.client.session_deadline_ms() == world.clock() + 1000  # the watchdog wakes for it
    world.clock.advance(0.9)
    world.client.check_expiry()
    await world.client.settle()
    assert len(world.sent("refresh_token")) == 1  # not yet
    world.clock.advance(0.1)
    world.client.check_expiry()
    await world.client.settle()
    assert len(world.sent("refresh_token")) == 2
    assert len(world.refreshed) == 1 and world.ended == []
    assert world.client.session().remaining_ms(world.clock()) == 20_000
    assert world.client.session_deadline_ms() == world.client.session().util_time_ms  # no retry pending


async def test_blips_back_off_and_end_the_session_only_at_real_expiry(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=30, wrap=drop_refreshes([99]))
    await r1_refresh_that_blips(world)
    waits = []
    while not world.ended:
        deadline = world.client.session_deadline_ms()
        assert deadline is not None
        waits.append(deadline - world.clock())
        world.clock.now_ms = deadline
        world.client.check_expiry()
        await world.client.settle()
    # 15 s were left at the first try: retries 1, 2 and 4 s later, then the next (8 s) would
    # land on utilTime itself, where R2 ends the session.
    assert waits == [1000, 2000, 4000, 8000]
    assert world.ended == ["expired"]
    assert len(world.sent("refresh_token")) == 4


async def test_a_refresh_in_flight_leaves_the_watchdog_nothing_due_until_it_ends(make_world: WorldFactory) -> None:
    # Past the idle warning's time and even past utilTime while the refresh hangs: nothing is
    # due (the refresh decides), so a watchdog waits for it instead of waking again at once.
    gate = asyncio.Event()
    world = make_world(access_ttl=20, window=30, wrap=hold_refreshes(gate), idle_warning_seconds=10)
    await world.login()
    world.clock.advance(5)
    await world.client.get("me")  # inside the window: the R1 refresh starts and hangs
    for seconds in (5, 10):  # on to the warning's time (10 s left), then to utilTime
        world.clock.advance(seconds)
        assert world.client.session_deadline_ms() is None
        assert world.client.check_expiry() is False  # looking anyway changes nothing
    over = asyncio.ensure_future(world.client.refresh_over())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not over.done()  # still in flight
    gate.set()
    await over
    await world.client.settle()
    assert len(world.refreshed) == 1 and world.ended == []
    assert world.client.session_deadline_ms() == world.client.session().util_time_ms - 10_000  # the next warning


async def test_online_retries_at_once(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=30, wrap=drop_refreshes([1]))
    await r1_refresh_that_blips(world)
    assert world.client.retry_now() is True  # the browser's online event
    await world.client.settle()
    assert len(world.sent("refresh_token")) == 2 and len(world.refreshed) == 1
    assert world.client.retry_now() is False  # nothing waits any more


async def test_a_retry_never_refreshes_what_another_tab_already_rotated(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=30, wrap=drop_refreshes([1]))
    await r1_refresh_that_blips(world)
    other = ApiClient(
        ClientSettings(30, 10000), world.transport, world.jar, world.clock, refresh_cookie=world.refresh_cookie
    )
    await other.refresh()  # another tab's refresh gets through first
    assert len(world.sent("refresh_token")) == 2
    world.clock.advance(1)
    world.client.check_expiry()
    await world.client.settle()
    assert len(world.sent("refresh_token")) == 2  # no second rotation from this tab
    assert world.ended == []


async def test_403_shows_its_toast_keeps_the_session_and_never_refreshes(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=30)
    session = await world.client.login("demo", "demo")
    world.clock.advance(5)  # inside the window: a success would refresh, a 403 must not
    with pytest.raises(HttpStatusError):
        await world.client.get("status/403")
    await world.client.settle()
    assert world.sent("refresh_token") == [] and world.ended == []
    assert world.client.session() == session
    assert toast_text(world.errors[0], "en") == "Access denied"


async def test_a_401_for_insufficient_scope_is_not_a_session_problem(make_world: WorldFactory) -> None:
    def wrap(handler: Handler) -> Handler:
        async def scoped(req: Any) -> Any:
            if req.path == "admin":
                return ApiResponse(401, {"www-authenticate": SCOPE_401, "content-type": "application/json"}, b"{}")
            return await handler(req)

        return scoped

    world = make_world(access_ttl=20, window=1, wrap=wrap)
    session = await world.client.login("demo", "demo")
    with pytest.raises(HttpStatusError) as info:
        await world.client.get("admin")
    await world.client.settle()
    assert info.value.status == 401
    assert world.sent("refresh_token") == [] and world.ended == []  # no R4 refresh, no ending
    assert world.client.session() == session
    assert toast_text(world.errors[0], "en") == "Access denied"
    assert toast_text(world.errors[0], "zh") == "拒绝访问"


async def test_the_app_retries_a_blipped_refresh_when_the_browser_is_back_online(make_world: WorldFactory) -> None:
    from tests.unit.test_app import Page

    world = make_world(access_ttl=20, window=30, wrap=drop_refreshes([1]))
    page = Page(world, "#/login?redirect=%2Fnowhere")
    page.app.start()
    await page.sign_in()
    world.clock.advance(5)
    await page.app.call("GET", "me")
    await page.settle()
    assert page.toasts.shown == ["Cannot reach the server"] and page.app.refresh_count == 0
    page.app.on_online()
    await page.settle()
    assert page.app.refresh_count == 1 and page.screen.route() == "not-found"
