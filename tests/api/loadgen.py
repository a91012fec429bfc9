"""A bounded refresh load on loopback: many clients, each rotating its own family.

Shared by ``tests/api/test_load.py`` (correctness) and ``bench/kill_bench.py`` (figures).
Each client signs in once, then refreshes in a closed loop, always presenting the
token it was last given, until the time or request budget runs out or the server
goes away (a transport error ends that client quietly: the kill -9 test wants that).

Given several servers (one API on one PostgreSQL), each client sends its requests to
them in turn; with ``failover`` a transport error (a killed server) sends the same token
to the next one instead of ending the client, as a client behind a load balancer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


@dataclass
class ClientRun:
    """What one client saw: every refresh token it was given, in order, and every answer."""

    tokens: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    in_flight: str | None = None  # presented when the server went away; its answer was lost
    transport_error: str | None = None
    failovers: int = 0  # requests lost to a server going away, sent again to the next one
    login_waits: int = 0  # sign-ins the limiter asked to come back later (429 + Retry-After)


@dataclass
class LoadResult:
    runs: list[ClientRun]
    seconds: float

    @property
    def refreshes(self) -> int:
        return sum(len(r.latencies_ms) for r in self.runs)

    @property
    def statuses(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for r in self.runs:
            total.update(r.statuses)
        return total

    def all_tokens(self) -> list[str]:
        return [t for r in self.runs for t in r.tokens]


async def _login(base: str, run: ClientRun) -> None:
    # Sign-ins queued behind others too long get 429 + Retry-After (a loaded machine makes the
    # password hashing slow): this client comes back as told, a few times, as a real one would.
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as c:
        for _ in range(10):
            try:
                resp = await c.post("login", json={"username": "demo", "password": "demo"})
            except httpx.TransportError as exc:
                run.transport_error = type(exc).__name__
                return
            if resp.status_code != 429 or "retry-after" not in resp.headers:
                break
            run.login_waits += 1
            await asyncio.sleep(float(resp.headers["retry-after"]))
        run.statuses[resp.status_code] += 1
        if resp.status_code == 200:
            run.tokens.append(resp.json()["refresh_token"])


async def _refresh_loop(
    bases: Sequence[str],
    run: ClientRun,
    stop_at: float,
    budget: list[int],
    first: int,
    failover: bool,
    stop: threading.Event | None,
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)  # one keep-alive connection each
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=b, timeout=10, trust_env=False, limits=limits))
            for b in bases
        ]
        turn = first
        while time.monotonic() < stop_at and budget[0] > 0 and not (stop is not None and stop.is_set()):
            budget[0] -= 1
            c = clients[turn % len(clients)]
            turn += 1
            run.in_flight = run.tokens[-1]
            sent = time.perf_counter()
            try:
                resp = await c.post("refresh_token", json={"refresh_token": run.tokens[-1]})
            except httpx.TransportError as exc:
                if failover and len(clients) > 1:
                    run.failovers += 1
                    continue
                run.transport_error = type(exc).__name__
                return
            run.latencies_ms.append((time.perf_counter() - sent) * 1000)
            run.statuses[resp.status_code] += 1
            run.in_flight = None
            if resp.status_code != 200:
                return
            run.tokens.append(resp.json()["refresh_token"])


async def _load(
    bases: Sequence[str], clients: int, seconds: float, max_requests: int, failover: bool, stop: threading.Event | None
) -> LoadResult:
    runs = [ClientRun() for _ in range(clients)]
    # Sign-ins first (argon2: not what is measured), spread over the servers too.
    await asyncio.gather(*(_login(bases[i % len(bases)], r) for i, r in enumerate(runs)))
    began = time.monotonic()
    budget = [max_requests]
    await asyncio.gather(
        *(_refresh_loop(bases, r, began + seconds, budget, i, failover, stop) for i, r in enumerate(runs) if r.tokens)
    )
    return LoadResult(runs, time.monotonic() - began)


def run_load(
    api_url: str | Sequence[str],
    clients: int = 20,
    seconds: float = 3.0,
    max_requests: int = 3000,
    failover: bool = False,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Sign ``clients`` sessions in as ``demo``, then refresh them all concurrently for
    ``seconds`` or ``max_requests`` refreshes in all, whichever comes first. ``api_url``:
    one server, or several serving one API (each client's requests go to them in turn);
    ``stop``, when set, ends the load early."""
    bases = [api_url] if isinstance(api_url, str) else list(api_url)
    return asyncio.run(_load(bases, clients, seconds, max_requests, failover, stop))


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass
class StoreState:
    integrity: str | None  # SQLite's PRAGMA integrity_check; None for PostgreSQL (it has no such check)
    families: int
    revoked: int
    live_per_family: dict[str, int]
    live_hashes: set[bytes]


def is_postgres(db: Path | str) -> bool:
    return str(db).startswith(("postgresql://", "postgres://"))


def store_rows(db: Path | str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` read straight from the store at ``db``: an SQLite file (a plain
    connection), or a ``postgresql://`` URL. Tables are named ``{families}`` and ``{tokens}``
    (``pyauth_``-prefixed in PostgreSQL)."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(str(db)) as pg:
            return list(pg.execute(sql.format(families="pyauth_families", tokens="pyauth_refresh_tokens").encode()))
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql.format(families="families", tokens="refresh_tokens")).fetchall()
    finally:
        conn.close()


def store_state(db: Path | str) -> StoreState:
    """The token store as the file (or the PostgreSQL database) holds it."""
    integrity = None
    if not is_postgres(db):
        ((integrity,),) = store_rows(db, "PRAGMA integrity_check")
    ((families, revoked),) = store_rows(db, "SELECT count(*), count(revoked_ms) FROM {families}")
    live = store_rows(
        db,
        "SELECT f.id, count(t.hash) FROM {families} f LEFT JOIN {tokens} t"
        " ON t.family_id = f.id AND t.spent_ms IS NULL GROUP BY f.id",
    )
    hashes = {bytes(h) for (h,) in store_rows(db, "SELECT hash FROM {tokens} WHERE spent_ms IS NULL")}
    return StoreState(integrity, int(families), int(revoked), dict(live), hashes)


def spent_tokens(db: Path | str) -> int:
    """How many refresh tokens were spent (rotations), in the store at ``db``."""
    ((n,),) = store_rows(db, "SELECT count(*) FROM {tokens} WHERE spent_ms IS NOT NULL")
    return int(n)
