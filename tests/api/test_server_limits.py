"""The server's limits through a real ``serve.py``: a store locked by another process, the
cap on ``slow``, tokens in URLs on every path."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable

import httpx

from .conftest import Server

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

    def refresh_in_a_loop() -> None:
        with client(srv) as c:
            for _ in range(5):
                try:
                    answers.append(c.post("refresh_token", json={"refresh_token": token}).status_code)
                except httpx.TransportError:
                    return

    background = threading.Thread(target=refresh_in_a_loop)
    background.start()
    try:
        with client(srv) as c:
            deadline = time.monotonic() + 10
            while len(answers) < 2 and time.monotonic() < deadline:
                # Other calls answer while store calls wait for the lock.
                started = time.monotonic()
                assert c.get("info").status_code == 200
                assert c.get("status/404").status_code == 404
                assert time.monotonic() - started < 0.4
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)  # with a store call waiting on the lock
        code = srv.proc.wait(5)
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        background.join(10)
    assert code == 0
    assert elapsed < 2.0
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
