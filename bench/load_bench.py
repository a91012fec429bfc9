#!/usr/bin/env python3
"""Refresh latency under a bounded, open-loop load: p99 at a fixed arrival rate, and the knee.

    .venv/bin/python bench/load_bench.py                       # 200/s for 5 s, then the knee search
    .venv/bin/python bench/load_bench.py --rates 200 --seconds 2 --json out.json

Open loop: requests are *scheduled* at a fixed rate (one every 1/rate s) whatever the
server does, as independent users would send them; each latency is measured from the
scheduled time, so a server that falls behind is charged for the queue it builds
(no coordinated omission). A closed loop (``bench/api_bench.py``: 16 workers, each
waiting for its answer) measures throughput at saturation instead.

Every request is a real ``POST refresh_token`` rotation against the real ``serve.py``
(``--port 0``, temporary database, loopback only). Families are taken from a pool
(one request per family at a time, each presents the token it was last given);
connections are keep-alive and opened on demand up to ``--max-conns``. Each rate
is bounded by ``--seconds`` and by its request count (rate x seconds); a run never
waits more than ``--seconds`` + 10 s for stragglers. The knee is the highest rate
tried whose p99 stays under ``--target-ms``.

Not a test: numbers depend on the machine. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from api_bench import Conn, cpu_seconds, start_server  # noqa: E402

TARGET_MS = 20.0


@dataclass
class RateResult:
    rate: float  # scheduled requests per second
    requests: int
    errors: int
    achieved_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    service_p99_ms: float  # from the moment it was actually sent: the server's (and loopback's) share
    late_ms_p99: float  # how late the generator itself sent (its own scheduling lag, waits for a family)
    conns: int
    server_cpu_ms: float
    meets_target: bool


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
    3.0
    """
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


async def run_rate(port: int, pid: int, families: list[str], rate: float, seconds: float, max_conns: int) -> RateResult:
    total = max(1, int(rate * seconds))
    interval = 1.0 / rate
    idle_conns: list[Conn] = []
    opened = 0
    free_families: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(families)):
        free_families.put_nowait(i)
    conn_slots = asyncio.Semaphore(max_conns)
    latencies: list[float] = []
    service: list[float] = []
    lateness: list[float] = []
    errors = 0

    async def one(scheduled: float) -> None:
        nonlocal opened, errors
        async with conn_slots:
            family = await free_families.get()
            conn = idle_conns.pop() if idle_conns else None
            try:
                if conn is None:
                    conn = await Conn.open(port)
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
                idle_conns.append(conn)
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
            finally:
                free_families.put_nowait(family)

    server_cpu = cpu_seconds(pid)
    start = time.perf_counter() + 0.05
    tasks = []
    for n in range(total):
        at = start + n * interval
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(at)))
    _done, pending = await asyncio.wait(tasks, timeout=10 + seconds)
    for t in pending:
        t.cancel()
    errors += len(pending)
    elapsed = time.perf_counter() - start
    server_cpu = cpu_seconds(pid) - server_cpu
    for c in idle_conns:
        await c.close()
    return rate_result(rate, latencies, service, lateness, errors, elapsed, opened, server_cpu, TARGET_MS)


def rate_result(
    rate: int,
    latencies: list[float],
    service: list[float],
    lateness: list[float],
    errors: int,
    elapsed: float,
    conns: int,
    server_cpu: float,
    target_ms: float,
) -> RateResult:
    """One rate's row from its samples (seconds); ``server_cpu``: the server's CPU seconds in all."""
    latencies.sort()
    service.sort()
    lateness.sort()
    p99 = percentile(latencies, 0.99) * 1000
    return RateResult(
        rate=rate,
        requests=len(latencies),
        errors=errors,
        achieved_rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(percentile(latencies, 0.5) * 1000, 2),
        p90_ms=round(percentile(latencies, 0.9) * 1000, 2),
        p99_ms=round(p99, 2),
        max_ms=round(latencies[-1] * 1000, 2) if latencies else float("nan"),
        service_p99_ms=round(percentile(service, 0.99) * 1000, 2),
        late_ms_p99=round(percentile(lateness, 0.99) * 1000, 2),
        conns=conns,
        server_cpu_ms=round(server_cpu * 1000 / max(1, len(latencies)), 3),
        meets_target=errors == 0 and p99 < target_ms,
    )


async def bench(port: int, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    setup = await Conn.open(port)
    families = []
    for _ in range(args.families):
        status, grant = await setup.call("POST", "login", {"username": "demo", "password": "demo"})
        assert status == 200, grant
        families.append(grant["refresh_token"])
    await setup.close()
    await run_rate(port, pid, families, 100, min(1.0, args.seconds), args.max_conns)  # warm-up, not reported
    results = [await run_rate(port, pid, families, r, args.seconds, args.max_conns) for r in args.rates]
    knee = None
    if args.knee:
        # Double while the target holds, then bisect between the last good and the first bad rate.
        good = max((r.rate for r in results if r.meets_target), default=None)
        bad = min((r.rate for r in results if not r.meets_target and (good is None or r.rate > good)), default=None)
        rate = (good or args.rates[0]) * 2 if bad is None else None
        while good is None and bad is not None and bad / 2 >= args.min_rate:
            # Even the first rate missed: halve until one meets the target (or min_rate is reached).
            r = await run_rate(port, pid, families, bad / 2, args.seconds, args.max_conns)
            results.append(r)
            good, bad = (r.rate, bad) if r.meets_target else (None, r.rate)
        while bad is None and rate is not None and rate <= args.max_rate:
            r = await run_rate(port, pid, families, rate, args.seconds, args.max_conns)
            results.append(r)
            if r.meets_target:
                good, rate = rate, rate * 2
            else:
                bad = rate
        for _ in range(args.bisect if good is not None and bad is not None else 0):
            mid = round((good + bad) / 2 / 10) * 10  # type: ignore[operator]
            if mid in (good, bad):
                break
            r = await run_rate(port, pid, families, mid, args.seconds, args.max_conns)
            results.append(r)
            good, bad = (mid, bad) if r.meets_target else (good, mid)
        knee = good
    return {"results": [asdict(r) for r in results], "knee_rps": knee}


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| rate (req/s) | requests | errors | achieved req/s | p50 ms | p90 ms | p99 ms | max ms"
        " | p99 from send ms | sender lag p99 ms | conns | server CPU ms/req | p99 < 20 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in sorted(results, key=lambda r: r["rate"]):
        rows.append(
            f"| {r['rate']:g} | {r['requests']} | {r['errors']} | {r['achieved_rps']} | {r['p50_ms']} | {r['p90_ms']}"
            f" | {r['p99_ms']} | {r['max_ms']} | {r.get('service_p99_ms', '-')} | {r['late_ms_p99']} | {r['conns']}"
            f" | {r['server_cpu_ms']}"
            f" | {'yes' if r['meets_target'] else 'no'} |"
        )
    return "\n".join(rows)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start serve.py, measure, stop it; the figures as a dict (also for bench/run_all.py)."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        proc, port = start_server(args.serve, Path(tmp) / "tokens.sqlite3")
        try:
            out = asyncio.run(bench(port, proc.pid, args))
        finally:
            proc.terminate()
            proc.wait(10)
    out["meta"] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "seconds_per_rate": args.seconds,
        "families": args.families,
    }
    at_200 = next((r for r in out["results"] if r["rate"] == 200), None)
    out["p99_ms_at_200"] = at_200["p99_ms"] if at_200 else None
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=float, nargs="+", default=[200.0], help="arrival rates to measure first")
    p.add_argument("--seconds", type=float, default=5.0, help="length of each rate's run")
    p.add_argument("--families", type=int, default=16, help="token families (one login each: argon2, slow)")
    p.add_argument("--max-conns", type=int, default=64, help="connections the generator may open")
    p.add_argument("--no-knee", dest="knee", action="store_false", help="only the --rates")
    p.add_argument("--max-rate", type=float, default=3200.0, help="the knee search stops here")
    p.add_argument("--min-rate", type=float, default=25.0, help="... and here, going down")
    p.add_argument("--bisect", type=int, default=3, help="bisection steps between the last good and first bad rate")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--serve", type=Path, default=ROOT / "serve.py", help="the serve.py to measure")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = run(args)
    print(f"# {out['meta']['when']}, {out['meta']['machine']}, load average before {out['meta']['load_before']}")
    print(table(out["results"]))
    print(f"knee (highest rate with p99 < {TARGET_MS:g} ms): {out['knee_rps']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
