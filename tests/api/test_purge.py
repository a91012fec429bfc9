"""The purge of dead sessions: bounded batches, each its own transaction, run beside the requests.
When a login starts one runs on each store (``[sqlite]``, ``[pg]``)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from authapi.app import AuthApi
from authapi.kvstore import KvStore, MemoryKeyValue
from authapi.sessions import PURGE_EVERY_MS, Sessions
from authapi.sqlite_store import SqliteStore
from authapi.store import Family, RefreshToken

from .conftest import T0, Client

NOW_MS = int(T0 * 1000)


def add_dead_families(store: Any, count: int, *, live: int = 0) -> None:
    """``count`` expired families (a token each) and ``live`` ones."""
    with store.transaction() as tx:
        for i in range(count):
            tx.add_family(Family(f"dead{i:05}", "demo", 0, NOW_MS - 1))
            tx.add_token(RefreshToken(f"t{i}".encode(), f"dead{i:05}", 0))
        for i in range(live):
            tx.add_family(Family(f"live{i}", "demo", 0, NOW_MS + 3_600_000))


def count_families(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM families").fetchone()[0])


@pytest.mark.parametrize("make_store", [lambda: SqliteStore.open(":memory:"), lambda: KvStore(MemoryKeyValue())])
def test_one_purge_statement_forgets_at_most_its_limit(make_store: Any) -> None:
    store = make_store()
    add_dead_families(store, 25, live=3)
    with store.transaction() as tx:
        assert tx.purge(NOW_MS, keep_revoked_ms=0, limit=10) == 10
    with store.transaction() as tx:
        assert tx.purge(NOW_MS, keep_revoked_ms=0, limit=None) == 15
        assert tx.family("live0") is not None
        assert tx.token(b"t0") is None  # the tokens go with their family


class CountingStore:
    """A store that counts its transactions and how many families each purge forgot."""

    def __init__(self, inner: SqliteStore) -> None:
        self.inner = inner
        self.purged_per_transaction: list[int] = []

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.inner.transaction() as tx:
            real = tx.purge

            def purge(*args: Any) -> int:
                n = real(*args)
                self.purged_per_transaction.append(n)
                return n

            tx.purge = purge  # type: ignore[method-assign]
            yield tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_purge_works_in_batches_of_one_transaction_each() -> None:
    store = CountingStore(SqliteStore.open(":memory:"))
    add_dead_families(store, 95, live=5)
    sessions = Sessions(store, None, b"k", refresh_ttl=60, grace=0)  # type: ignore[arg-type]
    assert sessions.purge(T0, batch=10) == 95
    assert store.purged_per_transaction == [10] * 9 + [5]
    assert not sessions.purge_due(T0)
    with store.read() as tx:
        assert tx.family("live4") is not None


def test_a_purge_stops_at_its_cap_and_is_due_again_for_the_rest() -> None:
    store = CountingStore(SqliteStore.open(":memory:"))
    add_dead_families(store, 50)
    sessions = Sessions(store, None, b"k", refresh_ttl=60, grace=0)  # type: ignore[arg-type]
    assert sessions.purge(T0, batch=10, max_batches=2) == 20
    assert sessions.purge_due(T0)  # 30 left: the next login goes on
    assert sessions.purge(T0, batch=10) == 30
    assert not sessions.purge_due(T0)


def test_a_purge_stops_between_batches_when_told_to() -> None:
    store = CountingStore(SqliteStore.open(":memory:"))
    add_dead_families(store, 50)
    sessions = Sessions(store, None, b"k", refresh_ttl=60, grace=0)  # type: ignore[arg-type]
    assert sessions.purge(T0, stop=lambda: len(store.purged_per_transaction) == 2, batch=10) == 20


# SQLite only: there a purge is a blocking call, so it runs in a worker thread; in PostgreSQL it
# is awaited in the event loop (test_postgres.py: test_dead_sessions_are_purged_from_the_database).
@pytest.mark.anyio
async def test_a_login_purges_in_a_worker_thread_while_requests_are_answered(
    api: AuthApi, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_dead_families(api.store, 300, live=2)
    sessions = api.handlers.sessions
    real_purge = sessions.purge
    purge_threads: list[int] = []
    started, release = threading.Event(), threading.Event()

    def held_purge(*args: Any) -> int:
        purge_threads.append(threading.get_ident())
        started.set()
        assert release.wait(30)  # hang guard only
        return real_purge(*args)

    monkeypatch.setattr(sessions, "purge", held_purge)
    assert (await client.login()).status == 200  # answered without waiting for the purge
    assert await asyncio.to_thread(started.wait, 30)
    # While the purge is held in its thread, the loop answers requests, the store's included.
    assert (await client.call("GET", "info")).status == 200
    assert (await client.login("alice", "wonderland")).status == 200
    assert api.handlers.purging is not None and not api.handlers.purging.done()
    release.set()
    await api.handlers.purging
    assert purge_threads and threading.get_ident() not in purge_threads
    assert count_families(tmp_path / "tokens.sqlite3") == 2 + 2  # the live ones and the two logins


@pytest.mark.anyio
async def test_logins_start_a_purge_at_most_once_an_hour(
    store_api: AuthApi, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, client = store_api, Client(store_api)
    calls: list[float] = []
    real_purge = api.handlers.sessions.purge

    def recorded(now: float, *args: Any) -> Any:  # the purge's count, or (PostgreSQL) a coroutine of it
        calls.append(now)
        return real_purge(now, *args)

    monkeypatch.setattr(api.handlers.sessions, "purge", recorded)
    for _ in range(3):
        assert (await client.login()).status == 200
    assert api.handlers.purging is not None
    await api.handlers.purging
    clock.advance(PURGE_EVERY_MS / 1000 - 1)
    assert (await client.login()).status == 200
    assert len(calls) == 1
    clock.advance(1)
    assert (await client.login()).status == 200
    await api.handlers.purging
    assert calls == [T0, T0 + PURGE_EVERY_MS / 1000]
