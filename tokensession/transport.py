"""The transport seam: how one request becomes one response (or a NetworkError).

The client never touches the network itself. In the page the ``fetch``
transport (:mod:`tokensession.browser.fetch`, with an ``AbortSignal`` for the
timeout) does it; in tests and in the in-page demo API :class:`InMemoryTransport`
hands each :class:`~tokensession.http.Request` to an async handler in-process
(the reference API adapts it: ``authapi.inpage.transport_handler``)::

    transport = InMemoryTransport(handler)            # async (Request) -> Response
    response = await transport.send(Request.build("GET", "status/404", timeout_ms=1000))
    response.status      # 404

Paths are relative to the API base (``"me"``, ``"slow?ms=50"``); the
transport knows where the base is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Protocol, TypeAlias, runtime_checkable

from tokensession.cookies import CookieJar
from tokensession.errors import NetworkError, RequestTimeout
from tokensession.http import Request, Response


@runtime_checkable
class Transport(Protocol):
    """Sends one request; raises :class:`~tokensession.errors.NetworkError` or
    :class:`~tokensession.errors.RequestTimeout` (after ``request.timeout_ms``) when nothing answers.
    Any status, 4xx and 5xx included, is a :class:`Response`, never an exception.
    ``isinstance(x, Transport)`` tells an object with a ``send`` method."""

    async def send(self, request: Request) -> Response: ...


class HandlerResponse(Protocol):
    """What a handler answers: a :class:`~tokensession.http.Response`, or anything with
    the same three attributes (a server's own response type)."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes: ...


#: An API in-process: called with each request (path with its query, lower-case headers).
Handler: TypeAlias = Callable[[Request], Awaitable[HandlerResponse]]


class InMemoryTransport:
    """A transport that calls an async handler in-process with each :class:`Request`.

    The handler gets a copy of the request (a ``cookie`` header added when
    ``cookies`` is set), so what it does to it never changes ``sent``.
    ``offline = True`` simulates a dead network; ``sent`` records every request.
    ``cookies``: a jar that plays the browser's cookie store for the API's path, as
    the HttpOnly refresh mode needs: each ``Set-Cookie`` the API answers goes in,
    and its cookies go out with every request as a ``Cookie`` header. It is not
    the page's jar, so the page's code never sees those cookies (as with ``HttpOnly``).

    >>> import asyncio
    >>> async def handler(request):
    ...     return Response(204) if request.path == "me" else Response(404)
    >>> transport = InMemoryTransport(handler)
    >>> asyncio.run(transport.send(Request("GET", "me"))).status
    204
    >>> transport.offline = True  # next sends raise NetworkError
    >>> asyncio.run(transport.send(Request("GET", "me")))
    Traceback (most recent call last):
    tokensession.errors.NetworkError: the network is down (simulated)
    >>> [r.path for r in transport.sent]
    ['me', 'me']
    """

    def __init__(self, handler: Handler, *, cookies: CookieJar | None = None) -> None:
        self._handler = handler
        self.cookies = cookies
        self.offline = False
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Response:
        self.sent.append(request)
        if self.offline:
            raise NetworkError("the network is down (simulated)", request=request)
        headers = dict(request.headers)
        if self.cookies is not None and self.cookies.read():
            headers["cookie"] = self.cookies.read()
        call = replace(request, headers=headers)
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
