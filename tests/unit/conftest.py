"""Fixtures for the session library's unit tests: a fake clock and the reference API in-process."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from tokensession.client import ApiClient
from tokensession.cookies import MemoryCookieJar, RefreshCookie, Session
from tokensession.errors import ApiError, EndReason
from tokensession.http import Request
from tokensession.transport import InMemoryTransport

if TYPE_CHECKING:
    from authapi.app import AuthApi

T0_MS = 1_800_000_000_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """Milliseconds since the epoch, moved by hand; ``seconds()`` is the same instant for the API."""

    def __init__(self, now_ms: int = T0_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def seconds(self) -> float:
        return self.now_ms / 1000

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


class PlainPasswords:
    """The API's password seam without argon2 (hashing is not what these tests test)."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    async def check(self, username: str, password: str) -> bool:
        return self.users.get(username) == password

    def close(self) -> None:
        pass


async def hang(seconds: float) -> None:
    """The API's ``sleep`` for ``slow``: never returns, so only the client's timeout ends it."""
    await asyncio.Event().wait()


@dataclass(frozen=True)
class ClientSettings:
    refresh_window_seconds: float = 1800
    timeout_ms: int = 10000


@dataclass
class World:
    """A client wired to the reference API through the in-memory transport, plus what it reported."""

    clock: FakeClock
    api: AuthApi
    transport: InMemoryTransport
    jar: MemoryCookieJar
    client: ApiClient
    ended: list[EndReason] = field(default_factory=list)
    refreshed: list[Session] = field(default_factory=list)
    errors: list[ApiError] = field(default_factory=list)
    refresh_cookie: RefreshCookie = "js"

    def sent(self, path: str) -> list[Request]:
        return [r for r in self.transport.sent if r.path.partition("?")[0] == path]

    async def login(self) -> Session:
        return await self.client.login("demo", "demo")


Handler = Callable[[Any], Awaitable[Any]]
WorldFactory = Callable[..., World]


def hold_refreshes(gate: asyncio.Event) -> Callable[[Handler], Handler]:
    """A ``make_world(wrap=...)``: refresh calls wait at the network until ``gate`` is set (a
    refresh in flight for as long as a test needs; one that hangs if it is never set)."""

    def wrap(handler: Handler) -> Handler:
        async def held(req: Any) -> Any:
            if req.path == "refresh_token":
                await gate.wait()
            return await handler(req)

        return held

    return wrap


@pytest.fixture
def refresh_cookie() -> RefreshCookie:
    """The refresh cookie mode of ``make_world``; a test module that runs in both modes
    overrides this fixture with ``params=["js", "httponly"]``."""
    return "js"


@pytest.fixture
def make_world(refresh_cookie: RefreshCookie) -> Iterator[WorldFactory]:
    """``make_world(access_ttl=20, window=1800, timeout_ms=10000, wrap=None, **client_kwargs)``.

    ``wrap(handler) -> handler`` lets a test stand between the transport and the API
    (it sees the API's own ``ApiRequest``).
    In the ``"httponly"`` mode (fixture ``refresh_cookie``) the API sets the refresh
    token as its own cookie and the transport keeps it as a browser would
    (``transport.cookies``), apart from the page's ``jar``.
    """
    # Imported here: conftest also loads under MicroPython (tests/micropython), for tests
    # that need no API.
    from authapi.app import AuthApi, Settings
    from authapi.inpage import open_demo_api, transport_handler
    from authapi.kvstore import MemoryKeyValue

    apis: list[AuthApi] = []

    def build(
        access_ttl: int = 20,
        window: float = 1800,
        timeout_ms: int = 10000,
        wrap: Callable[[Handler], Handler] | None = None,
        **client_kwargs: Any,
    ) -> World:
        clock = FakeClock()
        settings = Settings(
            access_ttl=access_ttl,
            refresh_ttl=86400,
            users=[("demo", "demo")],
            db_path=":memory:",
            is_demo=True,
            httponly_refresh=refresh_cookie == "httponly",
        )
        if sys.implementation.name == "micropython" or sys.platform == "emscripten":
            # In a page's interpreter (tests/micropython): no SQLite or PyJWT there, so the API
            # as pages run it, over an in-memory store.
            api = open_demo_api(MemoryKeyValue(), settings=settings, clock=clock.seconds, sleep=hang)
        else:
            api = AuthApi.open(settings, clock=clock.seconds, sleep=hang, passwords=PlainPasswords({"demo": "demo"}))
        apis.append(api)
        handler: Handler = api.handle
        browser_jar = MemoryCookieJar(clock) if refresh_cookie == "httponly" else None
        transport = InMemoryTransport(transport_handler(wrap(handler) if wrap else handler), cookies=browser_jar)
        jar = MemoryCookieJar(clock)
        client_kwargs.setdefault("refresh_cookie", refresh_cookie)
        client = ApiClient(ClientSettings(window, timeout_ms), transport, jar, clock, **client_kwargs)
        world = World(clock, api, transport, jar, client, refresh_cookie=refresh_cookie)
        client.hooks.on_session_end.append(world.ended.append)
        client.hooks.on_refresh.append(world.refreshed.append)
        client.hooks.on_error.append(world.errors.append)
        return world

    yield build
    for api in apis:
        api.close()


@pytest.fixture
def world(make_world: WorldFactory) -> World:
    return make_world()
