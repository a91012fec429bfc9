"""A refresh lock shared by every tab of the origin: the Web Locks API (R1, R7).

``async with WebLock("tokensession-refresh"):`` holds ``navigator.locks`` lock of that
name until the block ends, so two tabs never refresh at once; the client
re-reads the cookies once it holds the lock and skips a refresh another tab
has just made. Where Web Locks are missing (an insecure context), an
in-process ``asyncio.Lock`` keeps at least one tab single-flight.

Tabs also *say* when they hold it: ``"busy"`` and ``"idle"`` on the ``BroadcastChannel``
of the same name, so :meth:`WebLock.busy_elsewhere` answers at once, without asking the
lock manager. The client asks the lock manager (:meth:`WebLock.wait_idle`, a round trip
through the browser) only inside the refresh window or when another tab said it is
refreshing (policy row ``WAIT_ELSEWHERE``).

Every wait ends. A lock request can fail without ever calling back (an opaque or
sandboxed origin, a document that is not fully active, a name the browser refuses):
its own promise rejects, and this acquisition falls back to the in-process lock
with one console warning, as where Web Locks are missing. A lock that is not
granted within ``grant_timeout_ms`` is not coming (a refresh in another tab holds
it for one request and a few cookie writes): the request is withdrawn and
:class:`~tokensession.errors.RequestTimeout` raised, which the client treats as a
failed refresh attempt, never as a hang. :meth:`WebLock.wait_idle` returns in both
cases.

Proxies: the promise executor's proxy is destroyed as soon as the promise is
made (the executor runs at once); the lock callbacks are one-shot
(``runtime.once``: Pyodide's ``create_once_callable``; PyScript's ``ffi`` has no such
helper), so none outlives its lock request; one whose request was refused is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pyscript import window  # type: ignore[import-not-found]
from pyscript.ffi import create_proxy, to_js  # type: ignore[import-not-found]

from tokensession.browser.runtime import JsException, js_call, now_ms, once, release
from tokensession.errors import RequestTimeout

#: How long another tab's "busy" counts without its "idle" (a refresh times out well before).
BUSY_STALE_MS = 60_000
#: How long :class:`WebLock` waits for the lock unless told (``page_client`` derives it from ``timeoutMs``).
GRANT_TIMEOUT_MS = 30_000


def grant_timeout_ms(timeout_ms: int) -> int:
    """How long to wait for the refresh lock when requests time out after ``timeout_ms``: another
    tab holds it for one refresh request (at most ``timeout_ms``) and its cookie writes, so twice
    that and a second more means it will not come.

    >>> grant_timeout_ms(10_000)
    21000
    """
    return 2 * timeout_ms + 1000


class WebLock:
    """An async context manager holding the Web Lock ``name`` (exclusive) across tabs.

    ``grant_timeout_ms``: how long entering waits for the lock before it raises
    :class:`~tokensession.errors.RequestTimeout` (see the module's docstring).

    >>> async with WebLock("tokensession-refresh"):   # doctest: +SKIP
    ...     ...                                         # no other tab refreshes meanwhile
    """

    def __init__(self, name: str, *, grant_timeout_ms: float = GRANT_TIMEOUT_MS) -> None:
        self.name = name
        self.grant_timeout_ms = grant_timeout_ms
        self._local = asyncio.Lock()
        self._release: Any = None
        self._supported = bool(getattr(window.navigator, "locks", None))
        self._warned = False
        if not self._supported:
            self._warn("Web Locks are not available here (an insecure context?)")
        # When another tab last said "busy" (ms since the epoch; None: idle, or never heard).
        self._busy_since: float | None = None
        self._channel: Any = None
        if getattr(window, "BroadcastChannel", None) is not None:
            self._channel = window.BroadcastChannel.new(name)
            # Lives as long as the lock (the page's client): never destroyed.
            self._channel.addEventListener("message", create_proxy(self._heard))

    def _warn(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            # The console, not stderr: PyScript would print stderr into the page.
            window.console.warn(f"{why}: refreshes are one at a time in this tab only (lock {self.name!r})")

    def _heard(self, event: Any) -> None:
        if event.data == "busy":
            self._busy_since = now_ms()
        elif event.data == "idle":
            self._busy_since = None

    def busy_elsewhere(self) -> bool:
        """Whether another tab said it holds the lock (a refresh running there). A tab that
        vanished mid-refresh never says "idle": its word counts for :data:`BUSY_STALE_MS`.

        >>> lock.busy_elsewhere()   # no other tab is refreshing   # doctest: +SKIP
        False
        """
        since = self._busy_since
        return since is not None and now_ms() - since < BUSY_STALE_MS

    def _say(self, word: str) -> None:
        if self._channel is not None:
            self._channel.postMessage(word)

    async def _request(self, options: dict[str, Any], on_grant: Callable[[Any], Any]) -> tuple[str, str]:
        """Ask the lock manager: ``("granted" | "refused" | "timeout", why)`` once one is known.

        ``on_grant`` runs when the lock is granted, and may run after this gave up (a grant
        racing the timeout): it must then give the lock back at once. A request still queued
        when this gives up (timeout, cancelled) is withdrawn.
        """
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        controller = window.AbortController.new()
        called: list[bool] = []

        def callback(lock: Any) -> Any:
            called.append(True)
            if not granted.done():
                granted.set_result(None)
            return on_grant(lock)

        grant = once(callback)
        try:
            locks, opts = window.navigator.locks, to_js(dict(options, signal=controller.signal))
            promise = js_call(locks, "request", self.name, opts, grant)
        except JsException as exc:  # thrown at once rather than rejected: refused all the same
            release(grant)
            return "refused", str(exc)
        settled = asyncio.ensure_future(_settled(promise))
        settled.add_done_callback(_quiet)
        try:
            await asyncio.wait(
                {granted, settled}, timeout=self.grant_timeout_ms / 1000, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            granted.cancel()
            controller.abort()
            raise
        if granted.done():
            return "granted", ""
        granted.cancel()  # a grant after this is given straight back (``on_grant``)
        if settled.done():  # the request ended without a grant: refused
            if not called:
                release(grant)
            return "refused", str(None if settled.cancelled() else settled.exception())
        controller.abort()  # withdrawn from the queue: no grant will come
        return "timeout", f"not granted within {self.grant_timeout_ms:g} ms"

    async def __aenter__(self) -> WebLock:
        await self._local.acquire()  # one waiter per tab at the Web Lock
        if not self._supported:
            return self
        holder: dict[str, Any] = {}

        def executor(resolve: Any, _reject: Any) -> None:
            holder["resolve"] = resolve

        executor_proxy = create_proxy(executor)
        held = window.Promise.new(executor_proxy)  # runs the executor at once
        release(executor_proxy)
        given_up: list[bool] = []

        def on_grant(_lock: Any) -> Any:
            # Held until ``held`` resolves; granted after this tab gave up: released at once.
            return None if given_up else held

        try:
            outcome, why = await self._request({}, on_grant)
        except BaseException:
            given_up.append(True)
            holder["resolve"]()
            self._local.release()
            raise
        if outcome != "granted":
            given_up.append(True)
            holder["resolve"]()
        if outcome == "refused":
            self._warn(f"the Web Lock request was refused ({why})")
            return self  # this time, the in-process lock alone
        if outcome == "timeout":
            self._local.release()
            raise RequestTimeout(f"refresh lock {why}")
        self._release = holder["resolve"]
        self._say("busy")
        return self

    async def wait_idle(self) -> None:
        """Return once no tab holds the lock (at once when none does): a shared request
        is granted only after the exclusive holder, another tab's refresh, is done. Also
        returns when the lock manager refuses, or after ``grant_timeout_ms``."""
        if not self._supported:
            return
        heard = self._busy_since
        outcome, why = await self._request({"mode": "shared"}, lambda _lock: None)  # released at once
        if outcome == "refused":
            self._warn(f"the Web Lock request was refused ({why})")
        if outcome == "granted" and self._busy_since == heard:
            self._busy_since = None  # free now; a "busy" heard meanwhile is a newer refresh

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
            self._say("idle")
        self._local.release()


async def _settled(promise: Any) -> Any:
    return await promise


def _quiet(task: asyncio.Future[Any]) -> None:
    # The request's promise settles when the lock is given back, long after anyone awaits it.
    if not task.cancelled():
        task.exception()
