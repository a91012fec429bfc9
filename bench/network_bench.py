#!/usr/bin/env python3
"""A first visit over a network: app vs the bare PyScript page under Chromium's network emulation.

    .venv/bin/python bench/network_bench.py --runs 3                 # 10 Mbps, 50 Mbps, unthrottled
    .venv/bin/python bench/network_bench.py --runs 1 --profiles none --json out.json
    .venv/bin/python bench/network_bench.py --runtime micropython   # vs the bare MicroPython page

Same two servers as ``bench/boot_bench.py`` (the real ``serve.py`` for the app, ``bench/bare``
through ``serve.py``'s own Starlette app), same in-page ready signal. Per profile and run: app
and bare (order alternating), each in a fresh browser context (cold), then reloaded in it (warm).
The link is emulated with CDP ``Network.emulateNetworkConditions`` (``--rtt`` ms of latency,
throughput per profile; "none" = no throughput limit, same latency), set on the page's CDP session
before navigating. Bytes = CDP ``encodedDataLength`` summed over the load.

For the app, two more in-page times: ``form`` = when a login username field is in the page and
can take a keystroke (an enabled, visible ``[data-testid=login-username]``); ``snapshot`` /
``plain`` = which way the runtime booted (``<html data-pyodide-boot>``). The app is loaded at
``#/login`` (the bare page ignores the hash).

Prints a table; ``--json FILE`` keeps the raw samples. Never fails on a number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import boot_bench  # noqa: E402

# downloadThroughput is in bytes per second.
PROFILES: dict[str, float] = {"10mbps": 10e6 / 8, "50mbps": 50e6 / 8, "none": -1}
#: The app against the bare page of its own runtime (bench/bare, bench/bare-mpy): cold per
#: link, and warm. MicroPython's are issue 17's (none given at 50 Mbit/s).
TARGETS: dict[str, dict[str, float | None]] = {
    "pyodide": {"10mbps": 0.8, "50mbps": 0.6, "none": 0.45, "warm": 0.4},
    "micropython": {"10mbps": 1.6, "50mbps": None, "none": 2.0, "warm": 1.5},
}
BARE = {"pyodide": boot_bench.BARE, "micropython": ROOT / "bench" / "bare-mpy"}

# Extra marks for the app: when the login form can take a keystroke, and how the runtime booted.
FORM_JS = """
(() => {
  const b = window.__bench;
  b.form = null;
  const usable = () => {
    const el = document.querySelector('[data-testid="login-username"]');
    return el && !el.disabled && el.offsetParent !== null;
  };
  const check = () => {
    if (b.form === null && usable()) { b.form = performance.now(); observer.disconnect(); }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})();
"""

# What a boot leaves for the next visit, done: the snapshot fetched after a plain boot on a
# slow link, or the gunzipped snapshot stored in Cache Storage (tools/pyodide-snapshot.mjs).
NEXT_VISIT_READY_JS = """
() => {
  const d = document.documentElement.dataset;
  if (d.pyodideBoot === "plain") return Boolean(d.pyodideSnapshotNext);
  return d.pyodideSnapshotFrom !== "download" || Boolean(d.pyodideSnapshotDecoded);
}
"""

COLLECT_EXTRA = """
() => ({ form: window.__bench.form, boot: document.documentElement.dataset.pyodideBoot || null })
"""


def measure(
    browser: Any, url: str, throughput: float, rtt: float, plain: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One cold load in a fresh context over the emulated link, then a warm reload in it.

    ``plain``: ``url`` is the app served without its snapshot (bench/nosnapshot_server.py), so
    it boots the plain way; nothing is left for the next visit to wait for.
    """
    context = browser.new_context(locale="en-US")
    try:
        context.add_init_script(boot_bench.INIT_JS + FORM_JS)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        tally = boot_bench.NetworkTally(cdp)
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": rtt, "downloadThroughput": throughput, "uploadThroughput": throughput},
        )
        out = []
        for nav in (lambda: page.goto(url, wait_until="commit"), lambda: page.reload(wait_until="commit")):
            sample = boot_bench.load(page, tally, nav)
            sample.update(page.evaluate(COLLECT_EXTRA))
            if not out and not plain:
                # A warm visit is a later one: let what this boot does for it end first (a
                # slow link booted plain and fetches the snapshot; a snapshot boot stores it
                # gunzipped). Not timed.
                page.wait_for_function(NEXT_VISIT_READY_JS, timeout=boot_bench.BOOT_TIMEOUT_MS)
            # Only what the tables need: Resource Timing per file is kept for the wire sizes.
            sample["sizes"] = {boot_bench.path_of(r["name"]): r["transfer"] for r in sample.pop("resources")}
            sample.pop("urls", None)
            out.append(sample)
        return out[0], out[1]
    finally:
        context.close()


def summarize(results: dict[str, dict[str, dict[str, list[dict[str, Any]]]]]) -> dict[str, Any]:
    """Medians per profile/page/load, and app/bare ratios (of medians and paired per run)."""
    out: dict[str, Any] = {}
    for prof, pages in results.items():
        row: dict[str, Any] = {}
        for page, loads in pages.items():
            for mode, smps in loads.items():
                if not smps:
                    continue
                forms = [x["form"] for x in smps if x.get("form") is not None]
                row[f"{page}_{mode}"] = {
                    "ready_ms": statistics.median(x["ready"] for x in smps),
                    "wire_bytes": statistics.median(x["wire_bytes"] for x in smps),
                    "form_ms": statistics.median(forms) if forms else None,
                    "boot": sorted({str(x.get("boot")) for x in smps}),
                    "n": len(smps),
                }
        for mode in ("cold", "warm"):
            for pg, tag in (("app", ""), ("app-plain", "plain_")):
                a, b = row.get(f"{pg}_{mode}"), row.get(f"bare_{mode}")
                if a and b:
                    row[f"{tag}ratio_{mode}"] = a["ready_ms"] / b["ready_ms"]
                    pairs = [x["ready"] / y["ready"] for x, y in zip(pages[pg][mode], pages["bare"][mode], strict=True)]
                    row[f"{tag}paired_{mode}"] = statistics.median(pairs)
        out[prof] = row
    return out


def table(summary: dict[str, Any], runtime: str = "pyodide") -> str:
    lines = [
        "| link | app cold | bare cold | app/bare cold (target) | app warm | bare warm | app/bare warm | "
        "app form usable | app bytes | bare bytes | app boot |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for prof, row in summary.items():
        ac, bc, aw, bw = (row.get(k) for k in ("app_cold", "bare_cold", "app_warm", "bare_warm"))
        if not (ac and bc):
            continue

        def sec(x: dict[str, Any] | None, key: str = "ready_ms") -> str:
            return "-" if not x or x.get(key) is None else f"{x[key] / 1000:.2f} s"

        rc = row["ratio_cold"]
        rw = row.get("ratio_warm")
        target, warm_target = TARGETS[runtime][prof], TARGETS[runtime]["warm"]
        goal = "" if target is None else f" (<= {target}, {'met' if rc <= target else 'not met'})"
        mark_w = "-" if rw is None or warm_target is None else f"{rw:.2f} ({'met' if rw <= warm_target else 'not met'})"
        lines.append(
            f"| {prof} | {sec(ac)} | {sec(bc)} | **{rc:.2f}**{goal} | {sec(aw)} | "
            f"{sec(bw)} | {mark_w} | {sec(ac, 'form_ms')} | {ac['wire_bytes'] / 1e6:.2f} MB | "
            f"{bc['wire_bytes'] / 1e6:.2f} MB | {'/'.join(ac['boot'])} |"
        )
        pc, pw = row.get("app-plain_cold"), row.get("app-plain_warm")
        if pc:
            lines.append(
                f"| {prof}, app without snapshot | {sec(pc)} | {sec(bc)} | {row['plain_ratio_cold']:.2f} | {sec(pw)} | "
                f"{sec(bw)} | {row.get('plain_ratio_warm', float('nan')):.2f} | {sec(pc, 'form_ms')} | "
                f"{pc['wire_bytes'] / 1e6:.2f} MB | {bc['wire_bytes'] / 1e6:.2f} MB | {'/'.join(pc['boot'])} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profiles", default="10mbps,50mbps,none", help=f"comma-separated, of {', '.join(PROFILES)}")
    p.add_argument("--rtt", type=float, default=40.0, help="emulated latency in ms (all profiles)")
    p.add_argument("--json", type=Path, help="write the raw samples and the summary here")
    p.add_argument("--app-url", help="measure this running app instead of starting serve.py")
    p.add_argument("--plain", action="store_true", help="also measure the app booting without its snapshot")
    p.add_argument(
        "--runtime",
        choices=sorted(BARE),
        default="pyodide",
        help="the app's runtime (serve.py --runtime), measured against that runtime's bare page",
    )
    args = p.parse_args(argv)
    profiles = [x.strip() for x in args.profiles.split(",") if x.strip()]
    unknown = [x for x in profiles if x not in PROFILES]
    if unknown or args.runs < 1:
        p.error(f"unknown profile(s) {unknown}" if unknown else "--runs must be at least 1")

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS
    from tests.serverproc import ServerProcess

    chromium = subprocess.run(
        [str(ROOT / "scripts" / "find-chromium.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    load_before = boot_bench.load_avg()
    pages = ["app", "bare", *(["app-plain"] if args.plain else [])]
    results: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {
        prof: {pg: {"cold": [], "warm": []} for pg in pages} for prof in profiles
    }
    with ExitStack() as stack:
        app_url = args.app_url or stack.enter_context(ServerProcess(["--runtime", args.runtime])).url
        urls = {
            "app": app_url.rstrip("/") + "/#/login",
            "app-plain": (
                stack.enter_context(
                    ServerProcess(["--runtime", args.runtime], script=ROOT / "bench" / "nosnapshot_server.py")
                ).url.rstrip("/")
                + "/#/login"
                if args.plain
                else ""
            ),
            "bare": stack.enter_context(boot_bench.root_server(BARE[args.runtime])),
        }
        browser = stack.enter_context(sync_playwright()).chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        version = browser.version
        for i in range(args.runs):
            for prof in profiles:
                order = pages[i % len(pages) :] + pages[: i % len(pages)]  # rotate who goes first
                for pg in order:
                    cold, warm = measure(browser, urls[pg], PROFILES[prof], args.rtt, plain=pg == "app-plain")
                    results[prof][pg]["cold"].append(cold)
                    results[prof][pg]["warm"].append(warm)
                    form = f", form {cold['form'] / 1000:.2f} s" if cold.get("form") else ""
                    print(
                        f"run {i + 1}/{args.runs} {prof:>6} {pg:4}: cold {cold['ready'] / 1000:.2f} s "
                        f"({cold['wire_bytes'] / 1e6:.2f} MB{form}, boot {cold.get('boot')}), "
                        f"warm {warm['ready'] / 1000:.2f} s ({warm['wire_bytes'] / 1e3:.1f} kB)",
                        flush=True,
                    )
    summary = summarize(results)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": head.stdout.strip(),
        "chromium": version,
        "rtt_ms": args.rtt,
        "runs": args.runs,
        "runtime": args.runtime,
        "load_before": load_before,
        "load_after": boot_bench.load_avg(),
    }
    print()
    print(
        f"{meta['date']}, code at {meta['commit']}, Chromium {version}, {args.runs} run(s), RTT {args.rtt:g} ms, "
        f"load average {load_before} before, {meta['load_after']} after"
    )
    print(f"app on {args.runtime}, against bench/{BARE[args.runtime].name}")
    print(table(summary, args.runtime))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "summary": summary, "samples": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
