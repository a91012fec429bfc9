#!/usr/bin/env python3
"""Boot time in Firefox ESR and WebKitGTK: the app vs a bare PyScript page, per engine (issue 18).

    .venv/bin/python bench/engine_boot_bench.py --runs 3

The sibling of ``bench/boot_bench.py`` (Chromium) for the engines of ``tests/browser/engines``,
driven by the same drivers (``tests.browser.engines.drivers``: puppeteer-core over WebDriver BiDi
for Firefox, Selenium and WebKitWebDriver for WebKitGTK). Neither can run a script in every new
document the way CDP does for ``boot_bench.py``, nor emulate a network: so each page is served
from a copy of its folder whose ``index.html`` loads ``bench-ready.js`` first (a same-origin
classic script the CSP allows; the same few hundred bytes for both pages), which notes
``performance.now()`` when ``<html data-app-state>`` turns ``ready``; and the link is loopback,
unthrottled.

- ``app``: a copy of ``web/`` behind ``serve.py``'s own app (``boot_bench.root_server``: every
  route as ``serve.py`` has it, the runtime in zstd and gzip as ``serve.py`` sends it);
- ``bare``: a copy of ``bench/bare`` behind the same, its runtime gzipped (as in ``boot_bench.py``).

A cold load is a first visit in a browser started for it (a fresh profile: empty HTTP cache and
Cache Storage); the warm load reloads that tab. Runs interleave the pages and rotate who goes
first. Bytes and requests come from Resource Timing (``transferSize``: headers + body as
transferred, 0 when the HTTP cache answered; on a warm load see the note written with the
table). The table goes to stdout and, unless ``--no-write``, into bench/README.md's "Boot
time" section, as its last subsection.
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
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _p in (str(ROOT), str(ROOT / "bench")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from boot_bench import BARE, README, load_avg, mb, root_server, s, stats  # noqa: E402

ENGINES = ("firefox", "webkit")
PAGES = ("app", "bare")
SUBSECTION = "### In Firefox ESR and WebKitGTK"
READY_FILE = "bench-ready.js"
READY_JS = """\
// bench/engine_boot_bench.py: when <html data-app-state> turns "ready", in ms after navigation start.
(() => {
  const b = (window.__bench = { ready: null });
  const check = () => {
    if (b.ready === null && document.documentElement.dataset.appState === "ready") {
      b.ready = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-app-state"] });
})();
"""
COLLECT_JS = """({
  ready: window.__bench.ready,
  boot: document.documentElement.dataset.pyodideBoot || null,
  requests: performance.getEntriesByType('resource').length + 1,
  fromCache: performance.getEntriesByType('resource').filter(r => r.transferSize === 0).length,
  wire: [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
    .reduce((n, r) => n + (r.transferSize || 0), 0),
})"""
SETTLE_S = 0.3  # after ready: late responses finish, so the byte count is complete (a bench, not a test)


def timed_copy(src: Path, dest: Path) -> Path:
    """``src`` copied to ``dest`` with ``bench-ready.js`` loaded first in its ``index.html``."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / READY_FILE).write_text(READY_JS, encoding="utf-8")
    index = dest / "index.html"
    html = index.read_text(encoding="utf-8")
    anchor = '<meta charset="utf-8">'
    if anchor not in html:
        raise SystemExit(f"{index}: no {anchor} to put {READY_FILE} after")
    index.write_text(html.replace(anchor, f'{anchor}\n  <script src="{READY_FILE}"></script>', 1), encoding="utf-8")
    return dest


def measure_pair(engine: str, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A cold load in a browser started for it, then a warm reload of that tab."""
    from tests.browser.engines.drivers import BOOT_TIMEOUT_S, launch

    page = launch(engine)
    try:
        page.goto(url)
        page.wait_for("window.__bench && window.__bench.ready !== null", "ready", BOOT_TIMEOUT_S)
        time.sleep(SETTLE_S)
        cold = dict(page.eval(COLLECT_JS))
        page.eval("(window.__reloaded = true, setTimeout(() => location.reload(), 0), null)")
        page.wait_for(
            "!window.__reloaded && window.__bench && window.__bench.ready !== null",
            "ready after the reload",
            BOOT_TIMEOUT_S,
            navigating=True,
        )
        time.sleep(SETTLE_S)
        warm = dict(page.eval(COLLECT_JS))
        return cold, warm
    finally:
        page.close()


def build_report(results: dict[str, dict[str, dict[str, list[dict[str, Any]]]]], versions: dict[str, str]) -> str:
    lines = [
        "| engine | page | load | median (s) | min (s) | max (s) | requests (from cache) | bytes on the wire | boot |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    notes: list[str] = []
    for engine, pages in results.items():
        for page in PAGES:
            for mode in ("cold", "warm"):
                smps = pages[page][mode]
                m, lo, hi = stats([x["ready"] for x in smps])
                reqs = statistics.median([x["requests"] for x in smps])
                cached = statistics.median([x["fromCache"] for x in smps])
                wire = statistics.median([x["wire"] for x in smps])
                boots = sorted({str(x["boot"]) for x in smps if x["boot"]}) or ["-"]
                lines.append(
                    f"| {versions[engine]} | {page} | {mode} | {s(m)} | {s(lo)} | {s(hi)} | {reqs:g} ({cached:g}) |"
                    f" {mb(wire)} | {', '.join(boots)} |"
                )
        for mode in ("cold", "warm"):
            app, bare = pages["app"][mode], pages["bare"][mode]
            a, b = statistics.median([x["ready"] for x in app]), statistics.median([x["ready"] for x in bare])
            pairs = [x["ready"] / y["ready"] for x, y in zip(app, bare, strict=True)]
            pm, plo, phi = stats(pairs)
            notes.append(
                f"- {versions[engine]}, {mode}: app/bare = **{a / b:.2f}** (app {s(a)} s vs bare {s(b)} s,"
                f" {(a - b) / 1000:+.2f} s); paired per run: median {pm:.2f}, min {plo:.2f}, max {phi:.2f}."
            )
    return "\n".join([*lines, "", *notes, ""])


def section(report: str, meta: dict[str, str]) -> str:
    return f"""{SUBSECTION}

Measured {meta["date"]} on {meta["machine"]}; {meta["engines"]}; code at {meta["commit"]}.
Command (from the repository root):

```sh
{meta["command"]}
```

The same two pages as above, in the engines of `tests/browser/engines` (their drivers), each
against its own baseline from the same run: `app` (a copy of `web/` behind `serve.py`'s app,
the runtime zstd or gzip as `serve.py` sends it) and `bare` (`bench/bare`, its runtime
gzipped). Unlike the Chromium table: **loopback, unthrottled** (Firefox and WebKit have no
network emulation like CDP's), and the ready time comes from a classic script both pages
load first (`bench-ready.js`; they cannot run one in every new document as CDP does). Cold =
the first visit of a browser started for it (fresh profile), warm = a reload of that tab;
{meta["runs"]} runs after {meta["warmup"]} discarded, pages interleaved. Bytes: Resource Timing
`transferSize` (headers + body as transferred; 0 from the HTTP cache), exact on a cold load.
On a warm load neither engine counts what a user's browser would: Firefox revalidates the
`no-cache` files (304) but times each as a 200 of the whole file, and WebKitGTK under WebDriver
(an ephemeral session, no HTTP cache for `fetch`) downloads what the loader fetches again, whole
(both in `test_a_fetch_revalidated_with_304_...`); so warm bytes are Firefox's upper bound and
WebKit's real loopback traffic. "boot" is `<html data-pyodide-boot>`. Load average
{meta["load_before"]} before, {meta["load_after"]} after: others' work shares the 2 cores, and
loads spread by seconds; compare app and bare within one run (the paired ratios).

{report}"""


def write_readme(text: str) -> None:
    """Replace this subsection of "## Boot time", or add it at the section's end."""
    readme = README.read_text(encoding="utf-8")
    mine = re.compile(rf"^{re.escape(SUBSECTION)}\n.*?(?=^## |^### |\Z)", re.S | re.M)
    if mine.search(readme):
        readme = mine.sub(lambda _m: text.rstrip("\n") + "\n\n", readme, count=1)
    else:
        boot = re.compile(r"^## Boot time\n.*?(?=^## |\Z)", re.S | re.M).search(readme)
        if boot is None:
            raise SystemExit(f"{README}: no '## Boot time' section")
        at = boot.end()
        readme = readme[:at].rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n\n" + readme[at:]
    README.write_text(readme.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="measured runs (each: app and bare, cold + warm, per engine)")
    p.add_argument("--warmup", type=int, default=1, help="runs measured but discarded first")
    p.add_argument("--engine", action="append", choices=ENGINES, help="only this engine (repeatable)")
    p.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    engines = tuple(args.engine or ENGINES)
    load_before = load_avg()
    results = {e: {page: {"cold": [], "warm": []} for page in PAGES} for e in engines}
    versions: dict[str, str] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="engine-boot-")))
        urls = {
            "app": stack.enter_context(root_server(timed_copy(ROOT / "web", tmp / "app"), ("zstd", "gzip"))),
            "bare": stack.enter_context(root_server(timed_copy(BARE, tmp / "bare"))),
        }
        print("  ".join(f"{k} {v}" for k, v in urls.items()), flush=True)
        for engine in engines:
            for i in range(args.warmup + args.runs):
                order = PAGES[i % 2 :] + PAGES[: i % 2]
                for page in order:
                    cold, warm = measure_pair(engine, urls[page])
                    tag = "warm-up" if i < args.warmup else f"run {i - args.warmup + 1}/{args.runs}"
                    print(
                        f"{engine:7} {tag:>9} {page:4}: cold {s(cold['ready'])} s ({cold['requests']} req,"
                        f" {mb(cold['wire'])}, {cold['boot']}), warm {s(warm['ready'])} s"
                        f" ({warm['fromCache']} of {warm['requests']} from cache, {mb(warm['wire'])})",
                        flush=True,
                    )
                    if i >= args.warmup:
                        results[engine][page]["cold"].append(cold)
                        results[engine][page]["warm"].append(warm)
            from tests.browser.engines.drivers import launch

            browser = launch(engine)
            versions[engine] = {"firefox": "Firefox ESR ", "webkit": "WebKitGTK "}[engine] + browser.version
            browser.close()
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "web", "pyapp", "serve.py", "tools"], capture_output=True, text=True
    ).stdout.strip()
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} shared cores",
        "engines": ", ".join(f"{versions[e]} (Debian)" for e in engines),
        "commit": f"`{head}`" + (" with uncommitted changes" if dirty else ""),
        "command": " ".join(
            [".venv/bin/python", "bench/engine_boot_bench.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "runs": str(args.runs),
        "warmup": str(args.warmup),
        "load_before": load_before,
        "load_after": load_avg(),
    }
    report = build_report(results, versions)
    print()
    print(report)
    if not args.no_write:
        write_readme(section(report, meta))
        print(f"wrote '{SUBSECTION}' into {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
