#!/usr/bin/env python3
"""The session client in the page: cost per request, and refresh storms (issue 11, items 3-4).

    .venv/bin/python bench/client_bench.py                     # 500 requests per variant, storms of 100
    .venv/bin/python bench/client_bench.py --blocks 2 --size 5 --storm 10 --rounds 1   # smoke size
    .venv/bin/python bench/client_bench.py --runtime micropython   # the page on MicroPython (mpy.html)

Serves ``bench/page/`` (the session library from ``pyapp.zip``, as the app loads it, plus
``raw.js``) from ``serve.py``'s own app with only its ``/`` mount swapped (as
``bench/boot_bench.py`` does for the bare page), with ``--access-ttl 3600
--refresh-window 60``: no refresh happens unless a scenario asks for one. Headless
Chromium opens it once; everything is measured inside that one page with
``performance.now()``.

Per request: ``--blocks`` blocks of ``--size`` sequential ``GET me``, the variants
interleaved block by block (rotating which goes first): ``client`` (``ApiClient.get``:
hooks, policy, cookies, lock), ``raw_js`` (``fetch`` in JavaScript with the same
options and headers), ``py_fetch`` (Python ``await window.fetch`` with a prebuilt
init: the floor for any Python client) and ``transport`` (``FetchTransport.send``
alone). Then the parts on their own: the Web Lock round trip (from Python and from
JavaScript) and reading + parsing ``document.cookie``.

Storms: ``--storm`` concurrent ``GET me``, ``--rounds`` times each: outside the
refresh window (baseline), inside it (a second client whose window covers every
token: each success would start a refresh), and after an injected 401 (the
``access_token`` cookie replaced by a token the server refuses while ``utilTime``
is valid). Counted: refresh calls (expected 1 per storm) and successes (expected
all); timed: each request's latency, to compare with the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "bench" / "page"
SERVER_ARGS = ["--access-ttl", "3600", "--refresh-window", "60"]
#: The page per runtime (serve.py --runtime gives it the matching pyapp.zip).
PAGES = {"pyodide": "", "micropython": "mpy.html"}
BOOT_TIMEOUT_MS = 120_000
TARGET_RATIO, TARGET_ADDED_MS = 1.3, 0.5
# Each part of the bench is bounded in time: a page that stops answering fails the run, never hangs it.
BOUNDED = """async (spec) => await Promise.race([
    window.benchRun("NAME", spec),
    new Promise((_, reject) => setTimeout(() => reject(new Error("NAME: no answer in 10 minutes")), 600000)),
])"""

for p in (str(ROOT), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)


def stats(times: list[float]) -> dict[str, float]:
    """Median, p90, p99, mean of a list of ms.

    >>> stats([1.0, 2.0, 3.0])["median"]
    2.0
    """
    s = sorted(times)
    if not s:
        return {"n": 0}
    return {
        "n": len(s),
        "median": round(statistics.median(s), 3),
        "p90": round(s[min(len(s) - 1, int(0.9 * len(s)))], 3),
        "p99": round(s[min(len(s) - 1, int(0.99 * len(s)))], 3),
        "mean": round(statistics.fmean(s), 3),
    }


def launch(stack: ExitStack) -> Any:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS

    chromium = subprocess.run(
        [str(ROOT / "scripts" / "find-chromium.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    return stack.enter_context(sync_playwright()).chromium.launch(
        executable_path=chromium, args=CHROMIUM_ARGS, headless=True
    )


def summarize_per_request(raw: dict[str, Any]) -> dict[str, Any]:
    times = raw["times"]
    out: dict[str, Any] = {name: stats(t) for name, t in times.items()}
    client, js = out["client"]["median"], out["raw_js"]["median"]
    out["client_over_raw_js"] = round(client / js, 3)
    out["client_added_ms"] = round(client - js, 3)
    out["py_fetch_over_raw_js"] = round(out["py_fetch"]["median"] / js, 3)
    out["meets_target"] = out["client_over_raw_js"] <= TARGET_RATIO and out["client_added_ms"] < TARGET_ADDED_MS
    out["refresh_calls"] = raw["refresh_calls"]
    out["page_runtime"] = raw.get("runtime")  # what the page says it ran on
    return out


def summarize_storm(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base = [t for r in raw["scenarios"]["baseline"] for t in r["times"]]
    base_stats = stats(base)
    for name, rounds in raw["scenarios"].items():
        times = [t for r in rounds for t in r["times"]]
        s = stats(times)
        out[name] = {
            **s,
            "refresh_calls_per_storm": [r["refresh_calls"] for r in rounds],
            "ok_per_storm": [r["ok"] for r in rounds],
            "me_calls_per_storm": [r.get("me_calls") for r in rounds],
            "storm_size": len(rounds[0]["times"]) if rounds else 0,
            "extra_median_ms": round(s["median"] - base_stats["median"], 3) if times else None,
            "extra_p99_ms": round(s["p99"] - base_stats["p99"], 3) if times else None,
        }
    expected = {"baseline": 0, "window": 1, "after_401": 1}
    out["correct"] = all(
        all(c == expected[name] for c in out[name]["refresh_calls_per_storm"])
        and all(ok == out[name]["storm_size"] for ok in out[name]["ok_per_storm"])
        for name in expected
    )
    out["signed_in_after"] = raw["signed_in"]
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Serve the page, boot it, run both benches; the figures as a dict (for run_all.py too)."""
    from tests.serverproc import ServerProcess

    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        server_args = [*SERVER_ARGS, "--runtime", args.runtime]
        srv = stack.enter_context(ServerProcess(server_args, script=ROOT / "bench" / "page_server.py"))
        browser = launch(stack)
        context = browser.new_context(locale="en-US")
        stack.callback(context.close)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(srv.url + PAGES[args.runtime])
        page.wait_for_function("() => document.documentElement.dataset.appState === 'ready'", timeout=BOOT_TIMEOUT_MS)
        per = page.evaluate(
            BOUNDED.replace("NAME", "per_request"),
            json.dumps({"blocks": args.blocks, "size": args.size}),
        )
        storm = page.evaluate(
            BOUNDED.replace("NAME", "storm"),
            json.dumps({"n": args.storm, "rounds": args.rounds}),
        )
        version = browser.version
    return {
        "meta": {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "chromium": version,
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "blocks": args.blocks,
            "size": args.size,
            "storm": args.storm,
            "rounds": args.rounds,
            "page_errors": errors,
            "runtime": args.runtime,
        },
        "per_request": summarize_per_request(json.loads(per)),
        "storm": summarize_storm(json.loads(storm)),
    }


def report(out: dict[str, Any]) -> str:
    per, storm = out["per_request"], out["storm"]
    lines = [
        "| variant | n | median ms | p90 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in per.items():
        if not isinstance(s, dict):
            continue
        lines.append(f"| {name} | {s['n']} | {s['median']} | {s['p90']} | {s['p99']} | {s['mean']} |")
    lines.append("")
    lines.append(
        f"client/raw JS = **{per['client_over_raw_js']}** (added {per['client_added_ms']} ms; target <= 1.3x"
        f" and < 0.5 ms: {'met' if per['meets_target'] else 'NOT met'}); Python fetch floor/raw JS ="
        f" {per['py_fetch_over_raw_js']}; refresh calls during it: {per['refresh_calls']}"
    )
    lines.append("")
    lines.append(
        "| storm | storms x size | refresh calls per storm | ok per storm | GET me sent per storm | median ms"
        " | p99 ms | extra median ms | extra p99 ms |"
    )
    lines.append("|---|---|---|---|---|---:|---:|---:|---:|")
    for name in ("baseline", "window", "after_401"):
        s = storm[name]
        lines.append(
            f"| {name} | {len(s['ok_per_storm'])} x {s['storm_size']} | {s['refresh_calls_per_storm']}"
            f" | {s['ok_per_storm']} | {s.get('me_calls_per_storm', '-')} | {s['median']} | {s['p99']}"
            f" | {s['extra_median_ms']} | {s['extra_p99_ms']} |"
        )
    lines.append("")
    lines.append(f"storms correct (1 refresh each, all succeed): {'yes' if storm['correct'] else 'NO'}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--blocks", type=int, default=10, help="interleaved blocks per variant")
    p.add_argument("--size", type=int, default=50, help="sequential requests per block")
    p.add_argument("--storm", type=int, default=100, help="concurrent requests per storm")
    p.add_argument("--rounds", type=int, default=5, help="storms per scenario")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument(
        "--runtime",
        choices=sorted(PAGES),
        default="pyodide",
        help="the page's interpreter (bench/page/index.html or mpy.html)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = run(args)
    meta = out["meta"]
    print(f"# {meta['when']}, {meta['machine']}, chromium {meta['chromium']}, page on {meta['runtime']}")
    print(report(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
