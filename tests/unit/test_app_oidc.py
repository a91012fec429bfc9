"""The app with an OpenID provider (config ``auth`` kind ``oidc``), over a fake provider: the
login view's button, the callback handled before the first render, ``GET me`` at userinfo."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyapp.app import App
from pyapp.views.home import display_name
from tests.unit.conftest import World
from tests.unit.fakes import FakeLocation, FakeScreen, FakeToasts
from tokensession.config import AuthConfig, Config
from tokensession.cookies import TokenGrant
from tokensession.errors import SignInFailed
from tokensession.messages import SIGN_IN_FAILED

pytestmark = pytest.mark.anyio

USERINFO = "https://id.test/me"


class FakeProvider:
    def __init__(self, *, callback: bool = False, route: str = "/playground", fail: Exception | None = None) -> None:
        self.callback, self.route, self.fail = callback, route, fail
        self.started: list[str] = []
        self.userinfo_endpoint: str | None = USERINFO

    def is_callback(self) -> bool:
        return self.callback

    async def start_sign_in(self, route: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.started.append(route)

    async def finish_sign_in(self, api: Any) -> str:
        if self.fail is not None:
            raise self.fail
        api.sign_in_with(TokenGrant("access", "refresh", 60))
        return self.route


def make_app(world: World, provider: FakeProvider, hash_: str) -> tuple[App, FakeScreen, FakeLocation, FakeToasts]:
    screen, location, toasts = FakeScreen(), FakeLocation(hash_), FakeToasts()
    config = Config(auth=AuthConfig("oidc", issuer="https://id.test", client_id="spa"))
    app = App(
        config,
        screen,
        location,
        toasts,
        world.client,
        world.jar,
        world.transport,
        clock_ms=world.clock,
        provider=provider,
    )
    return app, screen, location, toasts


async def test_login_view_shows_the_provider_button_instead_of_the_form(world: World) -> None:
    app, screen, _location, _toasts = make_app(world, FakeProvider(), "#/login?redirect=%2Fplayground")
    app.start()
    assert screen.tree is not None
    assert screen.tree.find(data_testid="login-form") is None
    assert screen.text_of("login-provider") == "Sign in with your identity provider"
    assert screen.focused == "provider"


@pytest.mark.parametrize(
    ("hash_", "route"), [("#/login?redirect=%2Fplayground", "/playground"), ("#/login?redirect=%2F%2Fevil.test", "/")]
)
async def test_the_button_starts_the_sign_in_with_the_safe_redirect(world: World, hash_: str, route: str) -> None:
    provider = FakeProvider()
    app, screen, _location, _toasts = make_app(world, provider, hash_)
    app.start()
    screen.click("login-provider")
    await asyncio.gather(*app._tasks)
    assert provider.started == [route]
    assert screen.text_of("login-provider") == "Going to the provider…"  # the page is leaving


async def test_a_sign_in_that_cannot_start_is_a_toast(world: World) -> None:
    provider = FakeProvider(fail=SignInFailed("discovery"))
    app, _screen, _location, toasts = make_app(world, provider, "#/login")
    app.start()
    assert not await app.sign_in_at_provider()
    assert toasts.shown == [SIGN_IN_FAILED[1]]


async def test_the_callback_lands_on_the_kept_route_before_the_first_render(world: World) -> None:
    app, screen, location, _toasts = make_app(world, FakeProvider(callback=True), "")
    assert await app.finish_provider_sign_in()
    assert screen.tree is None  # nothing rendered yet
    app.start()
    assert location.hash == "#/playground" and screen.route() == "playground"
    assert app.me_path == USERINFO


async def test_an_unsafe_kept_route_lands_at_home(world: World) -> None:
    app, _screen, location, _toasts = make_app(world, FakeProvider(callback=True, route="//evil.test"), "")
    await app.finish_provider_sign_in()
    assert location.hash == "#/"


async def test_a_failed_callback_leaves_a_toast_the_login_view_and_no_session(world: World) -> None:
    world.client.sign_in_with(TokenGrant("older", "older-refresh", 60))
    provider = FakeProvider(callback=True, fail=SignInFailed("state"))
    app, screen, location, toasts = make_app(world, provider, "")
    assert await app.finish_provider_sign_in()
    app.start()
    assert toasts.shown == [SIGN_IN_FAILED[1]]
    assert location.hash == "#/login" and screen.route() == "login"
    assert world.client.session().is_empty


async def test_no_callback_changes_nothing(world: World) -> None:
    app, _screen, location, toasts = make_app(world, FakeProvider(), "#/playground")
    assert not await app.finish_provider_sign_in()
    assert location.hash == "#/playground" and toasts.shown == []


def test_whoami_prefers_username_then_preferred_username_then_name_then_sub() -> None:
    assert display_name({"username": "demo", "preferred_username": "x"}) == "demo"
    assert display_name({"preferred_username": "alice", "name": "Alice A.", "sub": "u1"}) == "alice"
    assert display_name({"name": "Alice A.", "sub": "u1"}) == "Alice A."
    assert display_name({"sub": "u1", "name": " "}) == "u1"
    assert display_name({}) is None and display_name(None) is None


async def test_another_kind_of_api_is_never_asked_for_the_demo_account(world: World) -> None:
    # GET info is this project's call; a provider or a SimpleJWT API would answer 404 every time.
    app, *_ = make_app(world, FakeProvider(), "#/login")
    before = len(world.transport.sent)
    assert await app.server_info() == {}
    assert len(world.transport.sent) == before
