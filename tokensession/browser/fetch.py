"""The ``Transport`` seam over the browser's ``fetch``, with an AbortController timeout (R6).

The only place the library touches the network in the page.
"""

from __future__ import annotations

from typing import Any

from js import AbortController, Object, clearTimeout, fetch, setTimeout  # type: ignore[import-not-found]
from pyodide.ffi import JsException, create_once_callable, to_js  # type: ignore[import-not-found]

from tokensession.errors import NetworkError, RequestTimeout
from tokensession.http import Request, Response


class FetchTransport:
    """Send requests to ``base`` (a path relative to the page, e.g. ``api/v1``) with ``fetch``."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/") + "/"

    async def send(self, request: Request) -> Response:
        controller = AbortController.new()
        timed_out = False

        def abort() -> None:
            nonlocal timed_out
            timed_out = True
            controller.abort()

        timer = setTimeout(create_once_callable(abort), request.timeout_ms) if request.timeout_ms else None
        init: dict[str, Any] = {
            "method": request.method,
            "headers": request.headers,
            "signal": controller.signal,
            "credentials": "same-origin",
            "cache": "no-store",
            "redirect": "error",
        }
        if request.body:
            init["body"] = _body(request.body)
        try:
            resp = await fetch(self.base + request.path, to_js(init, dict_converter=Object.fromEntries))
            data = await resp.arrayBuffer()
        except JsException as exc:
            if timed_out:
                raise RequestTimeout(f"no answer within {request.timeout_ms} ms", request=request) from None
            raise NetworkError(f"cannot reach the server ({exc})", request=request) from None
        finally:
            if timer is not None:
                clearTimeout(timer)
        headers = {str(k).lower(): str(v) for k, v in resp.headers.entries()}
        return Response(int(resp.status), headers, bytes(data.to_bytes()))


def _body(body: bytes) -> Any:
    # JSON bodies go as text; anything else as bytes.
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return to_js(body)
