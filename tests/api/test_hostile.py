"""Hostile input and the API's limits, in-process: tokens in URLs, the OpenAPI description
against the handlers, the cap on ``slow``, the bounded sign-in queue, a busy store. What
goes through the store runs on each (``[sqlite]``, ``[pg]``)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from authapi import sqlite_store
from authapi.app import AuthApi

from .conftest import (
    HANG_GUARD_S,
    ROOT,
    Client,
    FakeClock,
    FakeSleep,
    SharedBook,
    make_api,
    sqlite_only,
    store_independent,
    until,
    with_lock_timeout,
)

pytestmark = pytest.mark.anyio

OPENAPI = json.loads((ROOT / "authapi" / "openapi.json").read_text())


@pytest.fixture
def api(store_api: AuthApi) -> AuthApi:
    """This module's API (and ``client``'s) on each store."""
    return store_api


# --- tokens in URLs ------------------------------------------------------------------------------


async def real_tokens(client: Client) -> dict[str, str]:
    return (await client.login()).json()


@store_independent  # the guard answers before any store is asked
@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
@pytest.mark.parametrize(
    "shape",
    ["token={}", "q={}", "next=%2Fhome%3Ft%3D{}", "a=1;b={}", "{}", "x=Bearer%20{}", "next=%252F%253Ft%253D{}"],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "me"), ("GET", "info"), ("GET", "status/404"), ("GET", "nope")])
async def test_a_real_token_anywhere_in_the_query_is_400(
    client: Client, kind: str, shape: str, method: str, path: str
) -> None:
    token = (await real_tokens(client))[kind]
    resp = await client.call(method, path, query=shape.format(token))
    assert resp.status == 400
    assert resp.json() == {"error": "token_in_url", "message": resp.json()["message"]}


@store_independent
@pytest.mark.parametrize("query", ["ms=3500", "v=1.2.3", "q=hello.world.again", "id=" + "a" * 42, "id=" + "a" * 44])
async def test_ordinary_queries_pass_the_token_guard(client: Client, query: str) -> None:
    assert (await client.call("GET", "info", query=query)).status == 200


# --- OpenAPI ---------------------------------------------------------------------------------------


def described() -> dict[str, set[str]]:
    return {path.lstrip("/"): {m.upper() for m in ops} for path, ops in OPENAPI["paths"].items()}


@store_independent
async def test_openapi_describes_every_route_and_nothing_else(api: AuthApi) -> None:
    routes = {path: set(methods) for path, methods in api._routes.items()}
    routes["status/{code}"] = {"GET"}  # routed by prefix, not in the table
    assert described() == routes


def test_openapi_error_answers_all_use_the_error_body() -> None:
    for path, ops in OPENAPI["paths"].items():
        for method, op in ops.items():
            for code, answer in op["responses"].items():
                if code.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, code)


# One request per documented answer: each documented code is produced, and each produced
# code is documented. ``setup`` prepares what the request needs (a token, failures, ...).
CODE_CASES: list[tuple[str, str, int, dict[str, Any]]] = [
    ("POST", "login", 200, {"body": {"username": "demo", "password": "demo"}}),
    ("POST", "login", 400, {"raw": b"[]"}),
    ("POST", "login", 401, {"body": {"username": "nobody", "password": "no"}}),
    ("POST", "login", 413, {"raw": b"{" + b" " * 70_000 + b"}"}),
    ("POST", "login", 429, {"setup": "ten_failures", "body": {"username": "alice", "password": "no"}}),
    ("POST", "refresh_token", 200, {"setup": "refresh_body"}),
    ("POST", "refresh_token", 400, {"body": {}}),
    ("POST", "refresh_token", 401, {"body": {"refresh_token": "unknown"}}),
    ("POST", "refresh_token", 413, {"raw": b"{" + b" " * 70_000 + b"}"}),
    ("POST", "logout", 204, {"setup": "refresh_body"}),
    ("POST", "logout", 400, {"raw": b"nope"}),
    ("POST", "logout", 413, {"raw": b"{" + b" " * 70_000 + b"}"}),
    ("GET", "me", 200, {"setup": "bearer"}),
    ("GET", "me", 400, {"query": "access_token=x"}),
    ("GET", "me", 401, {}),
    ("GET", "info", 200, {}),
    ("GET", "info", 400, {"query": "refresh_token=x"}),
    ("GET", "slow", 200, {"query": "ms=5"}),
    ("GET", "slow", 400, {"query": "ms=x"}),
    ("GET", "slow", 503, {"setup": "slow_full", "query": "ms=5"}),
    ("GET", "status/{code}", 418, {"path": "status/418"}),
    ("GET", "status/{code}", 400, {"path": "status/99"}),
    ("GET", "status/{code}", 503, {"path": "status/503"}),
    ("GET", "openapi.json", 200, {}),
    ("GET", "openapi.json", 400, {"query": "access_token=x"}),
]


def documented(path: str, method: str, code: int) -> bool:
    codes = OPENAPI["paths"]["/" + path][method.lower()]["responses"]
    return str(code) in codes or f"{str(code)[0]}XX" in codes


async def test_every_documented_answer_is_produced_and_every_produced_one_documented(
    client: Client, api: AuthApi
) -> None:
    seen: set[tuple[str, str, str]] = set()
    for method, path, want, case in CODE_CASES:
        kwargs: dict[str, Any] = {k: case[k] for k in ("raw", "query") if k in case}
        body = case.get("body")
        setup = case.get("setup")
        if setup == "ten_failures":
            for _ in range(10):
                await client.call("POST", "login", {"username": "alice", "password": "no"}, client="10.9.9.9")
            kwargs["client"] = "10.9.9.9"
        elif setup == "refresh_body":
            body = {"refresh_token": (await client.login()).json()["refresh_token"]}
        elif setup == "bearer":
            kwargs["headers"] = {"authorization": "Bearer " + (await client.login()).json()["access_token"]}
        elif setup == "slow_full":
            api.handlers._slow_calls = api.settings.max_slow_calls  # as if that many were sleeping
        resp = await client.call(method, case.get("path", path), body, **kwargs)
        api.handlers._slow_calls = 0
        assert resp.status == want, (method, path, case, resp.body[:200])
        assert documented(path, method, resp.status), (method, path, resp.status)
        if resp.status >= 400:
            assert set(resp.json()) == {"error", "message"}
        seen.add((path, method.lower(), str(want)))
    for path, ops in OPENAPI["paths"].items():
        for method, op in ops.items():
            for code in op["responses"]:
                if code.endswith("XX"):
                    assert any(p == path.lstrip("/") and c[0] == code[0] for p, _, c in seen), (path, code)
                else:
                    assert (path.lstrip("/"), method, code) in seen, (path, method, code)


@store_independent
async def test_openapi_is_served_by_the_api(client: Client) -> None:
    resp = await client.call("GET", "openapi.json")
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == OPENAPI


# --- limits ----------------------------------------------------------------------------------------


class Gate:
    """A sleep that returns only when the test opens the gate."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.waiting = 0

    async def __call__(self, seconds: float) -> None:
        self.waiting += 1
        await self.open.wait()


async def test_slow_calls_beyond_the_cap_get_503_with_retry_after(
    tmp_path: Path, password_book: SharedBook, clock: FakeClock
) -> None:
    gate = Gate()
    api = make_api(tmp_path, password_book, clock, gate, max_slow_calls=3)  # type: ignore[arg-type]
    client = Client(api)
    try:
        sleeping = [asyncio.ensure_future(client.call("GET", "slow", query="ms=60000")) for _ in range(3)]
        for _ in range(10):  # a few loop turns: each call reaches its sleep
            await asyncio.sleep(0)
        assert gate.waiting == 3
        refused = await client.call("GET", "slow", query="ms=1")
        assert refused.status == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == "too_many_slow_calls"
        gate.open.set()
        assert [r.status for r in await asyncio.gather(*sleeping)] == [200] * 3
        assert (await client.call("GET", "slow", query="ms=1")).status == 200  # the slots came back
    finally:
        api.close()


class HangingPasswords:
    """Password checks that never finish: attempts stay in flight (``in_flight`` counts them)."""

    def __init__(self) -> None:
        self.in_flight = 0

    async def check(self, username: str, password: str) -> bool:
        self.in_flight += 1
        await asyncio.Event().wait()
        return False

    def close(self) -> None:
        pass


async def test_a_sign_in_queued_behind_attempts_in_flight_gives_up_with_429(
    tmp_path: Path, store_db: Path | str, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    passwords = HangingPasswords()
    api = make_api(
        tmp_path,
        passwords,  # type: ignore[arg-type]
        clock,
        fake_sleep,
        max_failures=2,
        login_queue_seconds=0.2,
        db_path=store_db,  # in PostgreSQL the attempts in flight are rows, looked at again in turn
    )
    client = Client(api)
    try:
        stuck = [asyncio.ensure_future(client.login("demo", "guess")) for _ in range(2)]
        await until(lambda: passwords.in_flight == 2)  # both attempts are being checked
        queued = await asyncio.wait_for(client.login("demo", "guess"), 5)  # bounded: answers, does not hang
        assert queued.status == 429
        assert queued.headers["retry-after"] == "1"
        assert queued.json()["error"] == "too_many_requests"
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
    finally:
        await api.aclose()


@sqlite_only  # SQLite's write lock, its busy timeout and the store's thread lock; PostgreSQL's: below
async def test_a_store_locked_by_another_process_answers_503_without_stalling_other_calls(
    api: AuthApi, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = (await client.login()).json()["refresh_token"]
    if api.handlers.purging is not None:
        await api.handlers.purging  # the login's purge takes the store's lock too
    other = sqlite3.connect(tmp_path / "tokens.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    store: Any = api.store
    try:
        # A refresh that waits for that lock until the test says (a hang guard, not a bound).
        monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 60_000)
        waiting = asyncio.ensure_future(client.refresh(token))
        # The store's own lock is taken only by a call that waits for SQLite's: in a worker
        # thread, since the loop's own attempt gives up at once.
        await until(lambda: store._lock.locked())
        # Meanwhile the event loop is free: calls that need no store answer.
        for _ in range(3):
            assert (await client.call("GET", "info")).status == 200
            assert (await client.call("GET", "status/404")).status == 404
        assert not waiting.done() and store._lock.locked()
        other.execute("ROLLBACK")
        assert (await asyncio.wait_for(waiting, 30)).status == 200  # it waited for the lock, then went on
        token = (await waiting).json()["refresh_token"]
        # With the real timeout, a store locked for longer answers 503 and spends nothing.
        monkeypatch.undo()
        other.execute("BEGIN IMMEDIATE")
        busy = await asyncio.wait_for(client.refresh(token), 30)
        assert busy.status == 503
        assert busy.json()["error"] == "store_busy"
        assert busy.headers["retry-after"] == "1"
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert (await client.refresh(token)).status == 200  # nothing was spent by the refused call


async def lock_waiters(conn: Any) -> int:
    """Lock requests not granted yet, in the whole cluster (``pg_locks`` is read live, not
    from a snapshot of the transaction)."""
    cur = await conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
    row = await cur.fetchone()
    return int(row[0])


async def test_rows_locked_by_another_connection_answer_503_without_stalling_other_calls(
    pg_url: str, tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    # test_a_store_locked_by_another_process_answers_503_without_stalling_other_calls, in
    # PostgreSQL: another connection (an administrator's transaction left open in psql) holds
    # the row lock of every session.
    import psycopg

    # A refresh that waits for that lock until the test says (a hang guard, not a bound).
    patient = make_api(tmp_path, password_book, clock, fake_sleep, db_path=with_lock_timeout(pg_url, "60s"))
    client = Client(patient)
    other = await psycopg.AsyncConnection.connect(pg_url)
    impatient: AuthApi | None = None
    try:
        grant = (await client.login()).json()
        token = grant["refresh_token"]
        if patient.handlers.purging is not None:
            await patient.handlers.purging  # the login's purge: done with the store
        await other.execute("SELECT id FROM pyauth_families FOR UPDATE")
        waiting = asyncio.ensure_future(client.refresh(token))
        async with asyncio.timeout(HANG_GUARD_S):
            # Polled: the state is the database server's, with nothing to await.
            while not await lock_waiters(other):  # noqa: ASYNC110  (until the refresh waits for the row)
                await asyncio.sleep(0.005)
        # Meanwhile the event loop is free: calls that need no store answer, and so do reads.
        for _ in range(3):
            assert (await client.call("GET", "info")).status == 200
            assert (await client.call("GET", "status/404")).status == 404
            assert (await client.me(grant["access_token"])).status == 200
        assert not waiting.done()
        await other.rollback()
        assert (await asyncio.wait_for(waiting, 30)).status == 200  # it waited for the lock, then went on
        token = (await waiting).json()["refresh_token"]
        # With a lock_timeout (here 100 ms; pg_store.LOCK_TIMEOUT_MS unless the URL sets one),
        # rows locked for longer answer 503.
        impatient = make_api(tmp_path, password_book, clock, fake_sleep, db_path=with_lock_timeout(pg_url, "100ms"))
        await other.execute("SELECT id FROM pyauth_families FOR UPDATE")
        busy = await asyncio.wait_for(Client(impatient).refresh(token), 30)
        assert busy.status == 503
        assert busy.json()["error"] == "store_busy"
        assert busy.headers["retry-after"] == "1"
        await other.rollback()
        assert (await client.refresh(token)).status == 200  # nothing was spent by the refused call
    finally:
        await other.close()
        if impatient is not None:
            await impatient.aclose()
        await patient.aclose()
