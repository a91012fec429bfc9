"""The "stay signed in?" dialog over the client's idle warning (fake clock, fake page)."""

from __future__ import annotations

import pytest

from pyapp.app import App
from pyapp.tabs import LocalBus
from tests.unit.conftest import ClientSettings, World, WorldFactory
from tests.unit.fakes import FakeDialog, FakeLocation, FakeScreen, FakeToasts
from tests.unit.test_app import Page
from tokensession.client import ApiClient
from tokensession.config import Config

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["js", "httponly"])
def refresh_cookie(request: pytest.FixtureRequest) -> str:
    """Every test here runs in both refresh cookie modes (contract section 4)."""
    return str(request.param)


class WarnedTab(Page):
    def __init__(
        self, world: World, client: ApiClient, bus: LocalBus | None = None, hash_: str = "#/login?redirect=%2Fnowhere"
    ) -> None:
        self.world, self.client = world, client
        self.screen, self.location, self.toasts, self.dialog = (
            FakeScreen(),
            FakeLocation(hash_),
            FakeToasts(),
            FakeDialog(),
        )
        self.app = App(
            Config(timeout_ms=1000),
            self.screen,
            self.location,
            self.toasts,
            client,
            world.jar,
            world.transport,
            clock_ms=world.clock,
            channel=bus.channel() if bus else None,
            dialog=self.dialog,
        )

    async def settle(self) -> None:
        await super().settle()
        await self.client.settle()


def warned_world(make_world: WorldFactory) -> World:
    # 20 s tokens, warnBeforeSeconds 60: the warning shows min(60, 20 / 2) = 10 s before expiry.
    return make_world(access_ttl=20, window=1, idle_warning_seconds=60)


def other_client(world: World) -> ApiClient:
    return ApiClient(ClientSettings(1, 10000), world.transport, world.jar, world.clock, idle_warning_seconds=60)


async def test_the_warning_shows_half_the_lifetime_before_expiry_as_an_accessible_dialog(
    make_world: WorldFactory,
) -> None:
    world = warned_world(make_world)
    tab = WarnedTab(world, world.client)
    tab.app.start()
    await tab.sign_in()
    world.clock.advance(9.9)
    tab.app.on_wake()
    assert not tab.dialog.open
    world.clock.advance(0.2)
    tab.app.on_wake()  # the watchdog's look at the warning point
    assert tab.dialog.open and tab.dialog.tree is not None
    box = tab.dialog.tree.find(data_testid="idle-warning")
    assert box is not None and box.attrs["role"] == "alertdialog"
    for attr in ("aria-labelledby", "aria-describedby"):
        assert tab.dialog.tree.find(id=box.attrs[attr]) is not None
    assert tab.dialog.focused == "stay"
    assert tab.dialog.text_of("idle-countdown") == "10"  # 9.9 s left, counted up to whole seconds
    world.clock.advance(4)
    tab.app.idle_warning.update()  # type: ignore[union-attr]
    assert tab.dialog.text_of("idle-countdown") == "6"
    assert tab.dialog.text_of("stay-signed-in") == "Stay signed in"


async def test_stay_signed_in_refreshes_and_closes_the_warning(make_world: WorldFactory) -> None:
    world = warned_world(make_world)
    tab = WarnedTab(world, world.client)
    tab.app.start()
    await tab.sign_in()
    world.clock.advance(15)
    tab.app.on_wake()
    assert tab.dialog.open
    tab.dialog.click("stay-signed-in")
    await tab.settle()
    assert not tab.dialog.open
    assert len(world.sent("refresh_token")) == 1
    assert world.client.session().remaining_ms(world.clock()) == 20_000
    tab.app.on_wake()
    assert not tab.dialog.open  # a new token: its own warning comes 10 s before its own end


async def test_escape_dismisses_and_the_idle_session_still_ends_at_expiry(make_world: WorldFactory) -> None:
    world = warned_world(make_world)
    tab = WarnedTab(world, world.client)
    tab.app.start()
    await tab.sign_in()
    world.clock.advance(12)
    tab.app.on_wake()
    tab.dialog.key("idle-warning", "Escape")
    assert not tab.dialog.open
    tab.app.on_wake()
    assert not tab.dialog.open  # once per token
    assert world.sent("refresh_token") == []
    world.clock.advance(8)
    tab.app.on_wake()
    await tab.settle()
    assert tab.toasts.shown == ["Session expired, please sign in again"]
    assert tab.screen.route() == "login"


async def test_warning_off_with_zero(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=1, idle_warning_seconds=0)
    tab = WarnedTab(world, world.client)
    tab.app.start()
    await tab.sign_in()
    for _ in range(19):
        world.clock.advance(1)
        tab.app.on_wake()
        assert not tab.dialog.open


async def test_a_refresh_in_one_tab_closes_the_warning_in_every_tab(make_world: WorldFactory) -> None:
    world = warned_world(make_world)
    bus = LocalBus()
    a, b = WarnedTab(world, world.client, bus), WarnedTab(world, other_client(world), bus)
    a.app.start()
    await a.sign_in()
    b.app.start()
    world.clock.advance(11)
    a.app.on_wake()
    b.app.on_wake()
    assert a.dialog.open and b.dialog.open
    a.dialog.click("stay-signed-in")
    await a.settle()
    assert not a.dialog.open and not b.dialog.open  # b heard "refreshed"
    assert len(world.sent("refresh_token")) == 1
    b.app.on_wake()
    assert not b.dialog.open  # b's client sees the new token: nothing to warn about yet


async def test_without_a_channel_the_cookie_change_closes_the_warning(make_world: WorldFactory) -> None:
    world = warned_world(make_world)
    a, b = WarnedTab(world, world.client), WarnedTab(world, other_client(world))
    a.app.start()
    await a.sign_in()
    b.app.start()
    world.clock.advance(11)
    a.app.on_wake()
    b.app.on_wake()
    await world.client.refresh()
    assert b.dialog.open
    b.app.idle_warning.update()  # type: ignore[union-attr]  # its countdown tick reads the cookies
    assert not b.dialog.open


async def test_the_warning_follows_a_language_switch(make_world: WorldFactory) -> None:
    world = warned_world(make_world)
    tab = WarnedTab(world, world.client)
    tab.app.start()
    await tab.sign_in()
    world.clock.advance(11)
    tab.app.on_wake()
    tab.app.set_lang("zh")
    assert tab.dialog.text_of("stay-signed-in") == "保持登录"
    tab.app.set_lang("en")
