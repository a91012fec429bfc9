"""The in-page demo API (contract section 8, ``demoApi``): the reference API behind the ``Transport`` seam.

On a static host (GitHub Pages) nothing answers at ``apiBase``. With
``"demoApi": "auto"`` the page then runs the reference API itself: the same
``authapi`` code (login, rotation with grace and reuse detection, ``me``,
``status/<code>``, ``slow``, ``info``, 413, 429), with a store kept in a
key-value seam (``localStorage`` in the page) so that a reload keeps the
session and tabs share it. The session client cannot tell: it gets a
:class:`~tokensession.transport.Transport` like any other::

    transport, is_demo = await choose_transport(config, FetchTransport(config.api_base), LocalStorage())
    api = ApiClient(config, transport, DocumentCookieJar(), now_ms)
    await api.login("demo", "demo")          # answered in the page when is_demo

``authapi`` is imported only when a demo API is opened: ``import
tokensession.demo`` works without it (it ships as its own wheel), and opening
one without it raises :class:`DemoApiUnavailable`, saying what to install.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from tokensession.config import Config
from tokensession.errors import NetworkError
from tokensession.http import Request, Response
from tokensession.transport import InMemoryTransport, Transport

if TYPE_CHECKING:
    from authapi.app import AuthApi, Settings

#: The banner a page shows while the demo API serves (``pick(DEMO_BANNER, lang)``).
DEMO_BANNER = (
    "演示模式：API 运行在本页面内（您的浏览器中），数据不会发送到任何服务器。",
    "Demo mode: the API runs inside this page, in your browser; nothing is sent to a server.",
)
#: The storage key of the demo API's state; pages add their base path, so two
#: apps on one origin (``user.github.io/a/``, ``/b/``) keep separate demo APIs.
STATE_KEY = "pyauth-demo-api"
#: The boot probe waits at most this long: a static host answers at once, and a
#: hung API must not hold the page for a whole ``timeoutMs``.
PROBE_TIMEOUT_MS = 5000
#: Requests the demo transport remembers in ``sent`` (the page never reads them).
SENT_KEPT = 50
#: Why the HttpOnly refresh mode falls back to ``"js"`` with the demo API (logged, and toasted once).
NO_HTTPONLY_IN_DEMO = (
    'config.json: refreshCookie "httponly" needs a server: the in-page demo API cannot set an '
    "HttpOnly cookie (page scripts can only set cookies they can read), so the refresh token "
    'stays in a script-readable cookie ("js")'
)


class KeyValue(Protocol):
    """Strings under string keys (``authapi.kvstore.KeyValue``): ``localStorage``, or a dict in tests."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class DemoApiUnavailable(RuntimeError):
    """A demo API was asked for but the ``authapi`` package is not installed."""


def open_demo_api(
    storage: KeyValue,
    *,
    key: str = STATE_KEY,
    settings: Settings | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AuthApi:
    """The reference API over ``storage``, with standard-library seams only (no SQLite, argon2, PyJWT).

    ``settings`` default to contract section 2's defaults with the ``demo`` /
    ``demo`` account. ``clock`` is seconds since the epoch.

    >>> from authapi.kvstore import MemoryKeyValue
    >>> api = open_demo_api(MemoryKeyValue())
    >>> api.settings.access_ttl, api.settings.users[0]
    (20, ('demo', 'demo'))
    """
    try:
        from authapi.app import AuthApi, Settings
        from authapi.kvstore import KvStore
        from authapi.stdlib_seams import HmacAccessTokens, PlainPasswords
    except ImportError as exc:
        raise DemoApiUnavailable(
            "the in-page demo API needs the 'authapi' package (its wheel sits next to tokensession's; "
            'in a PyScript page add it to `packages`), or set "demoApi": false'
        ) from exc
    # Contract section 2 defaults with the built-in demo / demo account (GET info says so).
    settings = settings or Settings(is_demo=True)
    store = KvStore(storage, key)
    signer = HmacAccessTokens(store.secret("access-token-hs256"), settings.access_ttl)
    passwords = PlainPasswords(settings.users)
    return AuthApi.open(settings, clock=clock, sleep=sleep, store=store, passwords=passwords, signer=signer)


class DemoTransport(InMemoryTransport):
    """A transport answered by :func:`open_demo_api` in-process; state in ``storage``.

    Two transports over the same storage (two tabs, or a page before and
    after a reload) are one API: each transaction re-reads the stored state.

    >>> from authapi.kvstore import MemoryKeyValue
    >>> transport = DemoTransport(MemoryKeyValue())
    >>> asyncio.run(transport.send(Request.build("GET", "info"))).json()["demo"]
    True
    """

    def __init__(
        self,
        storage: KeyValue,
        *,
        key: str = STATE_KEY,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.api = open_demo_api(storage, key=key, settings=settings, clock=clock, sleep=sleep)
        super().__init__(self.api.handle, client="page")

    async def send(self, request: Request) -> Response:
        try:
            return await super().send(request)
        finally:
            del self.sent[:-SENT_KEPT]  # a page runs for hours: keep only the last few


def api_answers(response: Response) -> bool:
    """Whether a ``GET info`` answer comes from an API: a JSON object, and not a 404.

    A static host answers 404 (often an HTML page), or serves its index page
    for any path (200, not JSON); an API answers JSON, even when it fails.

    >>> api_answers(Response(200, body=b'{"demo": false}')), api_answers(Response(404, body=b'{}'))
    (True, False)
    >>> api_answers(Response(200, body=b"<!doctype html>"))
    False
    """
    if response.status == 404:
        return False
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


async def choose_transport(
    config: Config,
    real: Transport,
    storage: KeyValue,
    *,
    key: str = STATE_KEY,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> tuple[Transport, bool]:
    """``(transport, is_demo)`` per ``config.demo_api``, probing ``GET info`` once for ``"auto"``.

    ``false`` never probes and never opens a demo API; ``true`` opens it
    without probing; ``"auto"`` opens it when the probe gets no answer, a 404
    or no JSON object (:func:`api_answers`).

    >>> from authapi.kvstore import MemoryKeyValue
    >>> asyncio.run(choose_transport(Config(demo_api=True), real_transport, MemoryKeyValue()))  # doctest: +SKIP
    (<tokensession.demo.DemoTransport object at ...>, True)
    """
    if config.demo_api is False:
        return real, False
    if config.demo_api == "auto":
        probe = Request.build("GET", "info", timeout_ms=min(config.timeout_ms, PROBE_TIMEOUT_MS))
        try:
            if api_answers(await real.send(probe)):
                return real, False
        except NetworkError:  # nothing there (RequestTimeout included)
            pass
    return DemoTransport(storage, key=key, clock=clock, sleep=sleep), True


def demo_refresh_cookie(config: Config, demo: bool) -> tuple[Config, str | None]:
    """The config to run with, and why it changed: with the in-page demo API the HttpOnly
    refresh mode falls back to ``"js"`` (:data:`NO_HTTPONLY_IN_DEMO`), since no server
    stands behind the page to keep a cookie that scripts cannot read.

    >>> demo_refresh_cookie(Config(refresh_cookie="httponly"), demo=True)[0].refresh_cookie
    'js'
    >>> demo_refresh_cookie(Config(refresh_cookie="httponly"), demo=False)[1] is None
    True
    """
    if demo and config.refresh_cookie == "httponly":
        return dataclasses.replace(config, refresh_cookie="js"), NO_HTTPONLY_IN_DEMO
    return config, None
