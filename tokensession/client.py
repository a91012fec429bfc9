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
from typing import Any, Protocol, TypeAlias, TypeVar

from tokensession.context import SessionContext
from tokensession.cookies import CookieJar, RefreshCookie, Session, TokenGrant
from tokensession.errors import ApiError, EndReason, NetworkError, RefreshFailed, SessionExpired, UnexpectedError
from tokensession.flow import (
    Acquire,
    Command,
    Flow,
    Release,
    Send,
    end_flow,
    login_flow,
    refresh_flow,
    request_flow,
)
from tokensession.hooks import Hooks, bind_hooks, fire_hooks
from tokensession.http import Request, Response
from tokensession.policy import Action, SessionPolicy
from tokensession.sources import TokenSource
from tokensession.state import Event
from tokensession.stepping import Stepper, run_async, run_sync
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
RefreshLock: TypeAlias = AbstractAsyncContextManager[Any]


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
    ``source`` is the kind of API (:mod:`tokensession.sources`; default: this project's).

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
        source: TokenSource | None = None,
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
            refresh_cookie=refresh_cookie,
            source=source,
            refresh_elsewhere=getattr(self._lock, "busy_elsewhere", _never),
        )
        self._ctx.state.listeners.append(bind_hooks(self.hooks, self._spawn))
        self._ctx.state.listeners.append(self._on_state)
        self._idle: asyncio.Event | None = None  # set while no refresh of ours is in flight
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
            answer = await self._run(request_flow(self._ctx, request))
        except (SessionExpired, RefreshFailed):
            raise  # reported by on_session_end / by the refresh itself
        except ApiError as exc:
            self._fire(self.hooks.on_error, exc)
            raise
        if answer.refresh_due is not None:
            self._start_refresh(answer.refresh_due)  # R1, in the background
        return answer.response

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
        return await self._run(login_flow(self._ctx, username, password))

    def logout(self) -> bool:
        """Sign out now: cookies cleared, ``on_session_end("logout")`` fired, the
        ``logout`` call sent in the background (``await api.settle()`` to wait for it)."""
        return self.end_session("logout")

    async def refresh(self) -> Session:
        """Refresh now (the "stay signed in" answer to an idle warning); shares a refresh in flight."""
        return await self._run(refresh_flow(self._ctx, self._ctx.observe()))

    async def run(self, make_flow: Callable[[SessionContext], Flow[T]]) -> T:
        """Run a flow of the caller's through this client's driver (transport, lock, timeouts):
        how a page runs :func:`tokensession.oidc.callback_flow`, which stores nothing.

        >>> got = await api.run(lambda ctx: callback_flow(ctx, source, query, pending, discovery))  # doctest: +SKIP
        """
        return await self._run(make_flow(self._ctx))

    def sign_in_with(self, grant: TokenGrant) -> Session:
        """Sign in with tokens obtained and checked elsewhere (an OpenID code exchange whose ID
        token was verified): the cookies hold the new session, which is returned."""
        return self._ctx.store(grant, Event.SIGNED_IN)

    # -- the session, for the shell ------------------------------------------------------

    @property
    def source(self) -> TokenSource:
        """The kind of API this client signs in at (for other drivers of the same page)."""
        return self._ctx.source

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
        return self._ctx.state.refresh_expires_at_ms

    def end_session(self, reason: EndReason) -> bool:
        """Clear the cookies, send ``logout`` without waiting (only if a refresh token was
        there), fire ``on_session_end(reason)`` once per session. Returns whether it fired."""
        return run_sync(end_flow(self._ctx, reason), self._perform_now, _nothing)

    def session_deadline_ms(self) -> int | None:
        """When to call :meth:`check_expiry` next (ms since the epoch); ``None``: no session."""
        session, state = self._ctx.read(), self._ctx.state
        return self.policy.deadline_ms(
            session, warned=state.warned(session), retry_at_ms=state.retry_at_ms, refreshing=state.refreshing
        )

    def check_expiry(self) -> bool:
        """The R2 watchdog: end the session if ``utilTime`` has passed (or the cookies vanished
        after this page saw a session, R7); fire ``on_idle_warning`` when due; try a refresh
        again when a blip's backoff is over. Returns whether the session ended. Call it at
        :meth:`session_deadline_ms` (after :meth:`refresh_over` when it says ``None``), on focus
        and on ``visibilitychange``."""
        return self._tick(retry_now=False)

    def retry_now(self) -> bool:
        """The browser is back ``online``: a refresh waiting out a blip's backoff goes now.
        Returns whether one was waiting."""
        if self._ctx.state.retry_at_ms is None:
            return False
        self._tick(retry_now=True)
        return True

    def note_activity(self) -> bool:
        """User input that counts as activity (config ``activityEvents``; throttle it): inside
        the refresh window it starts the R1 refresh in the background, shared as any other.
        Returns whether it started one.

        >>> document.addEventListener("keydown", create_proxy(lambda _e: api.note_activity()))  # doctest: +SKIP
        """
        ctx = self._ctx
        session = ctx.observe()
        action = self.policy.on_activity(
            ctx.now(), session, refreshing=ctx.state.refreshing, retry_at_ms=ctx.state.retry_at_ms
        )
        return action is Action.START_REFRESH and self._start_refresh(session)

    async def settle(self) -> None:
        """Wait for background work (refreshes, logout calls, async hooks) to finish, including
        work that finishing work starts; for tests and shutdown."""
        while self._tasks:
            pending = list(self._tasks)
            await asyncio.gather(*pending, return_exceptions=True)
            # Not left to the done callbacks alone: a loop may run them later than this await
            # returns (Pyodide's browser loop does), and waiting on finished tasks again would spin.
            self._tasks.difference_update(task for task in pending if task.done())

    # -- the driver ----------------------------------------------------------------------

    def _tick(self, *, retry_now: bool) -> bool:
        ctx, state = self._ctx, self._ctx.state
        session, now = ctx.read(), ctx.now()
        retry_at = now if retry_now and state.retry_at_ms is not None else state.retry_at_ms
        action = self.policy.on_tick(
            now,
            session,
            seen=state.seen,
            refreshing=state.refreshing,
            warned=state.warned(session),
            retry_at_ms=retry_at,
        )
        if action is Action.START_REFRESH:
            retry_for = state.retry_for or session
            if session.replaced(retry_for):  # another tab refreshed meanwhile: nothing left to retry
                state.process(Event.REFRESH_SETTLED, outcome=session)
            else:
                self._start_refresh(retry_for)  # the lock and refresh_turn still stop a second rotation
            return False
        if action is Action.END_SESSION:
            # Cookies gone after the last utilTime this page saw: another tab's R2 got there
            # first (a sign-out elsewhere clears them before it); the same "expired" here.
            lapsed = state.last_util_ms is not None and now >= state.last_util_ms
            self.end_session("expired" if not session.is_empty or lapsed else "elsewhere")
            return True
        if action is Action.WARN_IDLE:
            state.process(Event.WARNED, util_time_ms=session.util_time_ms, remaining_ms=session.remaining_ms(now))
        ctx.observe()
        return False

    async def _run(self, flow: Flow[T]) -> T:
        self._loop = asyncio.get_running_loop()  # the loop background work goes to
        return await run_async(Stepper(flow), self._perform, self._release)

    async def _perform(self, command: Command) -> Any:
        if isinstance(command, Send):
            if command.background:
                return self._perform_now(command)
            return await self._send(command.request, command.intercept)
        if isinstance(command, Acquire):
            await self._lock.__aenter__()
        elif isinstance(command, Release):
            await self._release()
        elif command.elsewhere:
            wait_idle = getattr(self._lock, "wait_idle", None)  # cross-tab locks have it
            if wait_idle is not None:
                await wait_idle()
        else:
            await self.refresh_over()
        return None

    def _perform_now(self, command: Command) -> None:
        # What a flow yields outside a task (end_flow from a sync call): background sends only.
        if not (isinstance(command, Send) and command.background):
            raise RuntimeError(f"{command!r} cannot be performed without awaiting")
        self._spawn(self._send_quietly(command.request))

    async def _release(self) -> None:
        await self._lock.__aexit__(None, None, None)

    async def refresh_over(self) -> None:
        """Return once no refresh of this client is in flight (at once when none is).

        Requests made meanwhile wait for it (R1), and so does a watchdog (the refresh decides
        what is due next). Bounded: the refresh itself gives up after ``timeoutMs``, twice (the
        lock, then the call); a wait that lasts longer ends with a warning logged."""
        if not self._ctx.state.refreshing:
            return
        if self._idle is None:
            self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), 2 * self._ctx.timeout_ms / 1000 + 1)
        except TimeoutError:
            log.warning("a refresh did not end within %d ms; going on without it", 2 * self._ctx.timeout_ms)

    def _on_state(self, _event: Event, _detail: dict[str, Any]) -> None:
        if self._idle is None:
            return
        if self._ctx.state.refreshing:
            self._idle.clear()
        else:
            self._idle.set()

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

    async def _send_quietly(self, request: Request) -> None:
        reply = await self._send(request, intercept=False)
        if isinstance(reply, ApiError):  # best effort: the session is already over here
            log.info("%s call failed: %s", request.path, reply)

    @staticmethod
    async def _intercept(hooks: list[Callable[[Any], Any]], value: T) -> T:
        for hook in list(hooks):
            result = hook(value)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                value = result
        return value

    def _start_refresh(self, seen: Session) -> bool:
        """Start a refresh in the background (R1), unless one of ours is in flight already."""
        loop = self._background_loop()
        if loop is None or self._ctx.state.refreshing:
            return False
        stepper = Stepper(refresh_flow(self._ctx, seen))  # marks the state refreshing at once
        self._track(loop.create_task(self._background(stepper)))
        return True

    async def _background(self, stepper: Stepper[Session]) -> None:
        try:
            await run_async(stepper, self._perform, self._release)
        except ApiError:
            pass  # SessionExpired: on_session_end has fired; RefreshFailed: on_error has
        except Exception as exc:
            # Not a failure the rules know (a bug, a raw JavaScript error): logged once, with its
            # traceback, and shown to the app so that it is never lost.
            log.error("background refresh failed unexpectedly", exc_info=exc)  # MicroPython: no sys.exc_info
            self._fire(self.hooks.on_error, UnexpectedError(exc))

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
        self._track(loop.create_task(coro))

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # An async hook that raised: logged once here (a hook never reaches on_error).
            log.error("background task failed", exc_info=task.exception())

    def _fire(self, hooks: list[Callable[[Any], Any]], argument: Any) -> None:
        fire_hooks(hooks, argument, self._spawn)


def _never() -> bool:
    return False


def _nothing() -> None:
    return None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
