"""The app controller over fakes of the page and the reference API in-process (fake clock)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyapp.app import App
from tests.unit.conftest import Handler, World, WorldFactory
from tests.unit.fakes import FakeEvent, FakeLocation, FakeScreen, FakeToasts
from tokensession.config import Config

pytestmark = pytest.mark.anyio


class Page:
    def __init__(self, world: World, hash_: str = "#/login", lang: str = "en") -> None:
        self.world = world
        self.screen = FakeScreen()
        self.location = FakeLocation(hash_)
        self.toasts = FakeToasts()
        self.app = App(
            Config(timeout_ms=1000),
            self.screen,
            self.location,
            self.toasts,
            world.client,
            world.jar,
            world.transport,
            lang=lang,  # type: ignore[arg-type]
            clock_ms=world.clock,
        )

    async def settle(self) -> None:
        """Let background work finish, including work that finishing work starts; fails if some
        never does (the playground's ticker runs as long as its view: not waited for)."""
        pending: list[asyncio.Task[object]] = []
        for _ in range(20):
            await asyncio.sleep(0)
            await self.world.client.settle()
            ticker = getattr(self.app.view, "_ticker", None)
            pending = [t for t in self.app._tasks if t is not ticker and not t.done()]
            if not pending and not self.world.client._tasks:
                return
            if pending:
                await asyncio.wait(pending, timeout=10)  # a hang guard: a task still pending fails below
        raise AssertionError(f"background work never finished: {pending}")

    async def sign_in(self, username: str = "demo", password: str = "demo") -> None:
        self.screen.values.update(username=username, password=password)
        event = FakeEvent()
        self.screen.click("login-form", event)
        assert event.prevented
        await self.settle()


@pytest.fixture
def page(world: World) -> Page:
    return Page(world)


async def test_protected_route_without_session_renders_login_with_redirect(world: World) -> None:
    p = Page(world, "#/playground")
    p.app.start()
    assert p.location.hash == "#/login?redirect=%2Fplayground"
    assert p.screen.route() == "login"
    assert p.screen.title.startswith("Sign in")
    assert p.screen.focused == "username"


async def test_sign_in_goes_to_the_safe_redirect(world: World) -> None:
    p = Page(world, "#/login?redirect=%2Fplayground")
    p.app.start()
    await p.sign_in()
    assert p.location.hash == "#/playground"
    assert p.screen.route() == "playground"


@pytest.mark.parametrize("redirect", ["%2F%2Fevil.example", "https%3A%2F%2Fevil.example", "%2Flogin"])
async def test_sign_in_ignores_an_unsafe_redirect(world: World, redirect: str) -> None:
    p = Page(world, "#/login?redirect=" + redirect)
    p.app.start()
    await p.sign_in()
    assert p.location.hash == "#/"
    assert p.screen.route() == "home"


async def test_wrong_password_is_said_in_the_form_not_a_toast(page: Page) -> None:
    page.app.start()
    await page.sign_in(password="nope")
    assert page.screen.route() == "login"
    assert page.screen._ref("error").text() == "Wrong username or password"  # type: ignore[union-attr]
    assert page.toasts.shown == []
    submit = page.screen._ref("submit")
    assert submit is not None and "disabled" not in submit.attrs


async def test_empty_fields_are_refused_before_any_request(page: Page) -> None:
    page.app.start()
    await page.sign_in(username="", password="")
    assert page.world.sent("login") == []
    assert "Enter your username" in page.screen._ref("error").text()  # type: ignore[union-attr]


async def test_idle_session_ends_at_expiry_with_one_toast_and_the_redirect(page: Page) -> None:
    page.location.hash = "#/playground"
    page.app.start()
    await page.sign_in()
    assert page.screen.route() == "playground"
    page.world.clock.advance(19.9)
    page.app.on_wake()
    assert page.screen.route() == "playground"
    page.world.clock.advance(0.2)
    page.app.on_wake()  # the watchdog's check, as at utilTime or when the tab wakes
    await page.settle()
    assert page.location.hash == "#/login?redirect=%2Fplayground"
    assert page.toasts.shown == ["Session expired, please sign in again"]
    assert page.world.client.session().is_empty
    assert len(page.world.sent("logout")) == 1


async def test_a_stale_session_at_boot_ends_before_the_first_render(world: World) -> None:
    await world.login()
    world.clock.advance(60)
    p = Page(world, "#/playground", lang="zh")
    p.app.start()
    await p.settle()
    assert p.location.hash == "#/login?redirect=%2Fplayground"
    assert p.toasts.shown == ["登录失效"]


async def test_error_toasts_are_shown_once_within_3_s(page: Page) -> None:
    page.location.hash = "#/playground"
    page.app.start()
    await page.sign_in()
    for _ in range(3):
        await page.app.call("GET", "status/503")
    page.world.clock.advance(3.1)
    await page.app.call("GET", "status/503")
    assert page.toasts.shown == ["Service unavailable", "Service unavailable"]


async def test_sign_out_goes_to_login_without_redirect_or_toast(page: Page) -> None:
    page.location.hash = "#/"
    page.app.start()
    await page.sign_in()
    assert page.screen.route() == "home"
    page.screen.click("logout")
    await page.settle()
    assert page.location.hash == "#/login"
    assert page.toasts.shown == []
    assert len(page.world.sent("logout")) == 1


async def test_playground_counts_refreshes_and_logs_requests(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=60, window=30)
    p = Page(world, "#/playground")
    p.app.start()
    await p.sign_in()
    world.clock.advance(31)
    await p.app.call("GET", "me")
    await p.settle()
    p.app.view.update()  # type: ignore[union-attr]
    assert p.screen.text_of("refresh-count") == "1"
    assert p.screen.text_of("session-expires-at") == str(world.client.session().util_time_ms)
    log = p.screen.text_of("request-log")
    assert "GET me → 200" in log and "POST refresh_token → 200" in log
    p.app.view.unmount()  # type: ignore[union-attr]


async def test_demo_account_hint_comes_from_the_server(page: Page) -> None:
    page.app.start()
    await page.settle()
    assert page.screen._ref("demo-hint").text() == "Demo account: demo / demo"  # type: ignore[union-attr]


async def test_submit_is_disabled_while_signing_in(make_world: WorldFactory) -> None:
    arrived, release = asyncio.Event(), asyncio.Event()

    def wrap(handler: Handler) -> Handler:
        async def held_login(req: Any) -> Any:
            if req.path == "login":
                arrived.set()
                await release.wait()
            return await handler(req)

        return held_login

    p = Page(make_world(wrap=wrap))
    p.app.start()
    p.screen.values.update(username="demo", password="demo")
    p.screen.click("login-form", FakeEvent())
    for _ in range(100):  # loop turns, not time: until the login call has reached the API
        if arrived.is_set():
            break
        await asyncio.sleep(0)
    assert arrived.is_set(), "the login call never reached the API"
    submit = p.screen._ref("submit")
    assert submit is not None
    assert "disabled" in submit.attrs and submit.text() == "Signing in…"
    p.screen.click("login-form", FakeEvent())  # a second Enter while busy sends nothing more
    release.set()
    await p.settle()
    assert len(p.world.sent("login")) == 1
    assert p.screen.route() == "home"


async def test_playground_has_its_own_sign_out(page: Page) -> None:
    page.location.hash = "#/playground"
    page.app.start()
    await page.sign_in()
    page.screen.click("logout")
    await page.settle()
    assert page.location.hash == "#/login"
    assert len(page.world.sent("logout")) == 1


async def test_configured_activity_is_throttled_and_refreshes_inside_the_window(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=60, window=30)
    p = Page(world, "#/login?redirect=%2Fnowhere")
    p.app.start()
    await p.sign_in()
    world.clock.advance(35)  # 25 s left
    assert p.app.on_user_activity() is True
    await p.settle()
    world.clock.advance(0.5)
    assert p.app.on_user_activity() is False  # throttled (and the new token is far from expiry)
    assert len(world.sent("refresh_token")) == 1
    assert p.app.refresh_count == 1


async def test_demo_hint_shows_the_servers_password_not_the_user_name_twice(make_world: WorldFactory) -> None:
    from authapi.messages import ApiResponse

    def wrap(handler: Handler) -> Handler:
        async def info(req: Any) -> Any:
            if req.path == "info":
                body = b'{"demo": true, "demo_user": "guest", "demo_password": "open-sesame"}'
                return ApiResponse(200, {"content-type": "application/json"}, body)
            return await handler(req)

        return info

    p = Page(make_world(wrap=wrap))
    p.app.start()
    await p.settle()
    assert p.screen._ref("demo-hint").text() == "Demo account: guest / open-sesame"  # type: ignore[union-attr]


async def test_a_view_that_fails_to_render_shows_the_error_screen_and_logs_the_details(
    page: Page, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from pyapp.views.login import LoginView

    def broken(self: LoginView) -> list[Any]:
        raise ZeroDivisionError("a bug in a view")

    monkeypatch.setattr(LoginView, "body", broken)
    page.app.start()
    assert page.screen.tree is not None
    assert page.screen.tree.attrs["data-testid"] == "error-screen" and page.screen.tree.attrs["role"] == "alert"
    assert "Traceback" not in page.screen.tree.text() and "ZeroDivisionError" not in page.screen.tree.text()
    assert page.screen.text_of("reload") == "Reload the page" and page.screen.focused == "reload"
    assert page.screen.title == "Something went wrong · PyAuth"
    assert "a bug in a view" in caplog.text  # the details, for the console
    page.screen.click("reload")
    assert page.location.reloads == 1
    monkeypatch.undo()
    page.location.hash = "#/nowhere"
    page.app.render()  # the next route renders as usual
    assert page.screen.route() == "not-found"
