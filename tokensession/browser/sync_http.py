"""Synchronous HTTP in the page, installed on first use: ``requests`` over ``pyodide-http``.

Nothing here runs at boot. The first call installs ``requests`` (and its
dependencies) and ``pyodide-http`` with micropip, from the wheels beside
``pyodide.mjs`` on our own origin (the vendored ``pyodide-lock.json`` names
them), then patches ``requests`` and ``urllib`` once::

    from tokensession.browser.sync_http import requests_session

    http = await requests_session("api/v1")          # installs and patches the first time only
    print(http.get(http.auth.base + "me", timeout=10).json())   # R1-R4 apply

``pyodide-http`` sends with a synchronous ``XMLHttpRequest``: the page is
frozen while a request is out, and the main thread cannot time it out. Fine
for a button, a console or a PyScript worker; the app's own calls go through
the async client instead. The requests' session rules come from
:class:`tokensession.requests_auth.SessionAuth` (the same flows as the async
client), with the page's cookies, so both see one session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyodide_js  # type: ignore[import-not-found]
from pyscript import window  # type: ignore[import-not-found]

from tokensession.browser.cookies import DocumentCookieJar, base_path, is_https
from tokensession.cookies import RefreshCookie
from tokensession.sources import TokenSource

if TYPE_CHECKING:
    import requests

_patched = False


async def install(*packages: str) -> None:
    """Install ``packages`` with micropip (loaded first if PyScript has not): names in the
    vendored lock come from our origin. Already installed packages cost a lookup.

    >>> await install("requests")   # doctest: +SKIP
    """
    await pyodide_js.loadPackage("micropip")
    import micropip  # type: ignore[import-not-found]

    await micropip.install(list(packages))


async def patch_http() -> None:
    """Install ``requests`` and ``pyodide-http`` if needed, and patch both stacks, once."""
    global _patched
    if _patched:
        return
    await install("requests", "pyodide-http")
    import pyodide_http  # type: ignore[import-not-found]

    pyodide_http.patch_all()  # after requests is importable: it patches what it finds
    _patched = True


async def requests_session(
    api_base: str = "api/v1",
    *,
    refresh_window_seconds: float = 1800,
    timeout_ms: int = 10000,
    refresh_cookie: RefreshCookie = "js",
    source: TokenSource | None = None,
) -> requests.Session:
    """A ``requests.Session`` whose auth applies R1-R4 to ``api_base`` (relative to the page)
    with the page's cookies; ``session.auth.base`` is the API's absolute URL. In the
    HttpOnly mode (``refresh_cookie="httponly"``) the synchronous XHR sends the API's cookie.
    ``source``: the kind of API (the page client's ``api.source``; default this project's)."""
    await patch_http()
    import requests

    from tokensession.requests_auth import SessionAuth

    base = str(window.URL.new(api_base.strip("/") + "/", window.location.href).href)
    auth = SessionAuth(
        base,
        DocumentCookieJar(),
        _now_ms,
        refresh_window_seconds=refresh_window_seconds,
        timeout_ms=timeout_ms,
        cookie_path=base_path(),
        secure=is_https(),
        refresh_cookie=refresh_cookie,
        source=source,
    )
    http = requests.Session()  # made after the patch: pyodide-http mounts its adapter in __init__
    http.auth = auth
    return http


def _now_ms() -> float:
    from tokensession.browser.runtime import now_ms

    return now_ms()
