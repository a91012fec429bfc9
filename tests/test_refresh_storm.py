"""Refresh storms against the real ``serve.py`` (issue 11, item 4): 100 concurrent requests,
inside the refresh window and after an injected 401, make exactly one refresh call and all
succeed. CPython, the async client over httpx; no timings (``bench/client_bench.py`` has them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.serverproc import ServerProcess
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.cookies import MemoryCookieJar, assignment
from tokensession.errors import NetworkError
from tokensession.http import Request, Response

STORM = 100


class HttpxTransport:
    """The ``Transport`` seam over ``httpx.AsyncClient``, counting calls by path."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.counts: dict[str, int] = {}

    async def send(self, request: Request) -> Response:
        self.counts[request.path] = self.counts.get(request.path, 0) + 1
        try:
            r = await self.client.request(request.method, request.path, headers=request.headers, content=request.body)
        except httpx.HTTPError as exc:
            raise NetworkError(str(exc), request=request) from None
        return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(["--access-ttl", "3600", "--refresh-window", "60"]) as srv:
        yield srv


def now_ms() -> float:
    return time.time() * 1000


async def storm(server: ServerProcess, *, window_s: float, inject_401: bool) -> tuple[int, list[int], int]:
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=server.url + "api/v1/", limits=limits, timeout=30) as http:
        transport = HttpxTransport(http)
        jar = MemoryCookieJar(now_ms)
        api = ApiClient(Config(refresh_window_seconds=window_s, timeout_ms=30_000), transport, jar, now_ms)
        ended: list[str] = []
        api.hooks.on_session_end.append(ended.append)
        await api.login("demo", "demo")
        if inject_401:
            # A token the server refuses while utilTime says it is valid (R4 for every request).
            jar.write(assignment("access_token", "eyJhbGciOiJIUzI1NiJ9.e30.bad", max_age=3600))
        responses = await asyncio.gather(*(api.get("me") for _ in range(STORM)), return_exceptions=True)
        await api.settle()
        statuses = [r.status if isinstance(r, Response) else -1 for r in responses]
        return transport.counts.get("refresh_token", 0), statuses, len(ended)


def test_storm_inside_the_refresh_window_makes_one_refresh_and_all_succeed(server: ServerProcess) -> None:
    refreshes, statuses, ended = asyncio.run(storm(server, window_s=10**8, inject_401=False))
    assert statuses == [200] * STORM
    assert refreshes == 1
    assert ended == 0


def test_storm_after_a_401_makes_one_refresh_and_all_succeed(server: ServerProcess) -> None:
    refreshes, statuses, ended = asyncio.run(storm(server, window_s=60, inject_401=True))
    assert statuses == [200] * STORM
    assert refreshes == 1
    assert ended == 0


def test_storm_outside_the_window_makes_no_refresh(server: ServerProcess) -> None:
    refreshes, statuses, _ = asyncio.run(storm(server, window_s=60, inject_401=False))
    assert statuses == [200] * STORM
    assert refreshes == 0
