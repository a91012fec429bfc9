"""A refresh lock shared by every tab of the origin: the Web Locks API (R1, R7).

``async with WebLock("tokensession-refresh"):`` holds ``navigator.locks`` lock of that
name until the block ends, so two tabs never refresh at once; the client
re-reads the cookies once it holds the lock and skips a refresh another tab
has just made. Where Web Locks are missing (an insecure context), an
in-process ``asyncio.Lock`` keeps at least one tab single-flight.

Tabs also *say* when they hold it: ``"busy"`` and ``"idle"`` on the ``BroadcastChannel``
of the same name, so :meth:`WebLock.busy_elsewhere` answers at once, without asking the
lock manager. The client asks the lock manager (:meth:`WebLock.wait_idle`, a round trip
of about 0.5 ms from Python) only inside the refresh window or when another tab said it
is refreshing (policy row ``WAIT_ELSEWHERE``).

Proxies: the promise executor's proxy is destroyed as soon as the promise is
made (the executor runs at once); the lock callbacks are one-shot
(``create_once_callable``: PyScript's ``ffi`` has no such helper), so none
outlives its lock request.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from pyodide.ffi import create_once_callable  # type: ignore[import-not-found]
from pyscript import window  # type: ignore[import-not-found]
from pyscript.ffi import create_proxy, to_js  # type: ignore[import-not-found]

#: How long another tab's "busy" counts without its "idle" (a refresh times out well before).
BUSY_STALE_MS = 60_000


class WebLock:
    """An async context manager holding the Web Lock ``name`` (exclusive) across tabs.

    >>> async with WebLock("tokensession-refresh"):   # doctest: +SKIP
    ...     ...                                         # no other tab refreshes meanwhile
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._local = asyncio.Lock()
        self._release: Any = None
        self._supported = bool(getattr(window.navigator, "locks", None))
        # When another tab last said "busy" (ms since the epoch; None: idle, or never heard).
        self._busy_since: float | None = None
        self._channel: Any = None
        if getattr(window, "BroadcastChannel", None) is not None:
            self._channel = window.BroadcastChannel.new(name)
            # Lives as long as the lock (the page's client): never destroyed.
            self._channel.addEventListener("message", create_proxy(self._heard))

    def _heard(self, event: Any) -> None:
        if event.data == "busy":
            self._busy_since = float(window.Date.now())
        elif event.data == "idle":
            self._busy_since = None

    def busy_elsewhere(self) -> bool:
        """Whether another tab said it holds the lock (a refresh running there). A tab that
        vanished mid-refresh never says "idle": its word counts for :data:`BUSY_STALE_MS`.

        >>> lock.busy_elsewhere()   # no other tab is refreshing   # doctest: +SKIP
        False
        """
        since = self._busy_since
        return since is not None and float(window.Date.now()) - since < BUSY_STALE_MS

    def _say(self, word: str) -> None:
        if self._channel is not None:
            self._channel.postMessage(word)

    async def __aenter__(self) -> WebLock:
        await self._local.acquire()  # one waiter per tab at the Web Lock
        if not self._supported:
            return self
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        holder: dict[str, Any] = {}

        def executor(resolve: Any, _reject: Any) -> None:
            holder["resolve"] = resolve

        executor_proxy = create_proxy(executor)
        held = window.Promise.new(executor_proxy)  # runs the executor at once
        executor_proxy.destroy()

        def on_grant(_lock: Any) -> Any:
            if not granted.done():
                granted.set_result(None)
            return held  # the lock is held until this promise resolves

        try:
            window.navigator.locks.request(self.name, create_once_callable(on_grant))
            await granted
        except BaseException:
            if "resolve" in holder:
                holder["resolve"]()
            self._local.release()
            raise
        self._release = holder["resolve"]
        self._say("busy")
        return self

    async def wait_idle(self) -> None:
        """Return once no tab holds the lock (at once when none does): a shared request
        is granted only after the exclusive holder, another tab's refresh, is done."""
        if not self._supported:
            return
        heard = self._busy_since
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def granted(_lock: Any) -> None:
            if not done.done():
                done.set_result(None)

        window.navigator.locks.request(self.name, to_js({"mode": "shared"}), create_once_callable(granted))
        await done
        if self._busy_since == heard:
            self._busy_since = None  # free now; a "busy" heard meanwhile is a newer refresh

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
            self._say("idle")
        self._local.release()
