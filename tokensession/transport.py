"""The transport seam: how one request becomes one response (or a NetworkError).

The client never touches the network itself. In the page a ``fetch``
transport (``pyapp.browser``, with an AbortController for the timeout) does
it; in tests and in the static demo :class:`InMemoryTransport` hands the
request straight to the reference API's ``handle``::

    api = AuthApi.open(Settings(db_path=":memory:"))
    transport = InMemoryTransport(api.handle)
    response = await transport.send(Request("GET", "status/404", timeout_ms=1000))
    response.status      # 404

Paths are relative to the API base (``"me"``, ``"slow?ms=50"``); the
transport knows where the base is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tokensession.cookies import CookieJar
from tokensession.errors import NetworkError, RequestTimeout
from tokensession.http import Request, Response


class Transport(Protocol):
    """Sends one request; raises :class:`~tokensession.errors.NetworkError` or
    :class:`~tokensession.errors.RequestTimeout` (after ``request.timeout_ms``) when nothing answers.
    Any status, 4xx and 5xx included, is a :class:`Response`, never an exception."""

    async def send(self, request: Request) -> Response: ...


class HandlerResponse(Protocol):
    """What an API handler answers (``authapi.messages.ApiResponse`` has this shape)."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes: ...


Handler = Callable[[Any], Awaitable[HandlerResponse]]


@dataclass(frozen=True)
class _HandlerRequest:
    # Same fields as authapi.messages.ApiRequest: the page may run the demo
    # API without shipping authapi's own module of that name.
    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: str = "local"
    root: str = "/"
    secure: bool = False


class InMemoryTransport:
    """A transport that calls an async API handler in-process (``AuthApi.handle``).

    ``offline = True`` simulates a dead network; ``sent`` records every request.
    ``cookies``: a jar that plays the browser's cookie store for the API's path, as
    the HttpOnly refresh mode needs: each ``Set-Cookie`` the API answers goes in,
    and its cookies go out with every request as a ``Cookie`` header. It is not
    the page's jar, so the page's code never sees those cookies (as with ``HttpOnly``).

    >>> import asyncio, types
    >>> async def handler(call):  # AuthApi.handle in real use
    ...     return types.SimpleNamespace(status=204, headers={}, body=b"")
    >>> transport = InMemoryTransport(handler)
    >>> asyncio.run(transport.send(Request("GET", "me"))).status
    204
    >>> transport.offline = True  # next sends raise NetworkError
    >>> asyncio.run(transport.send(Request("GET", "me")))
    Traceback (most recent call last):
    tokensession.errors.NetworkError: the network is down (simulated)
    >>> [r.path for r in transport.sent]
    ['me', 'me']
    >>> InMemoryTransport(api.handle, cookies=MemoryCookieJar(clock_ms))  # doctest: +SKIP
    """

    def __init__(self, handler: Handler, *, client: str = "local", cookies: CookieJar | None = None) -> None:
        self._handler = handler
        self._client = client
        self.cookies = cookies
        self.offline = False
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Response:
        self.sent.append(request)
        if self.offline:
            raise NetworkError("the network is down (simulated)", request=request)
        path, _, query = request.path.partition("?")
        headers = dict(request.headers)
        if self.cookies is not None and self.cookies.read():
            headers["cookie"] = self.cookies.read()
        call = _HandlerRequest(request.method, path, query, headers, request.body, self._client)
        timeout = None if request.timeout_ms is None else request.timeout_ms / 1000
        try:
            answer = await asyncio.wait_for(self._handler(call), timeout)
        except TimeoutError:
            raise RequestTimeout(f"no answer within {request.timeout_ms} ms", request=request) from None
        except OSError as exc:
            raise NetworkError(str(exc), request=request) from exc
        answer_headers = {k.lower(): v for k, v in answer.headers.items()}
        if self.cookies is not None and "set-cookie" in answer_headers:
            self.cookies.write(answer_headers["set-cookie"])
        return Response(answer.status, answer_headers, bytes(answer.body))
