"""Tabs agree at once (R7): two apps over one cookie jar, joined by an in-process channel."""

from __future__ import annotations

import pytest

from pyapp.app import App
from pyapp.tabs import LocalBus, channel_name, decode
from tests.unit.conftest import ClientSettings, World
from tests.unit.fakes import FakeLocation, FakeScreen, FakeToasts
from tests.unit.test_app import Page
from tokensession.client import ApiClient
from tokensession.config import Config

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["js", "httponly"])
def refresh_cookie(request: pytest.FixtureRequest) -> str:
    """Every test here runs in both refresh cookie modes (contract section 4)."""
    return str(request.param)


class Tab(Page):
    """A second (third...) tab: its own client and page, the same cookies and server."""

    def __init__(self, world: World, bus: LocalBus, hash_: str, *, own_client: bool = True) -> None:
        self.world = world
        self.screen, self.location, self.toasts = FakeScreen(), FakeLocation(hash_), FakeToasts()
        client = world.client
        if own_client:
            client = ApiClient(
                ClientSettings(1800, 10000),
                world.transport,
                world.jar,
                world.clock,
                refresh_cookie=world.refresh_cookie,
            )
        self.client = client
        self.app = App(
            Config(timeout_ms=1000),
            self.screen,
            self.location,
            self.toasts,
            client,
            world.jar,
            world.transport,
            clock_ms=world.clock,
            channel=bus.channel(),
        )

    async def settle(self) -> None:
        await super().settle()
        await self.client.settle()


def tabs(world: World, *hashes: str) -> tuple[LocalBus, list[Tab]]:
    bus = LocalBus()
    made = [Tab(world, bus, h, own_client=i > 0) for i, h in enumerate(hashes)]
    return bus, made


async def test_signing_out_in_one_tab_sends_the_others_to_login_without_a_second_logout(world: World) -> None:
    _bus, (a, b) = tabs(world, "#/", "#/playground")
    a.app.start()
    await a.sign_in()
    b.app.start()
    assert b.screen.route() == "playground"

    a.screen.click("logout")  # no timer runs here: only the message can move tab b
    await a.settle()
    await b.settle()

    assert b.location.hash == "#/login?redirect=%2Fplayground"
    assert b.screen.route() == "login"
    assert len(world.sent("logout")) == 1
    assert a.toasts.shown == [] and b.toasts.shown == []  # asked for: no "session expired"
    b.app.view.unmount()  # type: ignore[union-attr]


async def test_a_session_that_expires_shows_its_toast_in_every_tab(world: World) -> None:
    _bus, (a, b, c) = tabs(world, "#/", "#/playground", "#/")
    a.app.start()
    await a.sign_in()
    b.app.start()
    c.app.start()
    world.clock.advance(21)
    a.app.on_wake()  # tab a's watchdog sees the expiry first and clears the cookies
    for tab in (a, b, c):
        await tab.settle()
    for tab in (a, b, c):
        assert tab.toasts.shown == ["Session expired, please sign in again"]
        assert tab.screen.route() == "login"
    assert b.location.hash == "#/login?redirect=%2Fplayground"
    assert len(world.sent("logout")) == 1
    b.app.on_wake()  # its own timer comes later: nothing more to announce
    assert b.toasts.shown == ["Session expired, please sign in again"]


async def test_signing_in_in_one_tab_takes_a_tab_on_the_login_page_to_its_redirect(world: World) -> None:
    _bus, (a, b) = tabs(world, "#/login", "#/login?redirect=%2Fplayground")
    a.app.start()
    b.app.start()
    await a.sign_in()
    assert b.location.hash == "#/playground" and b.screen.route() == "playground"
    b.app.view.unmount()  # type: ignore[union-attr]


async def test_a_refresh_is_announced_without_any_token(world: World) -> None:
    bus, (a, b) = tabs(world, "#/", "#/")
    a.app.start()
    await a.sign_in()
    b.app.start()
    world.clock.advance(10)  # inside the 1800 s window
    await a.app.call("GET", "me")
    await a.settle()
    kinds = [decode(m)["type"] for m in bus.sent]  # type: ignore[index]
    assert kinds[0] == "signed-in" and kinds[1:] and set(kinds[1:]) == {"refreshed"}  # each GET me refreshes
    for data in bus.sent:
        cookie_values = [v for v in world.jar.read().replace(";", "=").split("=") if len(v) > 20]
        assert not any(v in data for v in cookie_values)
    assert decode(bus.sent[-1])["util_time"] == world.client.session().util_time_ms  # type: ignore[index]
    assert b.screen.route() == "home" and b.toasts.shown == []


async def test_an_end_announced_after_signing_in_again_leaves_the_new_session_alone(world: World) -> None:
    _bus, (a, b) = tabs(world, "#/", "#/")
    a.app.start()
    await a.sign_in()
    b.app.start()
    b.app.on_tab_message({"type": "signed-out", "reason": "logout"})  # late: the cookies say signed in
    assert b.screen.route() == "home" and not world.client.session().is_empty


def test_channel_names_follow_the_cookie_path() -> None:
    assert channel_name("/a/") != channel_name("/b/")
    assert decode('{"type":"signed-out","reason":"logout"}') == {"type": "signed-out", "reason": "logout"}
    assert decode(b"bytes") is None and decode("[1]") is None and decode("x" * 2000) is None


async def test_without_a_channel_a_tab_that_finds_the_cookies_gone_after_expiry_still_says_expired(
    world: World,
) -> None:
    bus = LocalBus()
    a, b = Tab(world, bus, "#/", own_client=False), Tab(world, LocalBus(), "#/playground")  # b hears nothing
    a.app.start()
    await a.sign_in()
    b.app.start()
    b.app.on_wake()  # b's watchdog has looked at the session once
    world.clock.advance(21)
    a.app.on_wake()  # a ends it first (R2) and clears the cookies
    b.app.on_wake()  # b's timer, later: the cookies are gone, and so is their utilTime
    await a.settle()
    await b.settle()
    assert b.toasts.shown == ["Session expired, please sign in again"]
    assert b.location.hash == "#/login?redirect=%2Fplayground"
    assert bus.sent  # a still announced it; b was not listening


async def test_without_a_channel_a_sign_out_elsewhere_is_not_called_expired(world: World) -> None:
    a, b = Tab(world, LocalBus(), "#/", own_client=False), Tab(world, LocalBus(), "#/playground")
    a.app.start()
    await a.sign_in()
    b.app.start()
    b.app.on_wake()
    a.screen.click("logout")
    b.app.on_wake()
    await a.settle()
    await b.settle()
    assert b.toasts.shown == [] and b.location.hash == "#/login?redirect=%2Fplayground"
    b.app.view.unmount()  # type: ignore[union-attr]


async def test_a_sign_in_message_that_outruns_the_cookies_is_followed_once_they_arrive(world: World) -> None:
    # In Chromium the channel can deliver a tab's "signed-in" before its cookies reach the
    # other tab's document.cookie: here the message comes first, the cookies after.
    a, b = Tab(world, LocalBus(), "#/login", own_client=False), Tab(world, LocalBus(), "#/login?redirect=%2Fplayground")
    a.app.start()
    b.app.start()
    b.app.on_tab_message({"type": "signed-in"})
    assert b.screen.route() == "login"  # nothing to follow yet
    await a.sign_in()
    await b.settle()  # b's second looks (COOKIE_CATCH_UP_S) end once one finds the cookies
    assert b.location.hash == "#/playground" and b.screen.route() == "playground"
    b.app.view.unmount()  # type: ignore[union-attr]


async def test_a_sign_out_message_that_outruns_the_cookies_is_followed_once_they_go(world: World) -> None:
    a, b = Tab(world, LocalBus(), "#/", own_client=False), Tab(world, LocalBus(), "#/playground")
    a.app.start()
    await a.sign_in()
    b.app.start()
    assert b.screen.route() == "playground"
    b.app.on_tab_message({"type": "signed-out", "reason": "logout"})  # the cookies still say signed in
    assert b.screen.route() == "playground"
    a.app.sign_out()
    await a.settle()
    await b.settle()  # b's second looks: no watchdog runs here, only they can move tab b
    assert b.location.hash == "#/login?redirect=%2Fplayground" and b.screen.route() == "login"
    assert b.toasts.shown == []  # signed out on purpose elsewhere: no "expired" toast
