"""The API object: opens the store, hashes the accounts, routes requests.

    api = AuthApi.open(Settings(db_path=":memory:"), clock=fake_clock)
    resp = await api.handle(ApiRequest("POST", "login", body=b'{"username":"demo","password":"demo"}'))
    resp.status, resp.json()["token_type"]     # (200, 'Bearer')
    api.close()

``handle`` is the whole API: the ASGI adapter, a test's in-memory transport
and an in-page demo all drive it the same way. It never raises for a bad
request; an unexpected failure answers 500 and is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeAlias
from urllib.parse import unquote_plus

from authapi.handlers import Clock, Handlers, Offload, Sleep, inline
from authapi.messages import ApiError, ApiRequest, ApiResponse, error_response
from authapi.passwords import PasswordBook, PasswordChecker
from authapi.pg_store import is_postgres_url
from authapi.ratelimit import FailureLimiter
from authapi.sessions import AsyncSessions, Sessions, awaited
from authapi.settings import Settings
from authapi.store import AsyncStore, Store, StoreBusy, StoreUnavailable
from authapi.tokens import AccessTokens, AccessTokenSigner

__all__ = ["AuthApi", "Settings"]

log = logging.getLogger("authapi")

Endpoint: TypeAlias = Callable[[ApiRequest], Awaitable[ApiResponse]]
#: Query parameters that would put a token in a URL (logs, history, Referer).
TOKEN_PARAMS = frozenset({"access_token", "refresh_token"})
# What our tokens look like, wherever they hide in a query (any name, any value):
# a JWT is three base64url parts joined by dots (ours: 36+, 100+ and 43 characters);
# a refresh token is 43 base64url characters (256 bits). Both are searched, not
# matched whole, so "next=/x?token=<jwt>" is caught too. Plain code, not a regex: the
# in-page demo API runs this on MicroPython, whose ``re`` has no counted repeats.
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_JWT_PART_MIN = 10
_REFRESH_LEN = 43


def base64url_runs(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each longest run of base64url characters in ``text``.

    >>> base64url_runs("ab.c_d?x")
    [(0, 2), (3, 6), (7, 8)]
    """
    runs, start = [], None
    for i, ch in enumerate(text):
        if ch in _BASE64URL:
            if start is None:
                start = i
        elif start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(text)))
    return runs


def looks_like_token(text: str) -> bool:
    """Whether ``text`` holds something shaped like our JWT (three parts of 10+ characters
    joined by single dots) or a refresh token (a run of exactly 43 characters).

    >>> looks_like_token("x=" + "a" * 12 + "." + "b" * 10 + "." + "c" * 10), looks_like_token("a" * 44)
    (True, False)
    """
    runs = base64url_runs(text)
    for i, (start, end) in enumerate(runs):
        if end - start == _REFRESH_LEN:
            return True
        if i + 2 < len(runs):
            (start2, end2), (start3, end3) = runs[i + 1], runs[i + 2]
            parts_long = min(end - start, end2 - start2, end3 - start3) >= _JWT_PART_MIN
            if parts_long and text[end:start2] == "." and text[end2:start3] == ".":
                return True
    return False


def query_names(query: str) -> set[str]:
    """The parameter names of a query string, decoded and lower-cased.

    Split on ``;`` as well as ``&``: some servers and proxies accept either,
    and a token must not slip through on a technicality.

    >>> sorted(query_names("a=1;Refresh%5FToken=x&b"))
    ['a', 'b', 'refresh_token']
    """
    return {unquote_plus(part.split("=", 1)[0]).strip().lower() for part in query.replace(";", "&").split("&") if part}


def token_in_query(query: str) -> bool:
    """Whether a raw query string carries a token: by parameter name or by what any part looks like.

    >>> token_in_query("ms=3500"), token_in_query("Refresh%5FToken=x")
    (False, True)
    >>> token_in_query("next=" + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg")
    True
    >>> token_in_query("q=qBJpsOVVOXGDZjM44Lf_5WCbYJIeLks4X_L7NIWZDXU")   # 43 base64url characters
    True
    """
    if TOKEN_PARAMS & query_names(query):
        return True
    # Decoded twice: a token may be percent-encoded once more inside a value ("next=%252F...").
    text = unquote_plus(unquote_plus(query))
    return looks_like_token(text)


class AuthApi:
    """The reference auth API of contract section 3."""

    def __init__(self, settings: Settings, store: Store | AsyncStore, handlers: Handlers) -> None:
        self.settings = settings
        self.store = store
        self.handlers = handlers
        h = handlers
        self._routes: dict[str, dict[str, Endpoint]] = {
            "login": {"POST": h.login},
            "refresh_token": {"POST": h.refresh_token},
            "logout": {"POST": h.logout},
            "me": {"GET": h.me},
            "info": {"GET": h.info},
            "slow": {"GET": h.slow},
            "openapi.json": {"GET": h.openapi},
        }

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        store: Store | None = None,
        passwords: PasswordChecker | None = None,
        signer: AccessTokenSigner | None = None,
        offload: Offload | None = None,
        background: Offload | None = None,
    ) -> AuthApi:
        """Open the store (``settings.db_path`` unless ``store`` is given) and hash the users.

        ``settings.db_path`` is an SQLite file, or a ``postgresql://`` URL: then the store is
        :class:`~authapi.pg_store.PgStore` (migrated here, its pool opened in the loop that
        serves; close with :meth:`aclose` there) and the login limits are counted in the
        database, so several servers on it are one API.

        ``clock`` (seconds since the epoch) and ``sleep`` are the only ways
        the API reads time, so tests can move it. ``store``, ``passwords``
        and ``signer`` replace the SQLite store, the argon2 accounts and the
        PyJWT signer (an in-page demo without threads or those packages).
        ``offload`` runs store calls; default: for an SQLite file opened here
        (another process may hold its lock), inline unless the store is busy,
        then in a worker thread; inline for ``":memory:"`` or a ``store`` passed in.
        ``background`` runs the purge of dead sessions; default: ``asyncio.to_thread`` for
        an SQLite file opened here, so a large backlog never holds up the event loop;
        inline otherwise.
        """
        passwords = passwords or PasswordBook.from_users(settings.users)
        if store is None and is_postgres_url(settings.db_path):
            return cls._open_postgres(settings, str(settings.db_path), clock, sleep, passwords, signer)
        if store is None:
            from authapi.sqlite_store import SqliteStore

            sqlite = SqliteStore.open(settings.store_path())
            if str(settings.store_path()) != ":memory:":
                offload = offload or sqlite.run_without_blocking
                background = background or asyncio.to_thread
            store = sqlite
        offload = offload or inline
        background = background or inline
        try:
            access = signer or AccessTokens(store.secret("access-token-hs256"), settings.access_ttl)
            sessions = Sessions(
                store,
                access,
                refresh_key=store.secret("refresh-chain"),
                refresh_ttl=settings.refresh_ttl,
                grace=settings.refresh_grace,
                accounts=frozenset(name for name, _ in settings.users),
            )
        except BaseException:
            store.close()
            passwords.close()
            raise
        limiter = FailureLimiter(settings.max_failures, settings.failure_window)
        handlers = Handlers(settings, sessions, passwords, limiter, clock, sleep, offload, background)
        return cls(settings, store, handlers)

    @classmethod
    def _open_postgres(
        cls,
        settings: Settings,
        url: str,
        clock: Clock,
        sleep: Sleep,
        passwords: PasswordChecker,
        signer: AccessTokenSigner | None,
    ) -> AuthApi:
        """Several servers on one database are one API: the sessions, the login limits and
        both secrets (so the access-token signing key) live in the database."""
        from authapi.pg_limits import PgLimits
        from authapi.pg_store import PgStore

        try:
            pg = PgStore.connect(url)
        except BaseException:
            passwords.close()
            raise
        flows = Sessions(
            None,
            signer or AccessTokens(pg.secret("access-token-hs256"), settings.access_ttl),
            refresh_key=pg.secret("refresh-chain"),
            refresh_ttl=settings.refresh_ttl,
            grace=settings.refresh_grace,
            accounts=frozenset(name for name, _ in settings.users),
        )
        limiter = FailureLimiter(settings.max_failures, settings.failure_window)
        limits = PgLimits(pg, settings.max_failures, settings.failure_window)
        sessions = AsyncSessions(pg, flows)
        handlers = Handlers(settings, sessions, passwords, limiter, clock, sleep, awaited, awaited, limits)
        return cls(settings, pg, handlers)

    def _route(self, req: ApiRequest) -> Endpoint:
        path = req.path.lstrip("/")
        methods = self._routes.get(path)
        if methods is None and path.startswith("status/") and "/" not in path[len("status/") :]:
            code = path[len("status/") :]

            async def status(r: ApiRequest) -> ApiResponse:
                return await self.handlers.status(r, code)

            methods = {"GET": status}
        if methods is None:
            raise ApiError(404, "not_found", f"No API endpoint at '{path}'.")
        endpoint = methods.get(req.method.upper())
        if endpoint is None:
            allow = ", ".join(sorted(methods))
            raise ApiError(405, "method_not_allowed", f"'{path}' answers {allow} only.", {"allow": allow})
        return endpoint

    async def handle(self, req: ApiRequest) -> ApiResponse:
        """Answer one request (never raises for bad input).

        >>> import asyncio
        >>> api = AuthApi.open(Settings(db_path=":memory:"))
        >>> resp = asyncio.run(api.handle(ApiRequest("GET", "status/404")))
        >>> resp.status, resp.json()["error"]
        (404, 'not_found')
        >>> api.close()
        """
        try:
            if token_in_query(req.query):
                raise ApiError(400, "token_in_url", "Tokens must not travel in a URL; send them in the body or header.")
            if len(req.body) > self.settings.max_body:
                raise ApiError(
                    413, "payload_too_large", f"Request bodies are limited to {self.settings.max_body} bytes."
                )
            return await self._route(req)(req)
        except ApiError as exc:
            return exc.response()
        except StoreUnavailable as exc:
            log.warning("token store unavailable answering %s %s: %s", req.method, req.path, exc)
            return error_response(
                503, "store_unavailable", "The token store cannot be reached; try again.", {"retry-after": "1"}
            )
        except StoreBusy:
            log.warning("token store busy (locked by another process?) answering %s %s", req.method, req.path)
            return error_response(503, "store_busy", "The token store is busy; try again.", {"retry-after": "1"})
        except Exception as exc:  # named for the log: MicroPython's sys has no exc_info
            log.error("unexpected error answering %s %s", req.method, req.path, exc_info=exc)
            return error_response(500, "internal_error", "The server failed to answer; see its log.")

    def close(self) -> None:
        """Release the store and the hashing threads."""
        self.handlers.close()
        self.store.close()

    async def aclose(self) -> None:
        """:meth:`close`, and a store's connections that belong to the running loop (PostgreSQL)."""
        purging = self.handlers.purging
        self.handlers.close()
        if purging is not None and not purging.done():
            purging.cancel()
        aclose = getattr(self.store, "aclose", None)
        if aclose is not None:
            await aclose()
        self.store.close()
