#!/usr/bin/env python3
"""Refresh storm with a hard kill: the figures behind tests/api/test_load.py.

    .venv/bin/python bench/kill_bench.py                  # 20 and 50 clients, 5 s each, then a kill -9
    .venv/bin/python bench/kill_bench.py --clients 100 --seconds 10

For each client count: starts the real ``serve.py --port 0`` (loopback only) on a
fresh database, signs that many sessions in, then every client refreshes its own
family in a closed loop (one keep-alive connection each, always the token it was
last given) for ``--seconds``. Reports refreshes/s, latency percentiles, errors,
tokens issued twice and families revoked (both must be 0). Then the same load
again, a SIGKILL half-way, a restart on the same ``--db``: how long the restart
took, and whether the store is whole and every client's last token still works.

Not a test: numbers depend on the machine. See bench/README.md.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.api.conftest import start_server  # noqa: E402
from tests.api.loadgen import LoadResult, run_load, store_state  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(label: str, clients: int, result: LoadResult, dupes: int, revoked: int) -> str:
    latencies = [ms for r in result.runs for ms in r.latencies_ms]
    errors = sum(n for status, n in result.statuses.items() if status != 200)
    return (
        f"| {label} | {clients} | {result.refreshes} | {result.refreshes / result.seconds:.0f} "
        f"| {statistics.median(latencies):.1f} | {percentile(latencies, 0.99):.1f} | {max(latencies):.1f} "
        f"| {errors} | {dupes} | {revoked} |"
    )


def rotations(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM refresh_tokens WHERE spent_ms IS NOT NULL").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        conn.close()


def storm(clients: int, seconds: float, work: Path) -> str:
    srv = start_server(work / f"storm{clients}.sqlite3", "--access-ttl", "60")
    try:
        result = run_load(srv.api, clients, seconds=seconds, max_requests=10**7)
    finally:
        srv.stop()
    tokens = result.all_tokens()
    state = store_state(srv.db)
    return row("storm", clients, result, len(tokens) - len(set(tokens)), state.revoked)


def kill_mid_load(clients: int, seconds: float, work: Path) -> list[str]:
    db = work / f"kill{clients}.sqlite3"
    srv = start_server(db, "--access-ttl", "60", "--refresh-grace", "30")
    outcome: list[LoadResult] = []
    loader = threading.Thread(target=lambda: outcome.append(run_load(srv.api, clients, seconds, 10**7)))
    loader.start()
    # Sign-ins first (argon2: seconds for many), then pull the plug half-way through the refreshes.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and rotations(db) < clients:
        time.sleep(0.05)
    time.sleep(seconds / 2)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(5)
    loader.join(60)
    result = outcome[0]
    state = store_state(db)
    started = time.monotonic()
    again = start_server(db, "--access-ttl", "60", "--refresh-grace", "30")
    restart_s = time.monotonic() - started
    try:
        with httpx.Client(base_url=again.api, timeout=10, trust_env=False) as c:
            works = sum(
                c.post("refresh_token", json={"refresh_token": r.tokens[-1]}).status_code == 200 for r in result.runs
            )
    finally:
        again.stop()
    tokens = result.all_tokens()
    lost = sum(r.in_flight is not None for r in result.runs)
    return [
        row("until kill -9", clients, result, len(tokens) - len(set(tokens)), state.revoked),
        f"\nAfter the kill: integrity_check `{state.integrity}`, {state.families} families, "
        f"{state.revoked} revoked, live tokens per family {sorted(set(state.live_per_family.values()))}; "
        f"{lost} refreshes were in flight (answers lost); restart to `Serving on` {restart_s:.2f} s; "
        f"{works}/{len(result.runs)} clients' last tokens refresh after the restart.",
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--clients", type=int, action="append", help="client counts (default 20 and 50)")
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()
    counts = args.clients or [20, 50]
    print("| phase | clients | refreshes | refreshes/s | p50 ms | p99 ms | max ms | errors | issued twice | revoked |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in counts:
            print(storm(n, args.seconds, work), flush=True)
        lines = kill_mid_load(counts[0], args.seconds, work)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
