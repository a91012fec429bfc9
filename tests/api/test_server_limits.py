"""The server's limits through a real ``serve.py``: a store locked by another process, the
cap on ``slow``, tokens in URLs on every path."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Server, wait_until

StartServer = Callable[..., Server]


def client(server: Server, base: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=base or server.api, timeout=10, trust_env=False)


def test_a_store_locked_by_another_process_stalls_neither_requests_nor_shutdown(
    server_factory: StartServer,
) -> None:
    srv = server_factory()
    with client(srv) as c:
        token = c.post("login", json={"username": "demo", "password": "demo"}).json()["refresh_token"]
    holder = sqlite3.connect(srv.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a backup tool, a second server: it holds the write lock
    answers: list[int] = []
    sent = [0]  # refresh requests sent in full: the server has them, or will at once
    stop = threading.Event()

    def count_sent(event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            sent[0] += 1

    def refresh_in_a_loop() -> None:
        with client(srv) as c:
            while not stop.is_set():
                try:
                    resp = c.post("refresh_token", json={"refresh_token": token}, extensions={"trace": count_sent})
                except httpx.TransportError:
                    return
                answers.append(resp.status_code)

    def a_refresh_is_waiting() -> bool:
        return sent[0] > len(answers)

    background = threading.Thread(target=refresh_in_a_loop)
    background.start()
    try:
        with client(srv) as c:
            for _ in range(20):  # each round, one refresh waits out the lock (BUSY_TIMEOUT_MS)
                wait_until(a_refresh_is_waiting)
                waiting = sent[0]
                # Two calls, one after the other, both answered while that refresh is unanswered:
                # the server answers others while store calls wait for the lock.
                assert c.get("info").status_code == 200
                assert c.get("status/404").status_code == 404
                if len(answers) < waiting:
                    break
            else:
                pytest.fail(f"no two calls were answered while one refresh waited for the lock ({answers})")
        wait_until(a_refresh_is_waiting)
        srv.proc.send_signal(signal.SIGTERM)  # with a store call waiting on the lock
        code = srv.proc.wait(10)  # a hang guard: the shutdown path is what status 0 shows
    finally:
        stop.set()
        holder.execute("ROLLBACK")
        holder.close()
        background.join(10)
    assert code == 0
    assert answers and set(answers) <= {503}  # "store_busy", never a 500 or a stall


def test_slow_calls_beyond_the_cap_answer_503(server_factory: StartServer) -> None:
    srv = server_factory()
    results: list[int] = []
    ready = threading.Barrier(17)

    def sleeper() -> None:
        with client(srv) as c:
            ready.wait()  # all 16 go at once: their sleeps overlap even on a loaded machine
            results.append(c.get("slow", params={"ms": "8000"}).status_code)

    threads = [threading.Thread(target=sleeper) for _ in range(16)]
    for t in threads:
        t.start()
    ready.wait()
    with client(srv) as c:
        deadline = time.monotonic() + 20
        refused = None
        while time.monotonic() < deadline:  # until all 16 are sleeping (the cap)
            resp = c.get("slow", params={"ms": "0"})
            if resp.status_code == 503:
                refused = resp
                break
        assert refused is not None
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == "too_many_slow_calls"
    for t in threads:
        t.join(20)
    assert results.count(200) >= 15  # the sleepers themselves were served (one may have been the 17th)


def test_tokens_in_urls_are_refused_on_every_path(server_factory: StartServer) -> None:
    srv = server_factory()
    with client(srv) as c:
        grant = c.post("login", json={"username": "demo", "password": "demo"}).json()
    with client(srv, srv.base) as c:
        for path in ("", "app.css", "config.json", "pyapp.zip", "api/v1/info", "api/v2/x", "nope"):
            for token in (grant["access_token"], grant["refresh_token"]):
                resp = c.get(path, params={"next": token})
                assert resp.status_code == 400, path
                assert resp.json()["error"] == "token_in_url"
        assert c.get("app.css", params={"v": "1.2.3"}).status_code == 200
