#!/usr/bin/env python3
"""API throughput: login, refresh and ``me`` against a real ``serve.py``, on loopback.

    .venv/bin/python bench/api_bench.py                 # defaults below, about a minute
    .venv/bin/python bench/api_bench.py --concurrency 8 --me 5000 --json out.json

Starts ``serve.py --port 0`` on a temporary database, then for each call runs
a bounded closed-loop load: ``--concurrency`` workers, each on its own
keep-alive connection, send one request, wait for the answer, send the next,
until the scenario's request count or ``--max-seconds`` is reached.
Throughput is answered requests / wall time; latencies are per request.

The load generator is this process (asyncio, a minimal HTTP/1.1 client on raw
streams, so that it costs the two cores as little as possible); the server is
the other. Server memory is read from ``/proc/<pid>/status`` (VmRSS now,
VmHWM = peak). Every refresh is a real rotation: each worker has its own
family and always presents the token it was last given.

Not a test: numbers depend on the machine. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, by design


class Conn:
    """One keep-alive HTTP/1.1 connection; just enough protocol for this API."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} /api/v1/{path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(data)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        self.writer.write(head.encode() + b"\r\n" + data)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, json.loads(payload) if payload else None

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@dataclass
class Result:
    call: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms: float  # server CPU time (user+sys, all threads) per request
    client_cpu_ms: float  # this load generator's CPU time per request
    rss_mib: float
    hwm_mib: float


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Step = Callable[[Conn, int], Awaitable[bool]]


async def run_load(
    name: str, port: int, pid: int, concurrency: int, total: int, max_seconds: float, make_step: Callable[[int], Step]
) -> Result:
    """``concurrency`` workers share a budget of ``total`` requests and a deadline."""
    latencies: list[float] = []
    errors = 0
    budget = total
    conns = [await Conn.open(port) for _ in range(concurrency)]
    steps = [make_step(i) for i in range(concurrency)]
    started = time.perf_counter()
    deadline = started + max_seconds
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()

    async def worker(i: int) -> None:
        nonlocal budget, errors
        while budget > 0 and time.perf_counter() < deadline:
            budget -= 1
            t = time.perf_counter()
            ok = await steps[i](conns[i], i)
            latencies.append(time.perf_counter() - t)
            errors += not ok

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    server_cpu, client_cpu = cpu_seconds(pid) - server_cpu, time.process_time() - client_cpu
    for c in conns:
        await c.close()
    latencies.sort()
    rss, hwm = memory_mib(pid)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return Result(
        call=name,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 2),
        rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 2),
        p99_ms=round(pct(0.99), 2),
        max_ms=round(latencies[-1] * 1000, 2),
        server_cpu_ms=round(server_cpu * 1000 / len(latencies), 3),
        client_cpu_ms=round(client_cpu * 1000 / len(latencies), 3),
        rss_mib=round(rss, 1),
        hwm_mib=round(hwm, 1),
    )


async def bench(port: int, pid: int, args: argparse.Namespace) -> list[Result]:
    c = args.concurrency
    creds = {"username": "demo", "password": "demo"}
    setup = await Conn.open(port)
    status, grant = await setup.call("POST", "login", creds)
    assert status == 200, grant
    access = grant["access_token"]
    # One family per refresh worker, so every refresh is a real rotation.
    chains = []
    for _ in range(c):
        status, g = await setup.call("POST", "login", creds)
        assert status == 200, g
        chains.append(g["refresh_token"])
    for _ in range(200):  # warm-up: imports, caches, SQLite pages
        await setup.call("GET", "me", token=access)
    await setup.close()

    def info_step(_: int) -> Step:
        async def step(conn: Conn, i: int) -> bool:
            status, _ = await conn.call("GET", "info")
            return status == 200

        return step

    def me_step(_: int) -> Step:
        async def step(conn: Conn, i: int) -> bool:
            status, _ = await conn.call("GET", "me", token=access)
            return status == 200

        return step

    def refresh_step(_: int) -> Step:
        async def step(conn: Conn, i: int) -> bool:
            status, g = await conn.call("POST", "refresh_token", {"refresh_token": chains[i]})
            if status == 200:
                chains[i] = g["refresh_token"]
            return status == 200

        return step

    def login_step(_: int) -> Step:
        async def step(conn: Conn, i: int) -> bool:
            status, _ = await conn.call("POST", "login", creds)
            return status == 200

        return step

    results = []
    scenarios = [("info", args.me, info_step), ("me", args.me, me_step), ("refresh", args.refresh, refresh_step)]
    for name, total, step in scenarios:
        results.append(await run_load(name, port, pid, c, total, args.max_seconds, step))
    results.append(await run_load("login", port, pid, c, args.login, args.max_seconds, login_step))
    return results


def start_server(serve: Path, db: Path) -> tuple[subprocess.Popen[str], int]:
    cmd = [sys.executable, str(serve), "--host", HOST, "--port", "0", "--db", str(db)]
    cmd += ["--access-ttl", "3600"]  # the access token of the `me` run must outlive the run
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("Serving on "):
        proc.kill()
        raise SystemExit(f"serve.py did not start: {line}{proc.stdout.read()}")
    return proc, int(line.strip().rstrip("/").rsplit(":", 1)[1])


def table(results: list[Result], idle: tuple[float, float]) -> str:
    rows = [
        "| call | concurrency | requests | errors | req/s | p50 ms | p99 ms | max ms"
        " | server CPU ms/req | client CPU ms/req | server RSS MiB (peak) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows.append(f"| (idle, after start) | | | | | | | | | | {idle[0]:.1f} ({idle[1]:.1f}) |")
    for r in results:
        rows.append(
            f"| {r.call} | {r.concurrency} | {r.requests} | {r.errors} | {r.rps} | {r.p50_ms} | {r.p99_ms}"
            f" | {r.max_ms} | {r.server_cpu_ms} | {r.client_cpu_ms} | {r.rss_mib} ({r.hwm_mib}) |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concurrency", type=int, default=16, help="workers, one connection each")
    p.add_argument("--me", type=int, default=20000, help="GET me requests (and as many GET info, the baseline)")
    p.add_argument("--refresh", type=int, default=10000, help="POST refresh_token requests")
    p.add_argument("--login", type=int, default=100, help="POST login requests (argon2: slow on purpose)")
    p.add_argument("--max-seconds", type=float, default=30.0, help="cap on each call's run")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--serve", type=Path, default=ROOT / "serve.py", help="the serve.py to measure")
    args = p.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        proc, port = start_server(args.serve, Path(tmp) / "tokens.sqlite3")
        try:
            idle = memory_mib(proc.pid)
            results = asyncio.run(bench(port, proc.pid, args))
        finally:
            proc.terminate()
            proc.wait(10)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {machine}, load average before: {load_before:.2f}")
    print(table(results, idle))
    if args.json:
        args.json.write_text(json.dumps({"idle_mib": idle, "results": [asdict(r) for r in results]}, indent=2))
    return 0 if all(r.errors == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
