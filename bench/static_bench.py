#!/usr/bin/env python3
"""The static site (``./build.sh``) from a dumb file server, next to ``serve.py``: bytes and boot time.

    .venv/bin/python bench/static_bench.py --runs 3

Two pages, interleaved per run (alternating which goes first), each a cold
load in a new browser context and a warm reload in that context:

- ``serve.py``: ``web/`` from the real ``serve.py`` (gzip, cache headers);
- ``static``: a fresh ``./build.sh`` under ``/demo-repo/``, served by
  ``tests/static/plainserver.py`` (``http.server``: no compression, no cache
  headers), as a first visit to the GitHub Pages demo would be, minus the network.

Measured as ``bench/boot_bench.py`` does (its in-page ready signal and CDP byte
tally are reused). The table goes to stdout and, unless ``--no-write``, into
the "## Static site" section of ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
SECTION = "## Static site"
KEEP = "### Notes on the static site"
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import boot_bench  # noqa: E402  (bench/ is not a package)


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def table(results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    out = [
        "| page | load | median (s) | min (s) | max (s) | requests (from cache) | bytes on the wire | body bytes |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page, modes in results.items():
        for mode in ("cold", "warm"):
            smps = modes[mode]
            ready = [x["ready"] for x in smps]
            m, lo, hi = statistics.median(ready), min(ready), max(ready)
            reqs = statistics.median([x["requests"] for x in smps])
            cached = statistics.median([x["from_cache"] for x in smps])
            wire = statistics.median([x["wire_bytes"] for x in smps])
            body = statistics.median([x["body_bytes"] for x in smps])
            wire_s = boot_bench.mb(wire) if wire > 1e6 else boot_bench.kb(wire)
            body_s = boot_bench.mb(body) if mode == "cold" else "-"
            out.append(
                f"| {page} | {mode} | {boot_bench.s(m)} | {boot_bench.s(lo)} | {boot_bench.s(hi)} |"
                f" {reqs:g} ({cached:g}) | {wire_s} | {body_s} |"
            )
    return "\n".join(out)


def biggest(results: dict[str, dict[str, list[dict[str, Any]]]], page: str) -> str:
    """The cold load's largest transfers (Resource Timing ``transferSize``, medians)."""
    per = boot_bench.resource_medians(results[page]["cold"])
    rows = sorted(per.items(), key=lambda kv: -kv[1]["transfer"])[:6]
    out = ["| resource | bytes transferred |", "|---|---:|"]
    out += [f"| {path} | {boot_bench.mb(r['transfer'])} |" for path, r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    args = p.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS
    from tests.serverproc import ServerProcess
    from tests.static.plainserver import PlainServer

    chromium = subprocess.run(
        [str(ROOT / "scripts" / "find-chromium.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    load_before = load_avg()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="static-bench-") as tmp:
        out = Path(tmp) / "demo-repo"
        env = {**os.environ, "BUILD_SKIP_SETUP": os.environ.get("BUILD_SKIP_SETUP", "1")}
        subprocess.run([str(ROOT / "build.sh"), str(out)], check=True, env=env, stdout=sys.stderr)
        with ServerProcess([]) as app, PlainServer(Path(tmp)) as plain, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            urls = {"serve.py": app.url + "#/login", "static": plain.url + "demo-repo/#/login"}
            version = browser.version
            for run in range(args.runs):
                order = list(urls) if run % 2 == 0 else list(reversed(urls))
                for page in order:
                    cold, warm = boot_bench.measure_pair(browser, urls[page])
                    results.setdefault(page, {"cold": [], "warm": []})
                    results[page]["cold"].append(cold)
                    results[page]["warm"].append(warm)
                    print(
                        f"run {run + 1} {page}: cold {boot_bench.s(cold['ready'])} s"
                        f" {boot_bench.mb(cold['wire_bytes'])}, warm {boot_bench.s(warm['ready'])} s",
                        file=sys.stderr,
                    )
            browser.close()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} shared cores",
        "browser": f"headless Chromium {version}",
        "commit": f"`{commit.stdout.strip() or '?'}`",
    }
    section = "\n".join(
        [
            SECTION,
            "",
            f"Measured {meta['date']} on {meta['machine']}; {meta['browser']}; code at {meta['commit']}",
            "(plus uncommitted work in progress). Command (from the repository root):",
            "",
            "```sh",
            f".venv/bin/python bench/static_bench.py --runs {args.runs}",
            "```",
            "",
            "`serve.py` is `web/` from the real `serve.py` (gzip, cache headers); `static` is a fresh",
            "`./build.sh` under `/demo-repo/` served by `tests/static/plainserver.py` (`http.server`: no",
            "compression, no cache headers), as on a host that compresses nothing. Cold = a new browser",
            "context (empty cache); warm = a reload in it. Pages interleaved per run, alternating the",
            f"order; {args.runs} runs; load average {load_before} before, {load_avg()} after. Time = navigation",
            'start to `<html data-app-state="ready">`, bytes = CDP `encodedDataLength` (as',
            "`bench/boot_bench.py`). The first-visit budget of issue 8 is 13.5 MB (1.1x serve.py's 12.2 MB).",
            "",
            table(results),
            "",
            "Largest transfers of the static site's cold load (the runtime goes gzipped and is gunzipped",
            "in the page by `tools/pyodide-snapshot.mjs`; `python_stdlib.app.zip` is deflated already):",
            "",
            biggest(results, "static"),
            "",
        ]
    )
    print(section)
    if not args.no_write:
        text = README.read_text(encoding="utf-8")
        pattern = re.compile(r"^## Static site\n.*?(?=^## |\Z)", re.S | re.M)
        old = pattern.search(text)
        if old:
            # Hand-written notes at the end of the section survive a re-run.
            kept = old.group(0)[old.group(0).find(KEEP) :] if KEEP in old.group(0) else ""
            text = (
                text[: old.start()]
                + section
                + ("\n" + kept.rstrip("\n") + "\n" if kept else "")
                + "\n"
                + text[old.end() :]
            )
        else:
            # Right after the boot-time section, which it extends.
            nxt = re.search(r"^## (?!Boot time)", text[text.find("## Boot time") :], re.M)
            at = text.find("## Boot time") + nxt.start() if nxt else len(text)
            text = text[:at] + section + "\n" + text[at:]
        README.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
