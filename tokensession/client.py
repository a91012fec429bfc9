"""The async client: an axios-like surface over :mod:`tokensession.flow`.

    api = ApiClient(config, FetchTransport(base), DocumentCookieJar(), clock_ms, cookie_path="/app/")
    api.hooks.on_session_end.append(lambda reason: go_to_login())
    api.hooks.on_error.append(lambda error: toast(toast_text(error, lang)))
    await api.login("demo", "demo")
    me = (await api.get("me")).json()
    api.logout()

What it adds to the flows: the awaiting, the one shared refresh (all
requests that need a refresh await the same task), fire-and-forget
``logout`` calls and the hooks. Every error is an :class:`~tokensession.errors.ApiError`;
``on_error`` sees each failed call once, except :class:`SessionExpired`
(reported by ``on_session_end``) and :class:`RefreshFailed` (reported by the
refresh itself, once however many requests waited on it).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any, Protocol, TypeVar

from tokensession.cookies import CookieJar, RefreshCookie, Session
from tokensession.errors import ApiError, EndReason, NetworkError, RefreshFailed, SessionExpired
from tokensession.flow import (
    Acquire,
    Command,
    EndSession,
    Flow,
    Hooks,
    Refresh,
    Refreshed,
    Release,
    Send,
    SessionContext,
    StartRefresh,
    Wait,
    end_session,
    fire_hooks,
    login_flow,
    refresh_flow,
    request_flow,
)
from tokensession.http import Request, Response
from tokensession.policy import Action, SessionPolicy
from tokensession.transport import Transport

log = logging.getLogger("tokensession.client")
T = TypeVar("T")

#: The lock that keeps refreshes one at a time: ``async with lock:``, exclusive,
#: entered many times by many tasks in turn. Default: an in-process asyncio.Lock;
#: in the page, a Web Locks one makes it hold across tabs (R7). A cross-tab lock
#: may also have ``async wait_idle()``: return once no tab holds it, so a request
#: waits for another tab's refresh and goes out with its new token; and
#: ``busy_elsewhere() -> bool``: whether another tab said it holds it now (outside
#: the refresh window, only then is ``wait_idle`` worth its round trip).
RefreshLock = AbstractAsyncContextManager[Any]


class ClientConfig(Protocol):
    """The parts of :class:`tokensession.config.Config` the client reads."""

    @property
    def refresh_window_seconds(self) -> float: ...

    @property
    def timeout_ms(self) -> int: ...


class ApiClient:
    """Calls the API under the session rules R1-R6.

    ``clock_ms`` returns ms since the epoch (the page's ``Date.now``);
    ``cookie_path`` is the app's base path and ``secure`` is true over https.
    ``refresh_cookie`` is config ``refreshCookie``: ``"httponly"`` when the API keeps the
    refresh token in its own HttpOnly cookie (``serve.py --httponly-refresh``).

    Background work (an R1 refresh, a ``logout`` call, async hooks) runs as tasks on
    one loop: ``loop`` if given, else the running loop, remembered from construction
    or from the first call, so a sync caller without a running loop (a JS callback
    under Pyodide's stack switching) still schedules on the page's loop.
    """

    def __init__(
        self,
        config: ClientConfig,
        transport: Transport,
        jar: CookieJar,
        clock_ms: Callable[[], float],
        *,
        lock: RefreshLock | None = None,
        cookie_path: str = "/",
        secure: bool = False,
        idle_warning_seconds: float = 0,
        loop: asyncio.AbstractEventLoop | None = None,
        refresh_cookie: RefreshCookie = "js",
    ) -> None:
        self.config = config
        self._loop = loop if loop is not None else _running_loop()
        self.hooks = Hooks()
        self.policy = SessionPolicy.from_seconds(config.refresh_window_seconds, idle_warning_seconds)
        self._transport = transport
        self._lock: RefreshLock = lock if lock is not None else asyncio.Lock()
        self._ctx = SessionContext(
            jar,
            clock_ms,
            self.policy,
            timeout_ms=config.timeout_ms,
            cookie_path=cookie_path,
            secure=secure,
            refreshing=self._refreshing,
            refresh_cookie=refresh_cookie,
            refresh_elsewhere=getattr(self._lock, "busy_elsewhere", _never),
        )
        self._inflight: asyncio.Task[Session] | None = None
        # A refresh that failed by a blip (R1) is tried again at _retry_at_ms, with backoff.
        self._blips = 0
        self._retry_at_ms: float | None = None
        self._retry_seen: Session | None = None  # the session the failed refresh was for
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the axios-like surface ---------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout_ms: int | None = None,
    ) -> Response:
        """Send one call; returns a response with status < 400 or raises an :class:`ApiError`.

        >>> response = await api.request("GET", "status/204", timeout_ms=2000)   # doctest: +SKIP
        """
        timeout = timeout_ms if timeout_ms is not None else self._ctx.timeout_ms
        request = Request.build(method, path, json=json, body=body, headers=headers, timeout_ms=timeout)
        try:
            return await self._drive(request_flow(self._ctx, request))
        except (SessionExpired, RefreshFailed):
            raise  # reported by on_session_end / by the refresh itself
        except ApiError as exc:
            self._fire(self.hooks.on_error, exc)
            raise

    async def get(self, path: str, **kwargs: Any) -> Response:
        """``await api.get("me")``"""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Response:
        """``await api.post("things", json={"name": "x"})``"""
        return await self.request("POST", path, json=json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> Response:
        return await self.request("PUT", path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", path, **kwargs)

    async def login(self, username: str, password: str) -> Session:
        """Sign in; the cookies then hold the session. Raises ``UnauthorizedError`` (401),
        ``HttpStatusError`` (429 carries ``Retry-After`` in ``.response.headers``) or
        ``NetworkError``; ``on_error`` is not called: the login form says what went wrong."""
        return await self._drive(login_flow(self._ctx, username, password))

    def logout(self) -> bool:
        """Sign out now: cookies cleared, ``on_session_end("logout")`` fired, the
        ``logout`` call sent in the background (``await api.settle()`` to wait for it)."""
        return self.end_session("logout")

    async def refresh(self) -> Session:
        """Refresh now (the "stay signed in" answer to an idle warning); shares a refresh in flight."""
        return await self._shared_refresh(self._ctx.observe())

    # -- the session, for the shell ------------------------------------------------------

    def session(self) -> Session:
        """What the cookies say now (for display; the client reads them again on every call)."""
        return self._ctx.read()

    def refresh_expires_at_ms(self) -> int | None:
        """When the refresh token this tab stored last expires (``refresh_expires_in`` of its
        grant), or ``None`` when this tab was not told (signed in by another tab). In the
        HttpOnly mode the page's marker says it, for every tab."""
        session = self._ctx.read()
        if session.is_empty:
            return None
        if session.refresh_marker is not None and session.refresh_marker.isdigit():
            return int(session.refresh_marker)
        return self._ctx.refresh_expires_at_ms

    def end_session(self, reason: EndReason) -> bool:
        """Clear the cookies, send ``logout`` without waiting (only if a refresh token was
        there), fire ``on_session_end(reason)`` once per session. Returns whether it fired."""
        ending = end_session(self._ctx, self.hooks, reason, self._spawn)
        if ending.logout is not None:
            self._spawn(self._quietly(ending.logout))
        return ending.announced

    def session_deadline_ms(self) -> int | None:
        """When to call :meth:`check_expiry` next (ms since the epoch); ``None``: no session."""
        session = self._ctx.read()
        return self.policy.deadline_ms(session, warned=self._warned(session), retry_at_ms=self._retry_at_ms)

    def check_expiry(self) -> bool:
        """The R2 watchdog: end the session if ``utilTime`` has passed (or the cookies vanished
        after this page saw a session, R7); fire ``on_idle_warning`` when due. Returns
        whether the session ended. Call it at :meth:`session_deadline_ms`, on focus and on
        ``visibilitychange``."""
        ctx = self._ctx
        session = ctx.read()
        action = self.policy.on_tick(
            ctx.now(),
            session,
            seen=ctx.seen,
            refreshing=self._refreshing(),
            warned=self._warned(session),
            retry_at_ms=self._retry_at_ms,
        )
        if action is Action.START_REFRESH:
            seen = self._retry_seen or session
            if session.replaced(seen):  # another tab refreshed meanwhile: nothing left to retry
                self._blips, self._retry_at_ms, self._retry_seen = 0, None, None
            elif self._background_loop() is not None:
                self._retry_at_ms = None  # set again if this one fails too
                self._refresh_task(seen)  # the lock and refresh_turn still stop a second rotation
            return False
        if action is Action.END_SESSION:
            # Cookies gone after the last utilTime this page saw: another tab's R2 got there
            # first (a sign-out elsewhere clears them before it); the same "expired" here.
            lapsed = ctx.last_util_ms is not None and ctx.now() >= ctx.last_util_ms
            self.end_session("expired" if not session.is_empty or lapsed else "elsewhere")
            return True
        if action is Action.WARN_IDLE:
            ctx.warned_for = session.util_time_ms
            self._fire(self.hooks.on_idle_warning, session.remaining_ms(ctx.now()))
        ctx.observe()
        return False

    def retry_now(self) -> bool:
        """The browser is back ``online``: a refresh waiting out a blip's backoff goes now.
        Returns whether one was waiting."""
        if self._retry_at_ms is None:
            return False
        self._retry_at_ms = self._ctx.now()
        self.check_expiry()
        return True

    def note_activity(self) -> bool:
        """User input that counts as activity (config ``activityEvents``; throttle it): inside
        the refresh window it starts the R1 refresh in the background, shared as any other.
        Returns whether it started one.

        >>> document.addEventListener("keydown", create_proxy(lambda _e: api.note_activity()))  # doctest: +SKIP
        """
        ctx = self._ctx
        session = ctx.observe()
        action = self.policy.on_activity(ctx.now(), session, refreshing=self._refreshing())
        if action is not Action.START_REFRESH or self._background_loop() is None:
            return False
        self._refresh_task(session)
        return True

    async def settle(self) -> None:
        """Wait for background work (refreshes, logout calls) to finish; for tests and shutdown."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- the driver ----------------------------------------------------------------------

    def _warned(self, session: Session) -> bool:
        return self._ctx.warned_for is not None and self._ctx.warned_for == session.util_time_ms

    def _refreshing(self) -> bool:
        return self._inflight is not None and not self._inflight.done()

    async def _drive(self, flow: Flow[T]) -> T:
        self._loop = asyncio.get_running_loop()  # the loop background work goes to
        held = False
        step: Callable[[], Command] = partial(flow.send, None)
        try:
            while True:
                try:
                    command = step()
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                if isinstance(command, Acquire):
                    await self._lock.__aenter__()
                    held = True
                elif isinstance(command, Release):
                    held = False
                    await self._lock.__aexit__(None, None, None)
                try:
                    reply = await self._perform(command)
                except ApiError as exc:
                    step = partial(flow.throw, exc)
                else:
                    step = partial(flow.send, reply)
        finally:
            if held:
                await self._lock.__aexit__(None, None, None)
            flow.close()

    async def _perform(self, command: Command) -> Any:
        if isinstance(command, Send):
            return await self._send(command.request, command.intercept)
        if isinstance(command, Refresh):
            return await self._shared_refresh(command.seen)
        if isinstance(command, StartRefresh):
            self._refresh_task(command.seen)
        elif isinstance(command, Wait) and command.elsewhere:
            wait_idle = getattr(self._lock, "wait_idle", None)  # cross-tab locks have it
            if wait_idle is not None:
                await wait_idle()
        elif isinstance(command, Wait) and self._inflight is not None:
            await asyncio.wait([self._inflight])
        elif isinstance(command, EndSession):
            self.end_session(command.reason)
        elif isinstance(command, Refreshed):
            self._fire(self.hooks.on_refresh, command.session)
        return None

    async def _send(self, request: Request, intercept: bool) -> Response | ApiError:
        try:
            if intercept:
                request = await self._intercept(self.hooks.request, request)
            response = await self._transport.send(request)
            if intercept:
                response = await self._intercept(self.hooks.response, response)
        except NetworkError as exc:
            exc.request = exc.request or request
            return exc
        return response

    @staticmethod
    async def _intercept(hooks: list[Callable[[Any], Any]], value: T) -> T:
        for hook in list(hooks):
            result = hook(value)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                value = result
        return value

    def _refresh_task(self, seen: Session) -> asyncio.Task[Session]:
        # Single flight: whoever needs a refresh while one runs joins it.
        if self._inflight is None or self._inflight.done():
            loop = self._background_loop()
            if loop is None:
                raise RuntimeError("no event loop to run the refresh on")
            task = loop.create_task(self._drive(refresh_flow(self._ctx, seen)))
            task.add_done_callback(self._refresh_done)
            self._inflight = task
            self._tasks.add(task)
        return self._inflight

    async def _shared_refresh(self, seen: Session) -> Session:
        return await asyncio.shield(self._refresh_task(seen))

    def _refresh_done(self, task: asyncio.Task[Session]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if isinstance(error, RefreshFailed):
            self._schedule_retry()
            self._fire(self.hooks.on_error, error)  # once, however many requests waited
        elif error is None and not task.cancelled():
            self._blips, self._retry_at_ms, self._retry_seen = 0, None, None

    def _schedule_retry(self) -> None:
        # A blip kept the session (R1): try again later while the token lives; the watchdog
        # (check_expiry at session_deadline_ms) runs it. After a 401 the session is already over.
        session = self._ctx.read()
        if session.is_empty or not session.has_refresh_token:
            self._blips, self._retry_at_ms, self._retry_seen = 0, None, None
            return
        self._blips += 1
        self._retry_seen = session
        self._retry_at_ms = self._ctx.now() + self.policy.retry_delay_ms(self._blips)

    async def _quietly(self, flow: Flow[None]) -> None:
        try:
            await self._drive(flow)
        except ApiError as exc:  # best effort: the session is already over here
            log.info("logout call failed: %s", exc)

    def _background_loop(self) -> asyncio.AbstractEventLoop | None:
        # The one place background work finds its loop: the running one, else the one this
        # client last ran on (a JS callback under Pyodide may run outside a running loop).
        loop = _running_loop() or self._loop
        if loop is None or loop.is_closed():
            return None
        self._loop = loop
        return loop

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        loop = self._background_loop()
        if loop is None:  # plain sync code that never ran a loop: nothing can run it
            coro.close()
            log.warning("no event loop; background call skipped")
            return
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fire(self, hooks: list[Callable[[Any], Any]], argument: Any) -> None:
        fire_hooks(hooks, argument, self._spawn)


def _never() -> bool:
    return False


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
