"""The session as ``document.cookie`` holds it: parse, serialize, and an in-memory jar.

The four cookies (README, "Cookies") are the only place a token lives::

    session = Session.from_header("access_token=eyJ...; utilTime=1700000020000; ...")
    for line in grant_assignments(grant, received_ms=now, path="/app/", secure=True):
        jar.write(line)                 # the browser jar assigns document.cookie = line

In the HttpOnly refresh mode (README, "HttpOnly refresh mode"; ``refresh_cookie="httponly"``)
the API keeps ``refresh_token`` in a cookie the page cannot read, so the page
writes a non-secret marker instead, ``refresh_expires_at`` (when that cookie
expires, in ms since the epoch, or ``session``): it says a refresh token is
held, for as long as the server's cookie lives. A marker is not a token.

Reading never raises: garbage (a ``utilTime`` of ``"abc"``, duplicates,
stray ``;``, a name without ``=``, bad percent-escapes, huge values) reads
as "no such cookie", and the policy then sees no session or an expired one.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias
from urllib.parse import quote, unquote

from tokensession.text import digits

ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
UTIL_TIME = "utilTime"
EXPIRES_IN = "expires_in"
SESSION_COOKIES = (ACCESS_TOKEN, REFRESH_TOKEN, UTIL_TIME, EXPIRES_IN)
#: The HttpOnly mode's marker: "the API holds a refresh token for this page" (no secret in it).
REFRESH_MARKER = "refresh_expires_at"
#: What the page writes and clears: the four cookies and the marker.
PAGE_COOKIES = SESSION_COOKIES + (REFRESH_MARKER,)
#: Where the refresh token lives: a script-readable cookie (the seed's way) or the API's HttpOnly one.
RefreshCookie: TypeAlias = Literal["js", "httponly"]
REFRESH_COOKIE_MODES: tuple[RefreshCookie, ...] = ("js", "httponly")

#: Browsers refuse cookies over 4 KiB, so a longer value was not set by us.
MAX_VALUE = 4096
#: The longest access-token lifetime a grant may claim (a year, in s). Beyond it the
#: answer is nonsense (and utilTime would outgrow what the page's clock can hold).
MAX_EXPIRES_IN = 366 * 24 * 3600
# RFC 6750 b64token: what may follow "Bearer " without breaking the header.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
# Characters RFC 6265 allows in a cookie value, minus "%" (our escape).
_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"


def parse_cookie_header(header: str) -> dict[str, str]:
    """``document.cookie`` text as a dict; the first of duplicate names wins.

    Browsers list the cookie with the longest matching ``Path`` first, which
    is ours when an older one lingers at ``/``.

    >>> parse_cookie_header("a=1; ;junk; a=2; b=%E4%BD%A0")
    {'a': '1', 'b': '你'}
    """
    out: dict[str, str] = {}
    if not isinstance(header, str):
        return out
    for part in header.split(";"):
        name, eq, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name or name in out or len(value) > MAX_VALUE:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[name] = unquote(value, errors="replace")
    return out


def assignment(name: str, value: str, *, path: str = "/", max_age: int | None = None, secure: bool = False) -> str:
    """One ``document.cookie = ...`` string (Set-Cookie syntax); ``Max-Age`` is in seconds.

    >>> assignment("utilTime", "1700000020000", path="/app/", max_age=20)
    'utilTime=1700000020000; Path=/app/; Max-Age=20; SameSite=Strict'
    """
    parts = [f"{name}={quote(value, safe=_SAFE)}", f"Path={path}"]
    if max_age is not None:
        parts.append(f"Max-Age={max(0, int(max_age))}")
    parts.append("SameSite=Strict")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_assignments(*, path: str = "/", secure: bool = False) -> list[str]:
    """The assignments that delete the four session cookies and the marker (``Max-Age=0``, same ``Path``)."""
    return [assignment(name, "", path=path, max_age=0, secure=secure) for name in PAGE_COOKIES]


def valid_token(value: object) -> str | None:
    """``value`` if it can be a bearer token (RFC 6750 b64token, at most 4 KiB), else ``None``.

    >>> valid_token("eyJ.a-b_c"), valid_token("a b"), valid_token(7)
    ('eyJ.a-b_c', None, None)
    """
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        return None
    body = value.rstrip("=")
    return value if body and all(c in _TOKEN_CHARS for c in body) else None


_token = valid_token


def _marker(value: str | None) -> str | None:
    return value if value is not None and (value == "session" or digits(value, 16)) else None


def _ms(value: str | None) -> int | None:
    whole, dot, fraction = (value or "").strip().partition(".")
    if value is None or not digits(whole, 16) or (dot and not digits(fraction, 6)):
        return None
    number = float(value)
    return int(number) if math.isfinite(number) else None


@dataclass(frozen=True)
class Session:
    """What the cookies say right now; unusable parts read as ``None``.

    ``access_token`` is ``None`` when absent or not a valid bearer token;
    ``util_time_ms`` when absent, negative, non-numeric or non-finite.
    ``refresh_marker`` is the HttpOnly mode's :data:`REFRESH_MARKER` (then
    ``refresh_token`` is always ``None``: the page cannot see it);
    :attr:`has_refresh_token` is what the policy asks, in either mode.

    >>> s = Session.from_header("access_token=abc; utilTime=2000; refresh_token=r")
    >>> s.expired(now_ms=1000), s.remaining_ms(now_ms=1500)
    (False, 500)
    """

    access_token: str | None = None
    refresh_token: str | None = None
    util_time_ms: int | None = None
    expires_in: int | None = None
    refresh_marker: str | None = None

    @classmethod
    def from_cookies(cls, cookies: Mapping[str, str], *, refresh_cookie: RefreshCookie = "js") -> Session:
        """The session the cookies hold; in the ``"httponly"`` mode a readable ``refresh_token``
        (a leftover of the other mode) is ignored and the marker stands for the real one.

        >>> Session.from_cookies({"refresh_expires_at": "9000", "refresh_token": "old"}, refresh_cookie="httponly")
        Session(access_token=None, refresh_token=None, util_time_ms=None, expires_in=None, refresh_marker='9000')
        """
        httponly = refresh_cookie == "httponly"
        return cls(
            access_token=_token(cookies.get(ACCESS_TOKEN)),
            refresh_token=None if httponly else _token(cookies.get(REFRESH_TOKEN)),
            util_time_ms=_ms(cookies.get(UTIL_TIME)),
            expires_in=_ms(cookies.get(EXPIRES_IN)),
            refresh_marker=_marker(cookies.get(REFRESH_MARKER)) if httponly else None,
        )

    @classmethod
    def from_header(cls, header: str, *, refresh_cookie: RefreshCookie = "js") -> Session:
        return cls.from_cookies(parse_cookie_header(header), refresh_cookie=refresh_cookie)

    @property
    def has_refresh_token(self) -> bool:
        """A refresh token is held: readable (``"js"`` mode) or, by the marker, in the API's
        HttpOnly cookie (``"httponly"`` mode), which the browser sends by itself."""
        return self.refresh_token is not None or self.refresh_marker is not None

    @property
    def refresh_id(self) -> str | None:
        """What tells one held refresh token from another (or none): the token, or the marker."""
        return self.refresh_token if self.refresh_token is not None else self.refresh_marker

    @property
    def is_empty(self) -> bool:
        """No token at all: nobody is signed in (or the cookies are garbage)."""
        return self.access_token is None and not self.has_refresh_token

    def expired(self, now_ms: float) -> bool:
        """True unless ``utilTime`` is known and still ahead (an unknown expiry is no expiry to trust)."""
        return self.util_time_ms is None or now_ms >= self.util_time_ms

    def remaining_ms(self, now_ms: float) -> int:
        return 0 if self.util_time_ms is None else max(0, int(self.util_time_ms - now_ms))

    def replaced(self, seen: Session) -> bool:
        """True when a refresh (here or in another tab) has written new tokens since ``seen``."""
        if self.access_token is None or not self.has_refresh_token:
            return False  # a refresh writes both; anything less replaced nothing
        return (self.access_token, self.util_time_ms, self.refresh_id) != (
            seen.access_token,
            seen.util_time_ms,
            seen.refresh_id,
        )


@dataclass(frozen=True)
class TokenGrant:
    """A ``login`` / ``refresh_token`` answer (README, "The API it talks to"), checked.

    ``refresh_token`` is ``None`` in the HttpOnly mode: the API set it as its own cookie.
    """

    access_token: str
    refresh_token: str | None
    expires_in: int
    refresh_expires_in: int | None = None

    @classmethod
    def from_json(cls, data: Any, *, refresh_cookie: RefreshCookie = "js") -> TokenGrant | None:
        """The grant in ``data``, or ``None`` when any field is missing or wrong. In the
        ``"httponly"`` mode the body has no refresh token (one sent anyway is not kept).

        >>> TokenGrant.from_json({"access_token": "a", "refresh_token": "r", "expires_in": 20}).expires_in
        20
        >>> TokenGrant.from_json({"access_token": "a", "refresh_token": "r", "expires_in": 10**12}) is None
        True
        >>> TokenGrant.from_json({"access_token": "a", "expires_in": 20}, refresh_cookie="httponly").refresh_token
        """
        if not isinstance(data, dict):
            return None
        access, refresh = _token(data.get("access_token")), _token(data.get("refresh_token"))
        expires_in, refresh_in = data.get("expires_in"), data.get("refresh_expires_in")
        if refresh_cookie == "httponly":
            refresh = None
        elif refresh is None:
            return None
        if access is None or not isinstance(expires_in, int) or not _positive_int(expires_in):
            return None
        if expires_in > MAX_EXPIRES_IN:
            return None
        return cls(access, refresh, expires_in, refresh_in if _positive_int(refresh_in) else None)

    def marker(self, received_ms: int) -> str:
        """The HttpOnly mode's :data:`REFRESH_MARKER` value: when the API's cookie expires.

        >>> TokenGrant("a", None, 20, 600).marker(1000), TokenGrant("a", None, 20).marker(1000)
        ('601000', 'session')
        """
        return str(received_ms + self.refresh_expires_in * 1000) if self.refresh_expires_in else "session"

    def session(self, received_ms: int) -> Session:
        """The session these tokens make: ``utilTime`` = receive time + ``expires_in`` s."""
        marker = self.marker(received_ms) if self.refresh_token is None else None
        return Session(
            self.access_token, self.refresh_token, received_ms + self.expires_in * 1000, self.expires_in, marker
        )


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def grant_assignments(grant: TokenGrant, *, received_ms: int, path: str = "/", secure: bool = False) -> list[str]:
    """The four cookie assignments for ``grant`` (lifetimes: README, "Cookies"); for a
    grant without a refresh token (the HttpOnly mode) the marker takes that cookie's place.

    In this order: ``utilTime``, the refresh token, ``expires_in``, the access token last.
    Another tab sees them arrive one by one (Firefox hands each write to the other tabs'
    processes after a ``BroadcastChannel`` message posted once they are all written), and
    each part it can see must read as "no session yet" or as a live one, never as an
    expired one: an access token without its ``utilTime`` reads as expired (R2), and that
    tab would end the session it has just been told of.

    >>> [line.split("=")[0] for line in grant_assignments(TokenGrant("a", "r", 20), received_ms=0)]
    ['utilTime', 'refresh_token', 'expires_in', 'access_token']
    """
    util_time = received_ms + grant.expires_in * 1000
    live = grant.expires_in  # access_token, utilTime and expires_in vanish at utilTime
    lines = [assignment(UTIL_TIME, str(util_time), path=path, max_age=live, secure=secure)]
    # No refresh_expires_in: a session cookie, gone when the browser closes.
    refresh_life = grant.refresh_expires_in
    if grant.refresh_token is not None:
        lines.append(assignment(REFRESH_TOKEN, grant.refresh_token, path=path, max_age=refresh_life, secure=secure))
    else:
        # The marker lives as long as the API's cookie; a script-readable leftover of the other mode goes.
        lines.append(
            assignment(REFRESH_MARKER, grant.marker(received_ms), path=path, max_age=refresh_life, secure=secure)
        )
        lines.append(assignment(REFRESH_TOKEN, "", path=path, max_age=0, secure=secure))
    lines.append(assignment(EXPIRES_IN, str(grant.expires_in), path=path, max_age=live, secure=secure))
    lines.append(assignment(ACCESS_TOKEN, grant.access_token, path=path, max_age=live, secure=secure))
    return lines


class CookieJar(Protocol):
    """Where the cookies live: ``document.cookie`` in the page, :class:`MemoryCookieJar` in tests."""

    def read(self) -> str:
        """The whole cookie header, ``"a=1; b=2"``."""
        ...

    def write(self, assignment: str) -> None:
        """Apply one Set-Cookie-style assignment, as ``document.cookie = assignment`` does."""
        ...


#: How many writes :attr:`MemoryCookieJar.assignments` keeps (a sign-in writes five).
ASSIGNMENTS_KEPT = 100


class MemoryCookieJar:
    """A cookie jar that honours ``Max-Age`` against an injected clock (ms).

    >>> now = [0]
    >>> jar = MemoryCookieJar(lambda: now[0])
    >>> jar.write("a=1; Path=/; Max-Age=20")
    >>> now[0] = 20_000
    >>> jar.read()
    ''
    """

    def __init__(self, clock_ms: Callable[[], float]) -> None:
        self._clock_ms = clock_ms
        # (name, path) -> (raw value, expiry in ms or None for a session cookie)
        self._cookies: dict[tuple[str, str], tuple[str, float | None]] = {}
        #: The last :data:`ASSIGNMENTS_KEPT` writes, newest last, for tests to inspect their
        #: attributes; bounded, since a long-running script's jar is written at every refresh.
        self.assignments: deque[str] = deque(maxlen=ASSIGNMENTS_KEPT)

    def write(self, assignment: str) -> None:
        self.assignments.append(assignment)
        first, *attributes = assignment.split(";")
        name, eq, value = first.partition("=")
        name = name.strip()
        if not eq or not name:
            return
        path, expires_at = "/", None
        for attribute in attributes:
            key, _, arg = attribute.strip().partition("=")
            if key.lower() == "path" and arg.startswith("/"):
                path = arg
            elif key.lower() == "max-age" and digits(arg.strip().lstrip("-"), 20) and arg.count("-") <= 1:
                expires_at = self._clock_ms() + int(arg) * 1000
        if expires_at is not None and expires_at <= self._clock_ms():
            self._cookies.pop((name, path), None)
        else:
            self._cookies[(name, path)] = (value.strip(), expires_at)

    def read(self) -> str:
        now = self._clock_ms()
        live = [(key, v) for key, (v, exp) in self._cookies.items() if exp is None or now < exp]
        self._cookies = {key: (v, exp) for key, (v, exp) in self._cookies.items() if exp is None or now < exp}
        live.sort(key=lambda item: -len(item[0][1]))  # longest Path first, as browsers list them
        return "; ".join(f"{name}={value}" for (name, _), value in live)
