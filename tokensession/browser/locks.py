"""A refresh lock shared by every tab of the origin: the Web Locks API (R1, R7).

``async with WebLock("pyapp-refresh"):`` holds ``navigator.locks`` lock of that
name until the block ends, so two tabs never refresh at once; the client
re-reads the cookies once it holds the lock and skips a refresh another tab
has just made. Where Web Locks are missing (an insecure context), an
in-process ``asyncio.Lock`` keeps at least one tab single-flight.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from js import Object, Promise, navigator  # type: ignore[import-not-found]
from pyodide.ffi import create_once_callable, create_proxy, to_js  # type: ignore[import-not-found]


class WebLock:
    def __init__(self, name: str) -> None:
        self.name = name
        self._local = asyncio.Lock()
        self._release: Any = None
        self._supported = bool(getattr(navigator, "locks", None))

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
        held = Promise.new(executor_proxy)  # runs the executor at once
        executor_proxy.destroy()

        def on_grant(_lock: Any) -> Any:
            if not granted.done():
                granted.set_result(None)
            return held  # the lock is held until this promise resolves

        try:
            navigator.locks.request(self.name, create_once_callable(on_grant))
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

        navigator.locks.request(
            self.name, to_js({"mode": "shared"}, dict_converter=Object.fromEntries), create_once_callable(granted)
        )
        await done

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
        self._local.release()
