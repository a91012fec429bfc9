"""Where the async client runs its background work (a logout call, an R1 refresh, async hooks):
on the running loop, else the loop it last ran on or was given; never through the deprecated
event loop policy (Python 3.14, which Pyodide 314 runs, warns about it)."""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tokensession.client import ApiClient
from tokensession.cookies import MemoryCookieJar
from tokensession.http import Request
from tokensession.transport import InMemoryTransport

T0_MS = 1_800_000_000_000


@dataclass(frozen=True)
class Settings:
    refresh_window_seconds: float = 0
    timeout_ms: int = 1000


@dataclass
class Answer:
    status: int = 204
    headers: dict[str, str] | None = None
    body: bytes = b""

    def __post_init__(self) -> None:
        self.headers = self.headers or {}


async def answer_204(_call: Any) -> Answer:
    return Answer()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def client_and_transport(**kwargs: Any) -> tuple[ApiClient, InMemoryTransport]:
    transport = InMemoryTransport(answer_204)
    return ApiClient(Settings(), transport, MemoryCookieJar(lambda: T0_MS), lambda: T0_MS, **kwargs), transport


def sign_in(client: ApiClient) -> None:
    # A session to end, so that logout has a refresh token to send.
    client._ctx.jar.write("refresh_token=r1; Path=/")


def signed_in_client(**kwargs: Any) -> tuple[ApiClient, InMemoryTransport]:
    client, transport = client_and_transport(**kwargs)
    sign_in(client)
    return client, transport


def logout_calls(transport: InMemoryTransport) -> list[Request]:
    return [r for r in transport.sent if r.path == "logout"]


def test_sync_code_schedules_on_the_loop_given_at_construction(loop: asyncio.AbstractEventLoop) -> None:
    client, transport = signed_in_client(loop=loop)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeprecationWarning from a policy lookup
        assert client.logout() is True  # a click handler: sync code, no loop running
    assert logout_calls(transport) == []  # scheduled, not sent inline
    loop.run_until_complete(client.settle())
    assert [json.loads(r.body) for r in logout_calls(transport)] == [{"refresh_token": "r1"}]


def test_sync_code_schedules_on_the_loop_the_client_last_ran_on(loop: asyncio.AbstractEventLoop) -> None:
    client, transport = client_and_transport()
    loop.run_until_complete(client.request("GET", "status/204"))  # the client learns its loop
    sign_in(client)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.logout()
    loop.run_until_complete(client.settle())
    assert len(logout_calls(transport)) == 1


def test_with_no_loop_at_all_the_call_is_skipped_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    client, transport = signed_in_client()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert client.logout() is True  # the session still ends here
        gc.collect()
    assert transport.sent == []
    assert "no event loop" in caplog.text
    assert [w for w in caught if "never awaited" in str(w.message)] == []  # the coroutine was closed
