"""The ASGI adapter, mounted the way serve.py mounts it (Starlette ``Mount("/api/v1")``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from authapi.app import AuthApi
from authapi.asgi import api_path, asgi_app

from .conftest import store_independent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def http(store_api: AuthApi) -> AsyncIterator[httpx.AsyncClient]:
    """The API on each store, mounted (the calls below that reach no store take ``api``: SQLite)."""
    app = Starlette(routes=[Mount("/api/v1", app=asgi_app(store_api))])
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1/") as c:
        yield c


async def test_mounted_paths_reach_the_api(http: httpx.AsyncClient) -> None:
    resp = await http.post("login", json={"username": "demo", "password": "demo"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert int(resp.headers["content-length"]) == len(resp.content)
    me = await http.get("me", headers={"Authorization": f"Bearer {resp.json()['access_token']}"})
    assert me.json()["username"] == "demo"
    assert (await http.get("status/503")).status_code == 503
    assert (await http.get("nope")).json()["error"] == "not_found"


async def test_client_address_comes_from_the_scope(http: httpx.AsyncClient, store_api: AuthApi) -> None:
    for _ in range(10):
        await http.post("login", json={"username": "x", "password": "y"})
    handlers = store_api.handlers
    assert await handlers.limits.admit(["addr:192.0.2.7"], handlers.clock()) == 60  # that address is refused


@store_independent  # the token guard and slow
async def test_query_string_reaches_the_api(http: httpx.AsyncClient) -> None:
    assert (await http.get("me", params={"access_token": "abc"})).status_code == 400
    assert (await http.get("slow", params={"ms": "5"})).json() == {"slept_ms": 5}


async def test_declared_oversize_body_is_413_without_reading_it(api: AuthApi) -> None:
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    sent = await run(api, receive, headers=[(b"content-length", b"70000")])
    assert sent[0]["status"] == 413
    assert reads == 0


async def test_streamed_oversize_body_stops_being_read_past_the_limit(api: AuthApi) -> None:
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 4096, "more_body": True}  # never ends

    sent = await run(api, receive)
    assert sent[0]["status"] == 413
    assert reads == 64 * 1024 // 4096 + 1


async def test_chunked_body_at_the_limit_is_read_whole(api: AuthApi) -> None:
    chunks = iter([b'{"refresh_token":', b' "abc"}'])

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    sent = await run(api, receive, path="/refresh_token")
    assert sent[0]["status"] == 401  # parsed, then refused as unknown


async def test_lifespan_is_declined_politely(api: AuthApi) -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await asgi_app(api)({"type": "lifespan"}, receive, send)
    assert sent[0]["type"] == "lifespan.startup.failed"


@pytest.mark.parametrize(
    ("scope", "path"),
    [
        ({"path": "/api/v1/login", "root_path": "/api/v1"}, "login"),
        ({"path": "/login", "root_path": ""}, "login"),
        ({"path": "/login"}, "login"),
        ({"path": "/api/v1/status/404", "root_path": "/api/v1"}, "status/404"),
    ],
)
def test_api_path_is_relative_to_the_mount(scope: dict[str, Any], path: str) -> None:
    assert api_path(scope) == path


async def run(
    api: AuthApi, receive: Any, headers: list[tuple[bytes, bytes]] | None = None, path: str = "/login"
) -> list[MutableMapping[str, Any]]:
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1" + path,
        "root_path": "/api/v1",
        "query_string": b"",
        "headers": headers or [],
        "client": ("127.0.0.1", 1),
    }
    await asgi_app(api)(scope, receive, send)
    return sent


async def test_a_client_gone_mid_body_gets_nothing_done(api: AuthApi) -> None:
    parts: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"username": "demo", ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    messages = iter(parts)

    async def receive() -> dict[str, Any]:
        return next(messages)

    assert await run(api, receive) == []
