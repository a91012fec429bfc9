"""The ``Transport`` seam over the browser's ``fetch``, with a timeout signal (R6).

The only place the library touches the network in the page. One HTTP stack:
the browser's own ``fetch``, with the body read in the same JS promise, so the
transport awaits once per request (a JS promise is awaitable in Pyodide).
Not ``pyscript.fetch``: that wrapper adds its own
response object and buys nothing here, since the transport needs the raw
``Response`` (status, every header, the body as bytes) and an ``AbortSignal``.

The timeout is ``AbortSignal.timeout(ms)``: no timer to clear and no Python
callback to proxy, so nothing leaks per request. It aborts with a
``TimeoutError`` DOMException (during the wait for headers or the body),
which tells a timeout apart from every other failure. WebKit (WebKitGTK 2.50,
so Safari) rejects the fetch with an ``AbortError`` instead of the signal's
reason: there the signal, aborted, says it timed out (nothing else aborts it).
``timeout_ms=None`` sends with no timeout; any number goes to the browser as
it is (``0`` times out at once), and one the browser refuses (negative, or
past its range) is a :class:`~tokensession.errors.NetworkError` like any other
failure to send: nothing escapes as a bare ``JsException``. ``Config`` takes 1
to 600000 ms.
"""

from __future__ import annotations

import json
from typing import Any

from pyscript import window  # type: ignore[import-not-found]
from pyscript.ffi import to_js  # type: ignore[import-not-found]

from tokensession.browser.runtime import JsException, error_name, js_call, js_function, to_bytes, uint8array
from tokensession.errors import NetworkError, RequestTimeout
from tokensession.http import Request, Response


class FetchTransport:
    """Send requests to ``base`` (a path relative to the page, e.g. ``api/v1``) with ``fetch``.

    >>> transport = FetchTransport("api/v1")                          # doctest: +SKIP
    >>> (await transport.send(Request.build("GET", "status/404"))).status   # doctest: +SKIP
    404
    """

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/") + "/"

    async def send(self, request: Request) -> Response:
        init: dict[str, Any] = {
            "method": request.method,
            "headers": request.headers,
            "credentials": "same-origin",
            "cache": "no-store",
            "redirect": "error",
        }
        if request.body:
            init["body"] = _body(request.body)
        signal = None
        try:
            if request.timeout_ms is not None:  # inside the try: AbortSignal.timeout throws on a bad delay
                signal = init["signal"] = js_call(window.AbortSignal, "timeout", request.timeout_ms)
            # One await for the answer and its body: each await of a JS promise is a trip
            # through the event loop (bench/README.md, per request).
            answer = await _fetch_all()(request.url(self.base), to_js(init))
        except JsException as exc:
            if error_name(exc) == "TimeoutError" or (signal is not None and signal.aborted):
                raise RequestTimeout(f"no answer within {request.timeout_ms} ms", request=request) from None
            raise NetworkError(f"cannot reach the server ({exc})", request=request) from None
        status, headers, data = answer[0], json.loads(str(answer[1])), answer[2]
        return Response(int(status), headers, to_bytes(data))


# fetch, then the whole body, in JavaScript: [status, headers (names lower-case, as one JSON
# text: the same on every runtime, parsed once), body bytes].
_FETCH_ALL_JS = """(url, init) => fetch(url, init).then(async (resp) =>
    [resp.status, JSON.stringify(Object.fromEntries(resp.headers)), new Uint8Array(await resp.arrayBuffer())])"""
_made: list[Any] = []


def _fetch_all() -> Any:
    """The JS helper above, made once (evaluated: PyScript, which this module needs, needs
    ``'unsafe-eval'`` in the page's CSP anyway)."""
    if not _made:
        _made.append(js_function(_FETCH_ALL_JS))
    return _made[0]


def _body(body: bytes) -> Any:
    # JSON bodies go as text; anything else as bytes (a Uint8Array).
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return uint8array(body)
