#!/usr/bin/env python3
"""Refresh p99 at a bounded rate, and the knee, against 1 and 3 ``serve.py`` on one PostgreSQL,
with the SQLite store measured in the same run as the baseline.

    .venv/bin/python bench/pg_bench.py                      # 200/s, then each knee
    .venv/bin/python bench/pg_bench.py --seconds 2 --json out.json

The load is bench/load_bench.py's (open loop: requests scheduled at a fixed rate, each
latency measured from its scheduled time, so a server that falls behind pays for its
queue; families from a pool, one request per family at a time; keep-alive connections
opened on demand). Against several instances, request n goes to instance n mod N, each
instance with its own connections, as a round-robin proxy would send them (no proxy in
between: what is measured is the API and its store). PostgreSQL is a throwaway server
(tests/pgserver.py: initdb in a temp folder, ``fsync=off``, so the figures are of the
API and the database's CPU, not of a disk), on this same machine.

Not a test: numbers depend on the machine and on what else runs. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from api_bench import HOST, Conn, cpu_seconds  # noqa: E402
from load_bench import RateResult, rate_result  # noqa: E402

from tests.pgserver import PgServer  # noqa: E402

TARGET_MS = 20.0


def start(db: str) -> tuple[subprocess.Popen[str], int]:
    cmd = [sys.executable, str(ROOT / "serve.py"), "--host", HOST, "--port", "0", "--db", db, "--access-ttl", "3600"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("Serving on "):
        proc.kill()
        raise SystemExit(f"serve.py did not start: {line}{proc.stdout.read()}")
    return proc, int(line.strip().rstrip("/").rsplit(":", 1)[1])


async def run_rate(
    ports: list[int],
    pids: list[int],
    families: list[str],
    rate: float,
    seconds: float,
    max_conns: int,
    target_ms: float = TARGET_MS,
) -> RateResult:
    total = max(1, int(rate * seconds))
    interval = 1.0 / rate
    idle: list[list[Conn]] = [[] for _ in ports]
    opened = 0
    free_families: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(families)):
        free_families.put_nowait(i)
    conn_slots = asyncio.Semaphore(max_conns)
    latencies: list[float] = []
    service: list[float] = []
    lateness: list[float] = []
    errors = 0

    async def one(n: int, scheduled: float) -> None:
        nonlocal opened, errors
        which = n % len(ports)
        async with conn_slots:
            family = await free_families.get()
            conn = idle[which].pop() if idle[which] else None
            try:
                if conn is None:
                    conn = await Conn.open(ports[which])
                    opened += 1
                sent = time.perf_counter()
                lateness.append(sent - scheduled)
                status, grant = await conn.call("POST", "refresh_token", {"refresh_token": families[family]})
                done = time.perf_counter()
                latencies.append(done - scheduled)
                service.append(done - sent)
                if status == 200:
                    families[family] = grant["refresh_token"]
                else:
                    errors += 1
                idle[which].append(conn)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
            finally:
                free_families.put_nowait(family)

    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    began = time.perf_counter() + 0.05
    tasks = []
    for n in range(total):
        at = began + n * interval
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, at)))
    _done, pending = await asyncio.wait(tasks, timeout=10 + seconds)
    for t in pending:
        t.cancel()
    errors += len(pending)
    elapsed = time.perf_counter() - began
    server_cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    for conns in idle:
        for c in conns:
            await c.close()
    return rate_result(rate, latencies, service, lateness, errors, elapsed, opened, server_cpu, target_ms)


async def measure(ports: list[int], pids: list[int], args: argparse.Namespace) -> dict[str, Any]:
    families = []
    for i in range(args.families):
        setup = await Conn.open(ports[i % len(ports)])
        status, grant = await setup.call("POST", "login", {"username": "demo", "password": "demo"})
        assert status == 200, grant
        families.append(grant["refresh_token"])
        await setup.close()
    await run_rate(ports, pids, families, 100, 1.0, args.max_conns)  # warm-up, not reported

    async def at(rate: float) -> RateResult:
        return await run_rate(ports, pids, families, rate, args.seconds, args.max_conns, args.target_ms)

    results = [await at(args.rate)]
    # The knee: double while p99 < target, then bisect between the last good and the first bad rate.
    good = args.rate if results[0].meets_target else None
    bad = None if good is not None else args.rate
    while good is None and bad is not None and bad / 2 >= args.min_rate:  # even the first rate missed: go down
        results.append(r := await at(bad / 2))
        good, bad = (r.rate, bad) if r.meets_target else (None, r.rate)
    rate = args.rate * 2
    while good is not None and bad is None and rate <= args.max_rate:
        results.append(r := await at(rate))
        good, bad = (rate, None) if r.meets_target else (good, rate)
        rate *= 2
    for _ in range(args.bisect if good is not None and bad is not None else 0):
        mid = round((good + bad) / 2 / 10) * 10  # type: ignore[operator]
        if mid in (good, bad):
            break
        results.append(r := await at(mid))
        good, bad = (mid, bad) if r.meets_target else (good, mid)
    return {"results": [asdict(r) for r in results], "knee_rps": good, "p99_ms_at_rate": results[0].p99_ms}


def run_setup(name: str, dbs: list[str], args: argparse.Namespace) -> dict[str, Any]:
    procs = [start(db) for db in dbs]
    try:
        out = asyncio.run(measure([port for _, port in procs], [p.pid for p, _ in procs], args))
    finally:
        for p, _ in procs:
            p.terminate()
            p.wait(10)
    out["setup"] = name
    print(f"{name}: p99 at {args.rate:g}/s {out['p99_ms_at_rate']} ms, knee {out['knee_rps']} req/s", flush=True)
    return out


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| rate (req/s) | requests | errors | achieved req/s | p50 ms | p90 ms | p99 ms | max ms"
        " | p99 from send ms | conns | serve.py CPU ms/req | p99 under target |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in sorted(results, key=lambda r: r["rate"]):
        rows.append(
            f"| {r['rate']:g} | {r['requests']} | {r['errors']} | {r['achieved_rps']} | {r['p50_ms']} | {r['p90_ms']}"
            f" | {r['p99_ms']} | {r['max_ms']} | {r['service_p99_ms']} | {r['conns']} | {r['server_cpu_ms']}"
            f" | {'yes' if r['meets_target'] else 'no'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=200.0, help="the bounded rate whose p99 is reported")
    p.add_argument("--seconds", type=float, default=3.0, help="length of each rate's run")
    p.add_argument("--families", type=int, default=16, help="token families (one login each: argon2, slow)")
    p.add_argument("--max-conns", type=int, default=64, help="connections the generator may open")
    p.add_argument("--max-rate", type=float, default=3200.0, help="the knee search stops here")
    p.add_argument("--min-rate", type=float, default=25.0, help="... and here, going down")
    p.add_argument("--bisect", type=int, default=2, help="bisection steps between the last good and first bad rate")
    p.add_argument("--target-ms", type=float, default=TARGET_MS, help="the knee: the highest rate with p99 under this")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    load_before = os.getloadavg()
    out: dict[str, Any] = {"setups": []}
    with tempfile.TemporaryDirectory(prefix="pg-bench-") as tmp, PgServer.start() as pg:
        out["setups"].append(run_setup("sqlite, 1 instance (baseline)", [str(Path(tmp) / "t.sqlite3")], args))
        out["setups"].append(run_setup("postgresql, 1 instance", [pg.create_db("one")], args))
        three = pg.create_db("three")
        out["setups"].append(run_setup("postgresql, 3 instances", [three] * 3, args))
    out["meta"] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "seconds_per_rate": args.seconds,
        "families": args.families,
        "target_ms": args.target_ms,
        "code": subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }
    print(f"# {out['meta']['when']}, {out['meta']['machine']}, load before {out['meta']['load_before']}")
    for s in out["setups"]:
        print(f"\n{s['setup']}: p99 at {args.rate:g} req/s {s['p99_ms_at_rate']} ms; knee {s['knee_rps']} req/s")
        print(table(s["results"]))
    print(f"\nload after {out['meta']['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
