"""The HttpOnly refresh cookie of contract section 4 (``serve.py --httponly-refresh``).

In this mode the API, not the page, keeps the refresh token: it sets it as a
cookie page scripts cannot read, scoped to the API's own path, and reads it
back from the ``Cookie`` header of ``refresh_token`` and ``logout``::

    req = ApiRequest("POST", "refresh_token", root="/api/v1", headers={"cookie": "refresh_token=abc"})
    cookie_token(req)                               # 'abc'
    set_cookie(req, "xyz", max_age=600)
    # 'refresh_token=xyz; Path=/api/v1; Max-Age=600; HttpOnly; SameSite=Strict'

Because the browser now sends a credential on its own, the two calls that use
it need a CSRF guard: ``SameSite=Strict`` keeps other sites' requests from
carrying it, and the custom header :data:`CSRF_HEADER` (which a cross-site
form or link cannot send, and a cross-site script cannot send without a CORS
preflight we refuse) must be present.
"""

from __future__ import annotations

from authapi.messages import ApiError, ApiRequest

COOKIE_NAME = "refresh_token"
#: ``refresh_token`` and ``logout`` answer 403 without this header in the HttpOnly mode.
CSRF_HEADER = ("x-requested-with", "pyauth")
#: The longest value read back (tokens are far shorter; browsers cap a cookie at 4 KiB).
MAX_VALUE = 4096


def cookie_path(req: ApiRequest) -> str:
    """The API's path, the cookie's scope: the page (and every other path) never gets it.

    >>> cookie_path(ApiRequest("POST", "login", root="/repo/api/v1/"))
    '/repo/api/v1'
    """
    root = req.root if req.root.startswith("/") else "/" + req.root
    return root.rstrip("/") or "/"


def set_cookie(req: ApiRequest, token: str, *, max_age: int | None) -> str:
    """The ``Set-Cookie`` value that stores ``token`` (``Secure`` when ``req`` came over https).

    >>> set_cookie(ApiRequest("POST", "login", root="/api/v1", secure=True), "t", max_age=60)
    'refresh_token=t; Path=/api/v1; Max-Age=60; HttpOnly; SameSite=Strict; Secure'
    """
    parts = [f"{COOKIE_NAME}={token}", f"Path={cookie_path(req)}"]
    if max_age is not None:
        parts.append(f"Max-Age={max(0, int(max_age))}")
    parts += ["HttpOnly", "SameSite=Strict"]
    if req.secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie(req: ApiRequest) -> str:
    """The ``Set-Cookie`` value that deletes the cookie (same name, path and flags, ``Max-Age=0``)."""
    return set_cookie(req, "", max_age=0)


def cookie_token(req: ApiRequest) -> str | None:
    """The refresh token the ``Cookie`` header carries, or ``None``.

    The browser lists the cookie with the longest path first, so ours wins
    over a stale script-set ``refresh_token`` at the page's path.

    >>> cookie_token(ApiRequest("POST", "logout", headers={"cookie": "a=1; refresh_token=t; refresh_token=old"}))
    't'
    """
    for part in req.headers.get("cookie", "").split(";"):
        name, eq, value = part.partition("=")
        if eq and name.strip() == COOKIE_NAME:
            value = value.strip()
            return value if value and len(value) <= MAX_VALUE else None
    return None


def require_csrf_header(req: ApiRequest) -> None:
    """403 unless the request carries ``X-Requested-With: pyauth``."""
    name, expected = CSRF_HEADER
    if req.headers.get(name, "").strip().lower() != expected:
        raise ApiError(
            403,
            "forbidden",
            "This call needs the header 'X-Requested-With: pyauth' (the refresh token is an HttpOnly cookie).",
        )
