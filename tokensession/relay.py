"""One ``requests`` call handed from a page to a worker, and the cookies handed back.

A PyScript worker cannot read ``document.cookie`` unless the page is cross-origin
isolated (COOP/COEP headers, which static hosts such as GitHub Pages cannot send),
and the page can only *await* what the worker exposes. So the page sends what the
worker needs as plain JSON (an *order*: the cookies as the page sees them, the URL,
the API's base and the session settings); the worker runs the call through
:class:`tokensession.requests_auth.SessionAuth` over a :class:`MemoryCookieJar`
seeded from it, and answers with a *result*: status, refreshes, and the cookie
assignments its session wrote. The page applies those to its own jar, so page and
worker stay one session::

    order = call_order(document.cookie, api_base + "me", api_base=api_base)   # the page
    result = run_order(order)                                                  # the worker
    apply_result(result, order, DocumentCookieJar())                           # the page

The page's cookies are the source of truth and may move on while the worker's call is
out (the page's own R1 refresh, another tab's, a sign-out). :func:`apply_result` writes
the worker's assignments only while the page's cookies still hold the session the
order was made from (compare-and-set; the page's thread does it in one step): else
the page's session is newer, and the worker's is dropped. Both sides' tokens come from
one refresh family: a refresh token spent by one side and presented by the other
within the API's grace interval gets working tokens and revokes nothing.

Orders and results are dicts of JSON values, and this module imports nothing of the
browser: both sides (MicroPython or Pyodide in the page, Pyodide in the worker, CPython
in tests) import it; only :func:`run_order` needs ``requests``.
"""

from __future__ import annotations

import json
from typing import Any, TypeAlias

from tokensession.cookies import (
    PAGE_COOKIES,
    CookieJar,
    MemoryCookieJar,
    RefreshCookie,
    Session,
    assignment,
    parse_cookie_header,
)
from tokensession.errors import SessionExpired
from tokensession.sources import ContractSource, OidcSource, SimpleJwtSource, TokenSource

#: What the page sends (:func:`call_order`) and what the worker answers (:func:`run_order`).
Order: TypeAlias = dict[str, Any]
Result: TypeAlias = dict[str, Any]


def describe_source(source: TokenSource | None) -> dict[str, Any]:
    """The kind of API as JSON, for the other side to make the same :class:`TokenSource`.

    >>> describe_source(SimpleJwtSource("https://a.test/t/", "https://a.test/r/"))["kind"]
    'simplejwt'
    """
    if isinstance(source, SimpleJwtSource):
        return {
            "kind": "simplejwt",
            "token": source.token_url,
            "refresh": source.refresh_url,
            "logout": source.logout_url,
        }
    if isinstance(source, OidcSource):
        return {
            "kind": "oidc",
            "token": source.token_endpoint,
            "client": source.client_id,
            "revocation": source.revocation_endpoint,
        }
    return {"kind": "contract"}


def source_from(description: dict[str, Any], refresh_cookie: RefreshCookie = "js") -> TokenSource:
    """The :class:`TokenSource` that :func:`describe_source` described."""
    kind = description.get("kind")
    if kind == "simplejwt":
        return SimpleJwtSource(description["token"], description["refresh"], description.get("logout"))
    if kind == "oidc":
        revocation = description.get("revocation")
        return OidcSource(description["token"], description["client"], revocation_endpoint=revocation)
    return ContractSource(refresh_cookie)


def call_order(
    cookie_header: str,
    url: str,
    *,
    api_base: str,
    refresh_window_seconds: float = 1800,
    timeout_ms: int = 10000,
    refresh_cookie: RefreshCookie = "js",
    cookie_path: str = "/",
    secure: bool = False,
    source: TokenSource | None = None,
) -> Order:
    """What the worker needs for one ``GET url``; ``url`` and ``api_base`` are absolute (a
    worker runs from a ``blob:`` URL, against which nothing relative resolves).

    >>> call_order("access_token=a", "https://app.test/api/v1/me", api_base="https://app.test/api/v1/")["cookie"]
    'access_token=a'
    """
    return {
        "cookie": cookie_header,
        "url": url,
        "apiBase": api_base,
        "refreshWindowSeconds": refresh_window_seconds,
        "timeoutMs": timeout_ms,
        "refreshCookie": refresh_cookie,
        "cookiePath": cookie_path,
        "secure": secure,
        "source": describe_source(source),
    }


def run_order(order: Order, http: Any = None) -> Result:
    """The worker's side: ``GET order["url"]`` through ``requests`` under R1-R4, with the
    order's cookies. ``http``: the ``requests.Session`` to send with (default: a new one,
    made here, so that in a page it is made after ``pyodide-http`` patched ``requests``).

    The result: ``status`` (``None`` without an answer), ``ok``, ``error`` (the exception's
    class name, if one ended the call), ``refreshes``, ``ended`` (the session ended here:
    R3, or R4's refresh refused; the assignments then clear the cookies) and
    ``assignments``, what the call wrote into the cookies, in order.
    """
    import requests

    from tokensession.requests_auth import SessionAuth

    refresh_cookie: RefreshCookie = "httponly" if order.get("refreshCookie") == "httponly" else "js"
    path = str(order.get("cookiePath") or "/")
    jar = MemoryCookieJar(_wall_clock_ms)
    for name, value in parse_cookie_header(str(order.get("cookie") or "")).items():
        if name in PAGE_COOKIES:
            jar.write(assignment(name, value, path=path))
    jar.assignments.clear()  # from here on: what the call writes, for the page
    auth = SessionAuth(
        str(order["apiBase"]),
        jar,
        _wall_clock_ms,
        refresh_window_seconds=float(order.get("refreshWindowSeconds", 1800)),
        timeout_ms=int(order.get("timeoutMs", 10000)),
        cookie_path=path,
        secure=bool(order.get("secure")),
        refresh_cookie=refresh_cookie,
        source=source_from(order.get("source") or {}, refresh_cookie),
    )
    refreshes: list[Session] = []
    ended: list[str] = []
    auth.hooks.on_refresh.append(refreshes.append)
    auth.hooks.on_session_end.append(ended.append)
    result: Result = {"status": None, "ok": False, "error": None}
    session = http if http is not None else requests.Session()
    session.auth = auth
    try:
        response = session.get(str(order["url"]), timeout=auth.ctx.timeout_ms / 1000)
    except SessionExpired as exc:
        result["error"] = type(exc).__name__
    except Exception as exc:  # requests' own errors (no answer): the page logs the name
        result["error"] = type(exc).__name__
    else:
        result["status"], result["ok"] = response.status_code, bool(response.ok)
    result["refreshes"] = len(refreshes)
    result["ended"] = bool(ended)
    result["assignments"] = list(jar.assignments)
    return result


def run_order_json(order_json: str, http: Any = None) -> str:
    """:func:`run_order` from and to JSON text: what crosses between two interpreters."""
    return json.dumps(run_order(json.loads(order_json), http))


def apply_result(result: Result, order: Order, jar: CookieJar) -> bool:
    """The page's side: write the worker's cookie assignments into ``jar``, unless the
    page's session has moved on since ``order`` was made (then the page's cookies are the
    newer ones and stay). Returns whether it wrote them.

    >>> jar = MemoryCookieJar(lambda: 0)
    >>> jar.write("access_token=a; Path=/")
    >>> order = call_order(jar.read(), "https://app.test/api/v1/me", api_base="https://app.test/api/v1/")
    >>> apply_result({"assignments": ["access_token=b; Path=/"]}, order, jar), jar.read()
    (True, 'access_token=b')
    >>> apply_result({"assignments": ["access_token=c; Path=/"]}, order, jar), jar.read()
    (False, 'access_token=b')
    """
    mode: RefreshCookie = "httponly" if order.get("refreshCookie") == "httponly" else "js"
    sent = Session.from_header(str(order.get("cookie") or ""), refresh_cookie=mode)
    now = Session.from_header(jar.read(), refresh_cookie=mode)
    if _identity(now) != _identity(sent):
        return False
    for line in result.get("assignments") or []:
        jar.write(str(line))
    return True


def _identity(session: Session) -> tuple[str | None, int | None, str | None]:
    return session.access_token, session.util_time_ms, session.refresh_id


def _wall_clock_ms() -> float:
    import time

    return time.time() * 1000
