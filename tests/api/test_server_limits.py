"""The server's limits through a real ``serve.py``: a store locked by another process (an
SQLite file's write lock; PostgreSQL rows locked by another connection), the cap on
``slow``, tokens in URLs on every path."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Server, store_independent, store_maker, wait_until, with_lock_timeout
from .loadgen import is_postgres

StartServer = Callable[..., Server]


def client(server: Server, base: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=base or server.api, timeout=10, trust_env=False)


@contextlib.contextmanager
def store_locked(db: Path | str) -> Iterator[None]:
    """Another process holds the store's lock: SQLite's write lock (a backup tool, a second
    server on the file), or in PostgreSQL every session's row (an administrator's transaction
    left open in psql, a migration by hand)."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(str(db)) as pg:  # a transaction until the block ends, then rolled back
            pg.execute("SELECT id FROM pyauth_families FOR UPDATE").fetchall()
            yield
            pg.rollback()
        return
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def test_a_store_locked_by_another_process_stalls_neither_requests_nor_shutdown(
    server_factory: StartServer, store: str, request: pytest.FixtureRequest
) -> None:
    db = store_maker(request, store)("locked")
    if is_postgres(db):
        # As SQLite's busy timeout (pg_store's is longer): the refresh waiting at the SIGTERM
        # gives up inside the 1 s the server gives requests in flight.
        db = with_lock_timeout(str(db), "500ms")
    srv = server_factory(db=db)
    with client(srv) as c:
        token = c.post("login", json={"username": "demo", "password": "demo"}).json()["refresh_token"]
    answers: list[int] = []
    errors: list[str] = []  # the error of each answer ("" for none; the body if not JSON)
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
                json_body = resp.headers.get("content-type") == "application/json"
                errors.append(resp.json().get("error", "") if json_body else resp.text)

    def a_refresh_is_waiting() -> bool:
        return sent[0] > len(answers)

    background = threading.Thread(target=refresh_in_a_loop)
    with store_locked(srv.db):
        background.start()
        try:
            with client(srv) as c:
                for _ in range(20):  # each round, one refresh waits out the lock (and gives up: 503)
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
            background.join(10)
    assert code == 0
    assert answers and set(answers) <= {503}  # never a 500 or a stall
    assert set(errors) == {"store_busy"}


@store_independent
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


@store_independent  # the guard answers before any store is asked
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
