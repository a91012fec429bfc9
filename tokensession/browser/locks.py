"""A refresh lock shared by every tab of the origin: the Web Locks API (R1, R7).

``async with WebLock("tokensession-refresh"):`` holds ``navigator.locks`` lock of that
name until the block ends, so two tabs never refresh at once; the client
re-reads the cookies once it holds the lock and skips a refresh another tab
has just made. Where Web Locks are missing (an insecure context), an
in-process ``asyncio.Lock`` keeps at least one tab single-flight.

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
        return self

    async def wait_idle(self) -> None:
        """Return once no tab holds the lock (at once when none does): a shared request
        is granted only after the exclusive holder, another tab's refresh, is done."""
        if not self._supported:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def granted(_lock: Any) -> None:
            if not done.done():
                done.set_result(None)

        window.navigator.locks.request(self.name, to_js({"mode": "shared"}), create_once_callable(granted))
        await done

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
        self._local.release()
