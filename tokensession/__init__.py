"""tokensession: the session rules of a token-based sign-in, for PyScript pages and plain Python.

After sign-in the server returns ``access_token``, ``refresh_token`` and
``expires_in``; they live in cookies (``access_token``, ``refresh_token``,
``utilTime``, ``expires_in``). The client attaches ``Authorization: Bearer``,
ends the session when the token has expired (R2, R3), refreshes once when a
request succeeds inside the refresh window (R1), refreshes and retries once
after a 401 (R4), runs one refresh at a time, and turns errors into toast text
in Chinese or English (R5). No dependency beyond the standard library.
With ``refresh_cookie="httponly"`` (config ``"refreshCookie": "httponly"``) the
API keeps the refresh token in its own HttpOnly cookie instead; same rules.

In a PyScript page (install the wheel with PyScript's ``packages``), one call
wires the ``fetch`` transport (or another one: its ``transport=`` seam), the
``document.cookie`` jar and the cross-tab refresh lock::

    from tokensession.browser.page import page_client

    page = await page_client()                  # reads ./config.json (README, "Config keys")
    await page.api.login("demo", "demo")
    me = (await page.api.get("me")).json()

Anywhere, with any transport (here an API in-process that knows one answer)::

    >>> import asyncio, time
    >>> from tokensession import ApiClient, Config, InMemoryTransport, MemoryCookieJar
    >>> async def handler(request):             # gets a tokensession.Request
    ...     from tokensession import Response
    ...     return Response(200, {"content-type": "application/json"}, b'{"username": "demo"}')
    >>> clock_ms = lambda: time.time() * 1000
    >>> api = ApiClient(Config(), InMemoryTransport(handler), MemoryCookieJar(clock_ms), clock_ms)
    >>> asyncio.run(api.get("me")).json()
    {'username': 'demo'}

Synchronous code uses :class:`SessionHandler` in a ``urllib.request`` opener
(imported on first use: it pulls in ``urllib.request`` and ``http.client``), or
``tokensession.requests_auth.SessionAuth`` with ``requests`` (optional
dependency). All three drivers run the same flows (:mod:`tokensession.flow`).

On PyScript's MicroPython the package is installed from ``tokensession-*-micropython.zip``
(``examples/minimal-mpy/``), which also holds the stand-ins MicroPython lacks; the first
import below adds what its built-in modules miss (``micropython/lib/cpython_compat.py``).
"""

from __future__ import annotations

import sys

if sys.implementation.name == "micropython":
    import cpython_compat  # type: ignore[import-not-found]  # noqa: F401

from typing import TYPE_CHECKING, Any

from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.cookies import CookieJar, MemoryCookieJar, RefreshCookie, Session, TokenGrant
from tokensession.errors import (
    ApiError,
    HttpStatusError,
    NetworkError,
    RefreshFailed,
    RequestTimeout,
    SessionExpired,
    SignInFailed,
    UnauthorizedError,
)
from tokensession.flow import Hooks
from tokensession.http import Request, Response
from tokensession.messages import lang_for, toast_text
from tokensession.policy import SessionPolicy
from tokensession.transport import InMemoryTransport, Transport

if TYPE_CHECKING:
    from tokensession.urllib_handler import SessionHandler

__version__ = "0.3.0"

__all__ = [
    "ApiClient",
    "ApiError",
    "Config",
    "CookieJar",
    "Hooks",
    "HttpStatusError",
    "InMemoryTransport",
    "MemoryCookieJar",
    "NetworkError",
    "RefreshCookie",
    "RefreshFailed",
    "Request",
    "RequestTimeout",
    "Response",
    "Session",
    "SessionExpired",
    "SessionHandler",
    "SessionPolicy",
    "SignInFailed",
    "TokenGrant",
    "Transport",
    "UnauthorizedError",
    "__version__",
    "lang_for",
    "toast_text",
]


def __getattr__(name: str) -> Any:
    # Lazy: urllib.request, http.client and email are slow to import in the page, and most pages never need them.
    if name == "SessionHandler":
        from tokensession.urllib_handler import SessionHandler

        return SessionHandler
    raise AttributeError(f"module 'tokensession' has no attribute {name!r}")
