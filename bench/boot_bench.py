#!/usr/bin/env python3
"""Boot time: navigation start -> ``<html data-app-state="ready">``, app vs a bare PyScript page.

    .venv/bin/python bench/boot_bench.py --runs 5

Two servers, both the real thing: the app from ``serve.py`` (started by
``tests.serverproc.ServerProcess`` on a free port, temp db), and the bare page
(``bench/bare``: PyScript + Pyodide, prints, then sets ``data-app-state``) from
``serve.py``'s own Starlette app with only its ``/`` mount pointed at
``bench/bare`` (same ``/static`` mount, cache headers, CSP, gzip, uvicorn
settings), in a child process of this script.

Each run opens a new browser context (empty cache) per page, loads it once
(cold) and reloads it in the same context (warm). Runs interleave app and
bare, alternating which goes first. The figure is read in the page:
``performance.now()`` (relative to ``performance.timeOrigin``, the navigation
start) taken by a ``MutationObserver`` when ``data-app-state`` becomes
``ready``. Bytes are the sum of CDP ``Network.loadingFinished``
``encodedDataLength`` (bytes on the wire: headers + possibly gzipped body);
Resource Timing's ``encodedBodySize`` gives the body-only figure.

The results table goes to stdout and, unless ``--no-write``, into the
"## Boot time" section of ``bench/README.md`` (other sections untouched).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BARE = ROOT / "bench" / "bare"
README = ROOT / "bench" / "README.md"
SECTION = "## Boot time"
BOOT_TIMEOUT_MS = 120_000
TARGET = 0.10  # the app may cost at most 10% over the bare page

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Runs in every new document before its own scripts (CDP, so the page's CSP does not apply).
INIT_JS = """
(() => {
  const b = (window.__bench = { ready: null, events: [] });
  const mark = (name) => b.events.push([name, performance.now()]);
  const check = () => {
    const el = document.documentElement;
    if (b.ready === null && el && el.dataset.appState === "ready") {
      b.ready = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, attributes: true, attributeFilter: ["data-app-state"] });
  for (const type of ["py:ready", "py:done", "py:all-done"]) {
    addEventListener(type, () => mark(type), { capture: true, once: true });
  }
  addEventListener("py:progress", (e) => mark(String(e.detail)), { capture: true });
  document.addEventListener("DOMContentLoaded", () => mark("DOMContentLoaded"));
})();
"""

COLLECT_JS = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource").map((r) => ({
    name: r.name, start: r.startTime, end: r.responseEnd, transfer: r.transferSize,
    body: r.encodedBodySize, decoded: r.decodedBodySize,
  }));
  return {
    ready: window.__bench.ready, events: window.__bench.events, resources: res,
    probe: JSON.parse(document.documentElement.dataset.probe || "null"),
    nav: { end: nav.responseEnd, transfer: nav.transferSize, body: nav.encodedBodySize },
  };
}
"""


# The probe: web/ with main.py replaced by this, to time the steps of the app's main.py in the page
# (the app itself is not edited). Diagnostic only: measured after the runs, not part of the table.
PROBE_MAIN = """\
import json
import time

from js import document

t0 = time.perf_counter()
marks = []
import pyodide_http

pyodide_http.patch_all()
marks.append(["pyodide_http: import + patch_all()", time.perf_counter()])
import pyapp.browser.shell as shell

marks.append(["import pyapp.browser.shell (the app's modules)", time.perf_counter()])
await shell.start()
marks.append(["shell.start(): config.json, first render (http already patched)", time.perf_counter()])
steps, last = [], t0
for name, t in marks:
    steps.append([name, (t - last) * 1000])
    last = t
document.documentElement.dataset.probe = json.dumps(steps)
"""


def make_probe_dir(tmp: Path) -> Path:
    probe = tmp / "probe"
    probe.mkdir()
    for f in (ROOT / "web").iterdir():
        if f.is_file():
            shutil.copy2(f, probe / f.name)
    (probe / "main.py").write_text(PROBE_MAIN, encoding="utf-8")
    return probe


# --- the bare page's server: serve.py's app with "/" pointed at bench/bare ---------------------------


def with_root(app: Any, root: Path) -> Any:
    """``serve.py``'s ASGI app with ``/`` serving ``root`` through serve.py's own static class
    (same cache policy), and every other route as serve.py has it (/static, /config.json,
    /pyapp.zip, /api): the app's own page goes, the MicroPython one's fixed ``/`` and
    ``/index.html`` routes with it."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    web = next(r for r in app.routes if isinstance(r, Mount) and r.path == "")
    routes = [r for r in app.routes if r is not web and getattr(r, "path", None) not in ("/", "/index.html")]
    routes.append(Mount("/", app=type(web.app)(directory=root, html=True)))
    return Starlette(routes=routes, middleware=app.user_middleware)


def serve_root(root: Path, codings: tuple[str, ...] = ("gzip",)) -> int:
    """Run ``serve.main`` with its ``/`` mount swapped for ``root`` (prints ``Serving on URL``);
    the runtime's precompressed forms limited to ``codings``."""

    import serve

    build_app = serve.build_app

    def build_bare_app(args: argparse.Namespace) -> tuple[Any, Any]:
        app, api = build_app(args)
        return with_root(app, root), api

    serve.build_app = build_bare_app  # serve.main looks it up at call time
    # The baseline as the issue measured it: the runtime gzipped, as most hosts would send it
    # (the app's serve.py also has zstd forms, tools/vendor.py).
    serve.PRECOMPRESSED = codings
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        return serve.main(["--port", "0", "--db", str(Path(tmp) / "tokens.sqlite3")])


@contextmanager
def root_server(root: Path, codings: tuple[str, ...] = ("gzip",)) -> Iterator[str]:
    """``serve_root(root, codings)`` in a child process, like ``ServerProcess`` does for ``serve.py``."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-root", str(root), "--serve-codings", ",".join(codings)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found = threading.Event()
    url: list[str] = []
    output: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if line.startswith("Serving on ") and not found.is_set():
                url.append(line.split()[-1])
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not found.wait(30) or not url:
            raise RuntimeError(f"server for {root} did not start:\n" + "\n".join(output))
        yield url[0]
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- measuring ----------------------------------------------------------------------------------------


class NetworkTally:
    """Requests and wire bytes of one page load, from CDP Network events."""

    def __init__(self, cdp: Any) -> None:
        self.requests: dict[str, str] = {}
        self.wire: dict[str, float] = {}
        self.cached: set[str] = set()
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))
        cdp.on("Network.responseReceived", self._response)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})

    def reset(self) -> None:
        self.requests.clear()
        self.wire.clear()
        self.cached.clear()

    def _sent(self, e: dict[str, Any]) -> None:
        url = e["request"]["url"]
        if url.startswith(("http:", "https:")):
            self.requests[e["requestId"]] = url

    def _response(self, e: dict[str, Any]) -> None:
        if e["response"].get("fromDiskCache") or e["response"].get("fromMemoryCache"):
            self.cached.add(e["requestId"])

    def _finished(self, e: dict[str, Any]) -> None:
        if e["requestId"] in self.requests:
            self.wire[e["requestId"]] = e["encodedDataLength"]

    def summary(self) -> dict[str, Any]:
        return {
            "requests": len(self.requests),
            "from_cache": len(self.cached & self.requests.keys()),
            "wire_bytes": int(sum(self.wire.values())),
            "urls": sorted(self.requests.values()),
        }


def load(page: Any, tally: NetworkTally, navigate: Any, probe: bool = False) -> dict[str, Any]:
    tally.reset()
    navigate()
    page.wait_for_function("() => window.__bench && window.__bench.ready !== null", timeout=BOOT_TIMEOUT_MS)
    if probe:
        page.wait_for_function("() => document.documentElement.dataset.probe", timeout=BOOT_TIMEOUT_MS)
    page.wait_for_timeout(300)  # let late responses finish so the byte count is complete
    sample = page.evaluate(COLLECT_JS)
    sample.update(tally.summary())
    sample["body_bytes"] = int(sample["nav"]["body"] + sum(r["body"] for r in sample["resources"]))
    return sample


def measure_pair(browser: Any, url: str, probe: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """One cold load in a fresh context, then one warm reload in the same context."""
    context = browser.new_context(locale="en-US")
    try:
        context.add_init_script(INIT_JS)
        page = context.new_page()
        tally = NetworkTally(context.new_cdp_session(page))
        cold = load(page, tally, lambda: page.goto(url, wait_until="commit"), probe)
        warm = load(page, tally, lambda: page.reload(wait_until="commit"), probe)
        return cold, warm
    finally:
        context.close()


# --- reporting ----------------------------------------------------------------------------------------


def stats(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def s(ms: float) -> str:
    return f"{ms / 1000:.2f}"


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def kb(n: float) -> str:
    return f"{n / 1e3:.1f} kB"


def path_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "(document)"


def event_medians(samples: list[dict[str, Any]]) -> dict[str, float]:
    """Median time of each in-page event (first occurrence per load) over the loads that saw it."""
    seen: dict[str, list[float]] = {}
    for smp in samples:
        firsts: dict[str, float] = {}
        for name, t in smp["events"]:
            firsts.setdefault(name, t)
        firsts["ready (data-app-state)"] = smp["ready"]
        for name, t in firsts.items():
            seen.setdefault(name, []).append(t)
    return {k: statistics.median(v) for k, v in sorted(seen.items(), key=lambda kv: statistics.median(kv[1]))}


def resource_medians(samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    per: dict[str, dict[str, list[float]]] = {}
    for smp in samples:
        for r in smp["resources"]:
            d = per.setdefault(path_of(r["name"]), {"start": [], "end": [], "body": [], "transfer": []})
            for k in ("start", "end", "body", "transfer"):
                d[k].append(r[k])
    return {p: {k: statistics.median(v) for k, v in d.items()} for p, d in per.items()}


def build_report(results: dict[str, dict[str, list[dict[str, Any]]]], meta: dict[str, str]) -> str:
    lines: list[str] = []
    add = lines.append
    med: dict[tuple[str, str], float] = {}
    add("| page | load | median (s) | min (s) | max (s) | requests (from cache) | bytes on the wire | body bytes |")
    add("|---|---|---:|---:|---:|---:|---:|---:|")
    for page in results:
        for mode in ("cold", "warm"):
            smps = results[page][mode]
            m, lo, hi = stats([x["ready"] for x in smps])
            med[page, mode] = m
            reqs = statistics.median([x["requests"] for x in smps])
            cached = statistics.median([x["from_cache"] for x in smps])
            wire = statistics.median([x["wire_bytes"] for x in smps])
            body = statistics.median([x["body_bytes"] for x in smps])
            wire_s = mb(wire) if wire > 1e6 else kb(wire)
            body_s = mb(body) if mode == "cold" else "-"
            add(f"| {page} | {mode} | {s(m)} | {s(lo)} | {s(hi)} | {reqs:g} ({cached:g}) | {wire_s} | {body_s} |")
    add("")
    for page, mode in [(p, m) for p in results if p != "bare" for m in ("cold", "warm")]:
        a, b = med[page, mode], med["bare", mode]
        # Paired: each run loads both pages back to back, so their ratio sees the same machine load.
        pairs = [x["ready"] / y["ready"] for x, y in zip(results[page][mode], results["bare"][mode], strict=True)]
        pm, plo, phi = stats(pairs)
        verdict = "met" if a / b <= 1 + TARGET else "NOT met"
        add(
            f"- {mode}: {page}/bare = **{a / b:.2f}** ({page} {s(a)} s vs bare {s(b)} s, {(a - b) / 1000:+.2f} s):"
            f" target <= {1 + TARGET:.2f} {verdict}. Paired per run (same run, back to back): median"
            f" {pm:.2f}, min {plo:.2f}, max {phi:.2f}."
        )
    add("")

    # Where the time goes: in-page events (PyScript's py:progress / py:ready / py:done) and
    # Resource Timing of the requests only the app makes, medians over the loads.
    for mode in ("cold", "warm"):
        ev_app = event_medians(results["app"][mode])
        ev_bare = event_medians(results["bare"][mode])
        add(f"Boot timeline, {mode} (median ms after navigation start; PyScript events and the ready signal):")
        add("")
        add("| event | app | bare | app - bare |")
        add("|---|---:|---:|---:|")
        for name in dict.fromkeys([*ev_app, *ev_bare]):
            a, b = ev_app.get(name), ev_bare.get(name)
            diff = f"{a - b:+.0f}" if a is not None and b is not None else ""
            a_s = f"{a:.0f}" if a is not None else "-"
            b_s = f"{b:.0f}" if b is not None else "-"
            add(f"| {name} | {a_s} | {b_s} | {diff} |")
        add("")
        res_app = resource_medians(results["app"][mode])
        res_bare = resource_medians(results["bare"][mode])
        extra = {p: r for p, r in res_app.items() if p not in res_bare}
        add(f"Requests only the app makes, {mode} (Resource Timing, median ms after navigation start):")
        add("")
        add("| resource | start | response end | duration | body bytes |")
        add("|---|---:|---:|---:|---:|")
        for p, r in sorted(extra.items(), key=lambda kv: kv[1]["start"]):
            add(f"| {p} | {r['start']:.0f} | {r['end']:.0f} | {r['end'] - r['start']:.0f} | {r['body']:.0f} |")
        add("")
    return "\n".join(lines)


METHOD = """\
What it measures: time from navigation start to `<html data-app-state="ready">`, read in the page
(`performance.now()`, relative to `performance.timeOrigin`, taken by a `MutationObserver` when the
attribute turns `ready`), so Playwright's own overhead is not in it. `app` is `web/` from the real
`serve.py` (free port, temp db); `bare` is `bench/bare/` (PyScript + Pyodide, `print`, then the same
attribute), served by `serve.py`'s own Starlette app with only its `/` mount pointed at `bench/bare`
(same `/static` runtime files and their `.gz`, cache headers, CSP, gzip, uvicorn settings), in its
own process. Cold = a new browser context per load (empty cache); warm = a reload in that same
context right after. Each run measures app and bare one after the other, alternating which goes first; {runs}
runs, after {warmup} discarded warm-up run(s). Bytes on the wire = sum of CDP
`Network.loadingFinished` `encodedDataLength` (response headers + body as transferred, gzip
included); body bytes = Resource Timing `encodedBodySize` of the document and every resource.
Requests = CDP `Network.requestWillBeSent` for http(s) URLs; "from cache" = answered by the HTTP
cache without a request to the server (the others on a warm load are revalidations, 304).

Noise: 2 shared cores, and other engineers ran tests on the machine at the same time (load average
{load_before} before the run, {load_after} after). Expect several hundred ms of spread between
loads; compare app and bare within one run, not across runs.
"""


def readme_section(report: str, meta: dict[str, str], analysis: str) -> str:
    head = [
        SECTION,
        "",
        f"Measured {meta['date']} on {meta['machine']};",
        f"{meta['browser']}; PyScript 0.7.31, Pyodide 314.0.7, both served from our own origin; code at",
        f"{meta['commit']}. Command (from the repository root):",
        "",
        "```sh",
        meta["command"],
        "```",
        "",
        METHOD.format(**meta),
    ]
    return "\n".join([*head, report, analysis]).rstrip() + "\n"


KEEP = "### Findings"  # hand-written notes at the end of the section survive a re-run


def write_readme(section: str) -> None:
    intro = "# Benchmarks\n\nFigures measured on this project's machine, with the command that produced each.\n"
    text = README.read_text(encoding="utf-8") if README.exists() else intro
    pattern = re.compile(r"^## Boot time\n.*?(?=^## |\Z)", re.S | re.M)
    old = pattern.search(text)
    if old:
        kept = old.group(0)[old.group(0).find(KEEP) :] if KEEP in old.group(0) else ""
        new = section + ("\n" + kept.rstrip("\n") + "\n" if kept else "")
        text = text[: old.start()] + new + "\n" + text[old.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def first_event(smp: dict[str, Any], name: str) -> float | None:
    return next((t for n, t in smp["events"] if n == name), None)


def median_of(samples: list[dict[str, Any]], fn: Any) -> float:
    values = [v for v in (fn(x) for x in samples) if v is not None]
    return statistics.median(values) if values else float("nan")


def default_analysis(results: dict[str, dict[str, list[dict[str, Any]]]], probes: dict[str, list[Any]]) -> str:
    """Where the app's extra time goes, computed from the figures (medians over the loads)."""
    out = ["### Where the app's extra time goes", ""]
    for mode in ("cold", "warm"):
        app, bare = results["app"][mode], results["bare"][mode]

        def span(samples: list[dict[str, Any]], a: str, b: str | None) -> float:
            def one(x: dict[str, Any]) -> float | None:
                ta, tb = first_event(x, a), (x["ready"] if b is None else first_event(x, b))
                return None if ta is None or tb is None else tb - ta

            return median_of(samples, one)

        total = median_of(app, lambda x: x["ready"]) - median_of(bare, lambda x: x["ready"])
        start_py = median_of(app, lambda x: first_event(x, "Loading Pyodide")) - median_of(
            bare, lambda x: first_event(x, "Loading Pyodide")
        )
        interp = span(app, "Loading interpreter", "Loaded interpreter") - span(
            bare, "Loading interpreter", "Loaded interpreter"
        )
        files = span(app, "Loading files", "Loaded files")
        run_app, run_bare = span(app, "py:ready", None), span(bare, "py:ready", None)
        out.append(
            f"- **{mode}**: app - bare = {total:+.0f} ms (medians). Split by PyScript's events: "
            f"PyScript starts loading Pyodide {start_py:+.0f} ms later (the app's HTML, CSS, `boot.js` and "
            f"preloads come first); loading the interpreter (the same runtime files; the app preloads "
            f"`pyodide.asm.wasm` and `python_stdlib.zip`) differs by {interp:+.0f} ms "
            f"({'the app restores a memory snapshot' if interp < -500 else 'mostly machine noise'}); "
            f"fetching and unpacking `[files]` (`pyapp.zip` + the pyodide-http wheel) takes {files:.0f} ms "
            f"(the bare page has none); running `main.py` up to `ready` takes {run_app:.0f} ms in the app vs "
            f"{run_bare:.0f} ms for the bare page's `print` ({run_app - run_bare:+.0f} ms)."
        )
        steps: dict[str, list[float]] = {}
        for smp in probes.get(mode, []):
            for name, ms in smp.get("probe") or []:
                steps.setdefault(name, []).append(ms)
        if steps:
            parts = "; ".join(f"{name}: {statistics.median(v):.0f} ms" for name, v in steps.items())
            out.append(f"  Inside `main.py` (the timing probe, median of {len(probes[mode])} loads): {parts}.")
    wire = {p: statistics.median([x["wire_bytes"] for x in results[p]["cold"]]) for p in ("app", "bare")}
    reqs = {p: statistics.median([x["requests"] for x in results[p]["cold"]]) for p in ("app", "bare")}
    out.append(
        f"- Cold bytes: the app moves {(wire['app'] - wire['bare']) / 1e3:+.0f} kB and {reqs['app'] - reqs['bare']:+g}"
        " requests more than the bare page (the table of the app's own requests above); against several MB of"
        " runtime that is not where the time goes: on 2 shared cores boot is CPU-bound (compiling"
        " `pyodide.asm.wasm`, starting CPython, imports), so the spread between loads is large."
    )
    out.append("")
    return "\n".join(out)


# --- main ---------------------------------------------------------------------------------------------


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5, help="measured runs (each: app and bare, cold + warm)")
    p.add_argument("--warmup", type=int, default=1, help="runs measured but discarded first")
    p.add_argument("--probe-runs", type=int, default=3, help="loads of the timing probe (web/ with main.py timed)")
    p.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    p.add_argument(
        "--also",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="also measure DIR served in place of web/ (a modified copy, to try a speedup); not written",
    )
    p.add_argument("--serve-root", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--serve-codings", default="gzip", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_root:
        return serve_root(args.serve_root.resolve(), tuple(args.serve_codings.split(",")))
    if args.runs < 1:
        p.error("--runs must be at least 1")

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS
    from tests.serverproc import ServerProcess

    chromium = subprocess.run(
        [str(ROOT / "scripts" / "find-chromium.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    load_before = load_avg()
    pages = ["app", "bare", *(d.name for d in args.also)]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {page: {"cold": [], "warm": []} for page in pages}
    with ExitStack() as stack:
        urls = {"app": stack.enter_context(ServerProcess()).url, "bare": stack.enter_context(root_server(BARE))}
        for d in args.also:
            urls[d.name] = stack.enter_context(root_server(d.resolve()))
        probe_url = ""
        if args.probe_runs:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="boot-probe-")))
            probe_url = stack.enter_context(root_server(make_probe_dir(tmp)))
        browser = stack.enter_context(sync_playwright()).chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        print("  ".join(f"{k} {v}" for k, v in urls.items()), f" chromium {browser.version}", flush=True)
        width = max(map(len, pages))
        for i in range(args.warmup + args.runs):
            order = pages[i % len(pages) :] + pages[: i % len(pages)]  # rotate who goes first
            for page in order:
                cold, warm = measure_pair(browser, urls[page])
                tag = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}/{args.runs}"
                print(
                    f"{tag:>9} {page:{width}}: cold {s(cold['ready'])} s ({cold['requests']} req, "
                    f"{mb(cold['wire_bytes'])}), warm {s(warm['ready'])} s ({warm['requests']} req, "
                    f"{warm['from_cache']} from cache, {kb(warm['wire_bytes'])})",
                    flush=True,
                )
                if i >= args.warmup:
                    results[page]["cold"].append(cold)
                    results[page]["warm"].append(warm)
        probes: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
        for i in range(args.probe_runs):
            cold, warm = measure_pair(browser, probe_url, probe=True)
            print(f"  probe {i + 1}/{args.probe_runs}: cold {cold['probe']}, warm {warm['probe']}", flush=True)
            probes["cold"].append(cold)
            probes["warm"].append(warm)
        browser_version = browser.version

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "web", "pyapp", "serve.py"], capture_output=True, text=True
    ).stdout.strip()
    meta = {
        "commit": f"`{head}`" + (" with uncommitted changes in web/, pyapp/ or serve.py" if dirty else ""),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} shared cores ({cpu})",
        "browser": f"headless Chromium {browser_version} (Debian)",
        "command": " ".join([".venv/bin/python", "bench/boot_bench.py", *(sys.argv[1:] if argv is None else argv)]),
        "runs": str(args.runs),
        "warmup": str(args.warmup),
        "load_before": load_before,
        "load_after": load_avg(),
    }
    report = build_report(results, meta)
    analysis = default_analysis(results, probes)
    print()
    print(report)
    print(analysis)
    if not args.no_write:
        write_readme(readme_section(report, meta, analysis))
        print(f"wrote the '{SECTION}' section of {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
