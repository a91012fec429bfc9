"""The endpoints of contract section 3 (plus ``GET info``), framework-free.

Each handler takes an :class:`~authapi.messages.ApiRequest` and returns an
:class:`~authapi.messages.ApiResponse` or raises
:class:`~authapi.messages.ApiError`; :class:`~authapi.app.AuthApi` routes to
them. Input is checked strictly and answered 400 with a message that says
what is wrong, because the caller is a program whose author reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

from authapi.messages import ApiError, ApiRequest, ApiResponse, json_response
from authapi.passwords import PasswordChecker
from authapi.ratelimit import FailureLimiter, LoginLimits, MemoryLimits
from authapi.refresh_cookie import clear_cookie, cookie_token, require_csrf_header, set_cookie
from authapi.sessions import AsyncSessions, Grant, SessionError, Sessions
from authapi.settings import MAX_SLOW_MS, Settings

log = logging.getLogger("authapi")

Clock: TypeAlias = Callable[[], float]
Sleep: TypeAlias = Callable[[float], Awaitable[Any]]
#: Runs a store call: ``await offload(fn, *args)``. For SQLite on disk,
#: :meth:`~authapi.sqlite_store.SqliteStore.run_without_blocking`: on the event loop when
#: the store is free at once, else in a worker thread, so a store waiting on another
#: process's lock never stalls the loop. The purge of dead sessions, which may be long,
#: runs through a second one (``background``): ``asyncio.to_thread`` for SQLite on disk.
Offload: TypeAlias = Callable[..., Awaitable[Any]]


async def inline(fn: Callable[..., Any], *args: Any) -> Any:
    """The :data:`Offload` for stores that never block (memory; the page, which has no threads)."""
    return fn(*args)


REALM = 'Bearer realm="api"'
INVALID_TOKEN = 'Bearer realm="api", error="invalid_token"'
MAX_NAME = 256
MAX_PASSWORD = 1024
MAX_TOKEN = 512


@functools.cache
def openapi_document() -> bytes:
    """The bytes of ``authapi/openapi.json``."""
    return Path(__file__).with_name("openapi.json").read_bytes()


def query_params(req: ApiRequest) -> dict[str, str]:
    """The query string as a dict (the last of repeated names wins)."""
    return dict(parse_qsl(req.query, keep_blank_values=True))


def json_body(req: ApiRequest) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says why it is not one."""
    if not req.body.strip():
        raise ApiError(400, "bad_request", "The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(req.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "The request body must be UTF-8 JSON.") from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_request", f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", f"The request body must be a JSON object, not {type(data).__name__}.")
    return data


def text_field(data: dict[str, Any], name: str, max_len: int) -> str:
    """``data[name]`` as a non-empty string of at most ``max_len`` characters, or a 400.

    >>> text_field({"username": "demo"}, "username", 8)
    'demo'
    >>> text_field({"username": 7}, "username", 8)
    Traceback (most recent call last):
    authapi.messages.ApiError: Field 'username' must be a string.
    """
    if name not in data:
        raise ApiError(400, "bad_request", f"Missing field '{name}'.")
    value = data[name]
    if not isinstance(value, str):
        raise ApiError(400, "bad_request", f"Field '{name}' must be a string.")
    if not value:
        raise ApiError(400, "bad_request", f"Field '{name}' must not be empty.")
    if len(value) > max_len:
        raise ApiError(400, "bad_request", f"Field '{name}' is longer than {max_len} characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "bad_request", f"Field '{name}' is not valid Unicode text.") from None
    return value


def bearer_token(req: ApiRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``None`` when there is none.

    A Bearer header with nothing after it counts as a presented (bad) token.
    """
    scheme, _, token = req.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


class Handlers:
    """The endpoint functions, sharing the API's parts."""

    def __init__(
        self,
        settings: Settings,
        sessions: Sessions | AsyncSessions,
        passwords: PasswordChecker,
        limiter: FailureLimiter,
        clock: Clock,
        sleep: Sleep,
        offload: Offload = inline,
        background: Offload = inline,
        limits: LoginLimits | None = None,
    ) -> None:
        """``limits``: the failed sign-in limits; by default ``limiter``'s, in this process."""
        self.settings = settings
        self.offload = offload
        self.background = background
        #: The purge of dead sessions in progress, if any (one at a time).
        self.purging: asyncio.Task[None] | None = None
        self._stop_purging = threading.Event()
        self._slow_calls = 0
        self.sessions = sessions
        self.passwords = passwords
        self.limiter = limiter
        self.limits: LoginLimits = limits or MemoryLimits(limiter)
        self.clock = clock
        self.sleep = sleep
        self._attempt_over = asyncio.Event()
        self._attempt_over_loop: asyncio.AbstractEventLoop | None = None

    async def login(self, req: ApiRequest) -> ApiResponse:
        data = json_body(req)
        username = text_field(data, "username", MAX_NAME)
        password = text_field(data, "password", MAX_PASSWORD)
        keys = [f"user:{username}", f"addr:{req.client}"]
        loop = asyncio.get_running_loop()
        queued_until = loop.time() + self.settings.login_queue_seconds
        while True:
            admitted = await self.limits.admit(keys, self.clock())
            if isinstance(admitted, int):
                raise ApiError(
                    429,
                    "too_many_requests",
                    f"Too many failed sign-ins; try again in {admitted} s.",
                    {"retry-after": str(admitted)},
                )
            if admitted is not None:
                ticket = admitted
                break
            # Attempts in flight could use up the allowance: see how they end, but not forever
            # (a flood of guesses would keep this one waiting without bound).
            left = queued_until - loop.time()
            if left <= 0:
                raise ApiError(
                    429,
                    "too_many_requests",
                    "Too many sign-ins in flight; try again in 1 s.",
                    {"retry-after": "1"},
                )
            if self.limits.poll_s is not None:  # attempts in flight on other servers say nothing here
                left = min(left, self.limits.poll_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._next_attempt_over(), left)
        ok = False
        try:
            ok = await self.passwords.check(username, password)
        finally:
            # A cancelled check counts as a failure: aborting must not be a free guess.
            try:
                await self.limits.finish(ticket, failed=not ok, now=self.clock())
            finally:
                self._attempt_over.set()
        if not ok:
            log.info("login failed for %r from %s", username, req.client)
            raise ApiError(401, "invalid_credentials", "Wrong username or password.", {"www-authenticate": REALM})
        grant = await self.offload(self.sessions.start, username, self.clock())
        self._purge_if_due()
        return self._grant_response(req, grant)

    def _purge_if_due(self) -> None:
        """Start a purge of dead sessions when one is due, beside the requests (``background``)."""
        if (self.purging is not None and not self.purging.done()) or not self.sessions.purge_due(self.clock()):
            return
        self.purging = asyncio.get_running_loop().create_task(self._purge(self.clock()))

    async def _purge(self, now: float) -> None:
        try:
            purged = await self.background(self.sessions.purge, now, self._stop_purging.is_set)
        except asyncio.CancelledError:
            self._stop_purging.set()  # the worker thread stops after its current batch
            raise
        except Exception as exc:
            if not self._stop_purging.is_set():  # once closed, the store may be gone mid-purge
                log.error("purging dead sessions failed", exc_info=exc)
            return
        log.info("purged %d dead sessions", purged)

    def close(self) -> None:
        """Stop a purge in progress after its current batch, and release the hashing threads."""
        self._stop_purging.set()
        self.passwords.close()

    def _grant_response(self, req: ApiRequest, grant: Grant) -> ApiResponse:
        """A login or refresh answer; in the HttpOnly mode the refresh token goes into
        the cookie only, never into the body (page scripts never see it)."""
        body = grant.body()
        if not self.settings.httponly_refresh:
            return json_response(200, body)
        token = body.pop("refresh_token")
        return json_response(200, body, {"set-cookie": set_cookie(req, token, max_age=grant.refresh_expires_in)})

    async def _next_attempt_over(self) -> None:
        """Until some sign-in attempt in flight finishes."""
        loop = asyncio.get_running_loop()
        # A fresh Event per wait round (and per loop: tests may run one API under several).
        if self._attempt_over.is_set() or self._attempt_over_loop is not loop:
            self._attempt_over = asyncio.Event()
            self._attempt_over_loop = loop
        await self._attempt_over.wait()

    def _presented_refresh_token(self, req: ApiRequest) -> str | None:
        """The refresh token of a ``refresh_token`` or ``logout`` call: from the JSON body,
        or in the HttpOnly mode from the cookie (the body is empty; the CSRF header is required)."""
        if not self.settings.httponly_refresh:
            return text_field(json_body(req), "refresh_token", MAX_TOKEN)
        require_csrf_header(req)
        token = cookie_token(req)
        return token if token is not None and len(token) <= MAX_TOKEN else None

    async def refresh_token(self, req: ApiRequest) -> ApiResponse:
        token = self._presented_refresh_token(req)
        try:
            if token is None:
                raise SessionError("no refresh cookie")
            grant = await self.offload(self.sessions.refresh, token, self.clock())
        except SessionError as exc:
            log.info("refresh refused: %s", exc.reason)
            headers = {"www-authenticate": INVALID_TOKEN}
            if self.settings.httponly_refresh:
                headers["set-cookie"] = clear_cookie(req)  # a dead token is not worth keeping
            raise ApiError(401, "invalid_token", "The refresh token is unknown, expired or revoked.", headers) from None
        return self._grant_response(req, grant)

    async def logout(self, req: ApiRequest) -> ApiResponse:
        token = self._presented_refresh_token(req)
        # Same answer whether the token was known: logout tells nothing.
        if token is not None:
            await self.offload(self.sessions.end, token, self.clock())
        headers = {"cache-control": "no-store"}
        if self.settings.httponly_refresh:
            headers["set-cookie"] = clear_cookie(req)
        return ApiResponse(204, headers)

    async def me(self, req: ApiRequest) -> ApiResponse:
        token = bearer_token(req)
        if token is None:
            raise ApiError(401, "unauthorized", "Sign in first: no Bearer token was sent.", {"www-authenticate": REALM})
        try:
            claims = await self.offload(self.sessions.check_access, token, self.clock())
        except SessionError:
            raise ApiError(
                401,
                "invalid_token",
                "The access token is invalid or expired.",
                {"www-authenticate": INVALID_TOKEN},
            ) from None
        return json_response(200, {"username": claims["sub"], "demo": self.settings.is_demo})

    async def info(self, req: ApiRequest) -> ApiResponse:
        """Unauthenticated facts for the login view (an addition to the contract)."""
        if not self.settings.is_demo:
            return json_response(200, {"demo": False})
        name, password = self.settings.users[0]
        return json_response(200, {"demo": True, "demo_user": name, "demo_password": password})

    async def status(self, req: ApiRequest, code_text: str) -> ApiResponse:
        code = int(code_text) if 1 <= len(code_text) <= 3 and all(c in "0123456789" for c in code_text) else -1
        if not 400 <= code <= 599:
            raise ApiError(400, "bad_request", f"status wants a code in 400..599, not {code_text!r}.")
        try:
            word = HTTPStatus(code).name.lower()
        except ValueError:
            word = "error"
        # RFC 9110 15.5.2: a 401 always names its scheme.
        headers = {"www-authenticate": REALM} if code == 401 else None
        raise ApiError(code, word, f"Status {code}, as requested.", headers)

    async def slow(self, req: ApiRequest) -> ApiResponse:
        raw = query_params(req).get("ms")
        if not raw or not all(ch in "0123456789" for ch in raw):
            raise ApiError(400, "bad_request", "slow wants ?ms=N with N a whole number of milliseconds.")
        # Huge digit strings are capped before int() (which refuses >4300 digits).
        ms = MAX_SLOW_MS if len(raw) > 6 else min(int(raw), MAX_SLOW_MS)
        # Unauthenticated and up to a minute each: a cap keeps it from holding every connection.
        if self._slow_calls >= self.settings.max_slow_calls:
            raise ApiError(
                503,
                "too_many_slow_calls",
                f"At most {self.settings.max_slow_calls} slow calls at once; try again later.",
                {"retry-after": "1"},
            )
        self._slow_calls += 1
        try:
            await self.sleep(ms / 1000)
        finally:
            self._slow_calls -= 1
        return json_response(200, {"slept_ms": ms})

    async def openapi(self, req: ApiRequest) -> ApiResponse:
        """This API described in OpenAPI 3.1 (``authapi/openapi.json``, checked against the routes by a test)."""
        try:
            document = openapi_document()
        except OSError:  # packaged without its data file (e.g. zipped for a page): say so plainly
            raise ApiError(404, "not_found", "This build of the API has no OpenAPI description.") from None
        return ApiResponse(200, {"content-type": "application/json", "cache-control": "no-cache"}, document)
