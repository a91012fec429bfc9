"""The reference API inside the page: ``tokensession``'s ``Transport`` seam answered in-process.

On a static host (GitHub Pages) nothing answers at ``apiBase``. With
``"demoApi": "auto"`` the page then runs this API itself: the same code
(login, rotation with grace and reuse detection, ``me``, ``status/<code>``,
``slow``, ``info``, 413, 429), with a store kept in a key-value seam
(``localStorage`` in the page) so that a reload keeps the session and tabs
share it. The session client cannot tell: it gets a ``Transport`` like any
other. A page hands the choice to ``tokensession``'s ``page_client``::

    from authapi.inpage import in_page_demo
    from tokensession.browser.page import page_client

    page = await page_client(transport=in_page_demo())   # per config.json's "demoApi"
    await page.api.login("demo", "demo")                 # answered in the page when page.demo

This module is the adapter between the two packages: ``tokensession`` sends
its own :class:`tokensession.http.Request` to a handler and never imports
this API (as httpx's ``ASGITransport`` never imports a server);
:func:`transport_handler` turns such a request into this API's
:class:`~authapi.messages.ApiRequest`. It imports ``tokensession``, which the
``authapi`` wheel does not declare: a page that runs the demo installs both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from authapi.kvstore import KeyValue, KvStore
from authapi.messages import ApiRequest, ApiResponse
from authapi.settings import Settings
from authapi.stdlib_seams import HmacAccessTokens, PlainPasswords
from tokensession.config import Config
from tokensession.errors import NetworkError
from tokensession.http import Request, Response
from tokensession.transport import InMemoryTransport, Transport

if TYPE_CHECKING:
    # The API itself (its handlers, thread pools, the SQLite store) is imported when a demo
    # API is opened, not when a page merely imports this module to decide whether it wants one.
    from authapi.app import AuthApi

__all__ = [
    "DEMO_BANNER",
    "PROBE_TIMEOUT_MS",
    "STATE_KEY",
    "DemoTransport",
    "api_answers",
    "api_request",
    "choose_transport",
    "in_page_demo",
    "open_demo_api",
    "transport_handler",
]

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

Handle: TypeAlias = Callable[[ApiRequest], Awaitable[ApiResponse]]


def api_request(request: Request, *, client: str = "local") -> ApiRequest:
    """``tokensession``'s request as this API's: the query split off the path.

    >>> call = api_request(Request.build("GET", "slow?ms=50"), client="page")
    >>> call.path, call.query, call.client
    ('slow', 'ms=50', 'page')
    """
    path, _, query = request.path.partition("?")
    return ApiRequest(request.method, path, query, dict(request.headers), request.body, client)


def transport_handler(handle: Handle, *, client: str = "local") -> Callable[[Request], Awaitable[ApiResponse]]:
    """What an ``InMemoryTransport`` calls: ``handle`` (``AuthApi.handle``, or a test's
    wrapper of it) given each request as an :class:`ApiRequest` from ``client``.

    >>> from authapi.app import AuthApi
    >>> api = AuthApi.open(Settings(db_path=":memory:"))
    >>> transport = InMemoryTransport(transport_handler(api.handle))
    >>> asyncio.run(transport.send(Request.build("GET", "status/404"))).status
    404
    >>> api.close()
    """

    async def handler(request: Request) -> ApiResponse:
        return await handle(api_request(request, client=client))

    return handler


def open_demo_api(
    storage: KeyValue,
    *,
    key: str = STATE_KEY,
    settings: Settings | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AuthApi:
    """The reference API over ``storage``, with standard-library seams only (no SQLite, argon2, PyJWT).

    ``settings`` default to the reference defaults with the ``demo`` / ``demo``
    account (``GET info`` says so). ``clock`` is seconds since the epoch.

    >>> from authapi.kvstore import MemoryKeyValue
    >>> api = open_demo_api(MemoryKeyValue())
    >>> api.settings.access_ttl, api.settings.users[0]
    (20, ('demo', 'demo'))
    """
    from authapi.app import AuthApi

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
        super().__init__(transport_handler(self.api.handle, client="page"))

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

    ``False`` (the default) never probes and never opens a demo API; ``True``
    opens it without probing; ``"auto"`` opens it when the probe gets no
    answer, a 404 or no JSON object (:func:`api_answers`).

    >>> from authapi.kvstore import MemoryKeyValue
    >>> transport, is_demo = asyncio.run(choose_transport(Config(demo_api=True), None, MemoryKeyValue()))
    >>> type(transport).__name__, is_demo
    ('DemoTransport', True)
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


def in_page_demo(
    storage: KeyValue | None = None, *, key: str | None = None
) -> Callable[[Config, Transport], Awaitable[tuple[Transport, bool]]]:
    """The ``transport=`` of ``tokensession.browser.page.page_client``: :func:`choose_transport`
    with the demo API's state in ``storage``.

    In a page the defaults are ``localStorage`` (memory where it is refused) under
    ``STATE_KEY:<the page's folder>``, so two apps on one origin keep separate
    demo APIs; outside a page pass both.

    >>> from authapi.kvstore import MemoryKeyValue
    >>> choose = in_page_demo(MemoryKeyValue(), key="demo:/app/")
    >>> transport, is_demo = asyncio.run(choose(Config(demo_api=True), None))
    >>> is_demo
    True
    >>> page = await page_client(transport=in_page_demo())   # doctest: +SKIP
    """

    async def choose(config: Config, real: Transport) -> tuple[Transport, bool]:
        if config.demo_api is False:  # never touch the page's storage for nothing
            return real, False
        kv, where = storage, key
        if kv is None or where is None:
            # The page's own seams (they import ``pyscript``): only reached in a page.
            from tokensession.browser.cookies import base_path
            from tokensession.browser.storage import local_storage

            kv = local_storage() if kv is None else kv
            where = f"{STATE_KEY}:{base_path()}" if where is None else where
        return await choose_transport(config, real, kv, key=where)

    return choose
