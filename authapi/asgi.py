"""ASGI adapter: drives :meth:`AuthApi.handle <authapi.app.AuthApi.handle>` from an ASGI server.

    from starlette.routing import Mount
    Mount("/api/v1", app=asgi_app(api))

Under a Starlette ``Mount``, ``scope["path"]`` is still the full path and
``scope["root_path"]`` is the mount prefix (``/api/v1``); the API path is
what follows the prefix. Mounted at the root, ``root_path`` is empty.

The body is read in chunks and reading stops as soon as it passes the
limit (or at once when ``Content-Length`` says it will), so an oversized
upload costs at most one chunk of memory. No blocking work happens here:
password checks run in worker threads and store transactions are short.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

from authapi.app import AuthApi
from authapi.messages import ApiRequest, ApiResponse, error_response

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]


def api_path(scope: Scope) -> str:
    """The path below the mount point, without a leading slash.

    >>> api_path({"path": "/api/v1/status/404", "root_path": "/api/v1"})
    'status/404'
    """
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.removeprefix("/")


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it is known to exceed ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(send: Send, resp: ApiResponse) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers.items()]
    headers.append((b"content-length", str(len(resp.body)).encode()))
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await send({"type": "http.response.body", "body": resp.body})


def asgi_app(api: AuthApi) -> ASGIApp:
    """An ASGI 3 app answering every HTTP request with ``api.handle``."""
    limit = api.settings.max_body

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Lifespan and websockets are not ours; say so the ASGI way.
            if scope["type"] == "lifespan":
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.failed", "message": "authapi has no lifespan"})
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            # Repeated headers fold into one, as RFC 9110 5.3 allows.
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        too_big = error_response(413, "payload_too_large", f"Request bodies are limited to {limit} bytes.")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await send_response(send, too_big)
            return
        try:
            body = await read_body(receive, limit)
        except ClientGone:
            return  # nobody to answer; in particular, do not act on half a request
        if body is None:
            await send_response(send, too_big)
            return
        client = scope.get("client")
        req = ApiRequest(
            method=scope["method"],
            path=api_path(scope),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            client=str(client[0]) if client else "unknown",
            root=scope.get("root_path", "") or "/",
            secure=scope.get("scheme") == "https",
        )
        await send_response(send, await api.handle(req))

    return app
