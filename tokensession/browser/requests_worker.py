"""``requests`` in a PyScript Pyodide worker, started on first use, under the page's session.

For pages whose interpreter has no ``requests`` (MicroPython): the first call starts a
named worker (PyScript ``create_named_worker``) running Pyodide, whose config installs
``requests``, ``pyodide-http`` and the ``tokensession`` wheel with micropip, all from the
page's origin. Each call then goes through :mod:`tokensession.relay`: the page's cookies
go to the worker as JSON, the cookie assignments its session wrote come back and are
applied to ``document.cookie``, unless the page's session moved on meanwhile::

    from tokensession.browser.requests_worker import RequestsWorker

    worker = RequestsWorker("requests_worker.py", "requests-worker.toml")   # starts nothing yet
    result = await worker.get("me", api_base="api/v1")                      # boots on first use
    print(result["status"], result["refreshes"], result["applied"])

The worker script exports ``run`` (``tokensession.relay.run_order_json``). A worker
without cross-origin isolation cannot reach the page's ``window``, so it sends over
``pyodide-http``'s synchronous XHR (same origin: the browser sends the API's HttpOnly
cookie in that mode, and stores what the API sets) and never touches the DOM.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pyscript import create_named_worker, window  # type: ignore[import-not-found]

from tokensession.browser.cookies import DocumentCookieJar, base_path, is_https
from tokensession.cookies import RefreshCookie
from tokensession.relay import Result, apply_result, call_order
from tokensession.sources import TokenSource


class RequestsWorker:
    """The worker, started on the first :meth:`get`; ``src`` and ``config`` resolve against
    the page (``config``: a PyScript config file naming the interpreter and packages)."""

    def __init__(self, src: str, config: str, *, name: str = "tokensession-requests") -> None:
        self.src, self.config, self.name = src, config, name
        self.boot_ms: float | None = None  # how long the start took, once it has
        self._worker: Any = None
        self._lock = asyncio.Lock()

    async def start(self) -> Any:
        """Start the worker (once; concurrent callers wait for the same start)."""
        async with self._lock:
            if self._worker is None:
                began = float(window.performance.now())
                self._worker = await create_named_worker(
                    src=absolute(self.src), name=self.name, config=absolute(self.config), type="py"
                )
                self.boot_ms = float(window.performance.now()) - began
        return self._worker

    async def get(
        self,
        path: str,
        *,
        api_base: str,
        refresh_window_seconds: float = 1800,
        timeout_ms: int = 10000,
        refresh_cookie: RefreshCookie = "js",
        source: TokenSource | None = None,
    ) -> Result:
        """``GET path`` in the worker under R1-R4 with the page's session (``path`` under
        ``api_base``, or an absolute URL; ``api_base`` relative to the page). The result is
        :func:`tokensession.relay.run_order`'s, plus ``applied``: whether the cookies it
        wrote are now the page's."""
        worker = await self.start()
        jar = DocumentCookieJar()
        base = absolute(api_base.rstrip("/") + "/")
        order = call_order(
            jar.read(),  # read after the start: the session as it is when the call goes out
            absolute(path, base),
            api_base=base,
            refresh_window_seconds=refresh_window_seconds,
            timeout_ms=timeout_ms,
            refresh_cookie=refresh_cookie,
            cookie_path=base_path(),
            secure=is_https(),
            source=source,
        )
        result: Result = json.loads(str(await worker.run(json.dumps(order))))
        result["applied"] = apply_result(result, order, jar)
        return result


def absolute(url: str, base: str | None = None) -> str:
    """``url`` against ``base`` (default: the page's address; a worker runs from a ``blob:``
    URL, against which nothing relative resolves)."""
    return str(window.URL.new(url, base or window.location.href).href)
