#!/usr/bin/env python3
"""Every figure of issue 11 in one command: runs the benches, keeps their history in
``bench/results.json`` and writes their tables into ``bench/README.md``.

    .venv/bin/python bench/run_all.py --label "after the lock skip"      # everything, ~5 min
    .venv/bin/python bench/run_all.py --only load client --quick         # a subset, tiny sizes

Benches (each in a child process, with ``--json``): ``load`` (bench/load_bench.py: refresh p99
at 200 req/s, open loop, and the knee), ``client`` (bench/client_bench.py: cost per request
in the page, refresh storms), ``tabs`` (bench/tabs_bench.py: 5 tabs through 3 rotations,
sign-out reach) and ``network`` (bench/network_bench.py, a first visit over an emulated
network, run only where that file exists).

Each run is *appended* to ``results.json`` (with its time, commit, label and load average),
so the README's history table shows the before and after of each change. The README part
between the ``run_all`` markers is rewritten from ``results.json``: the latest run's tables
and the history. Never fails on a number: the exit status says only whether every bench ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"

for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

#: name -> (script, full-size arguments, quick arguments)
BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    "load": (
        "load_bench.py",
        ["--rates", "200", "--seconds", "5"],
        ["--rates", "50", "--seconds", "0.5", "--families", "2", "--no-knee"],
    ),
    "client": ("client_bench.py", [], ["--blocks", "2", "--size", "5", "--storm", "10", "--rounds", "1"]),
    "tabs": ("tabs_bench.py", [], ["--tabs", "2", "--rotations", "1", "--signouts", "1"]),
    "network": ("network_bench.py", ["--runs", "3"], ["--runs", "1", "--profiles", "none"]),
}


def commit() -> str:
    """The commit measured, with ``+dirty`` when the work tree has changes to tracked files."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return head.stdout.strip() + ("+dirty" if dirty else "")


def run_bench(name: str, quick: bool) -> dict[str, Any]:
    script, full, small = BENCHES[name]
    path = BENCH / script
    if not path.exists():
        return {"skipped": f"{script} is not in this checkout"}
    with tempfile.TemporaryDirectory(prefix=f"run-all-{name}-") as tmp:
        out = Path(tmp) / "out.json"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(path), *(small if quick else full), "--json", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        seconds = round(time.monotonic() - started, 1)
        if proc.returncode != 0 or not out.exists():
            return {
                "error": f"exit {proc.returncode}",
                "output": (proc.stdout + proc.stderr)[-3000:],
                "seconds": seconds,
            }
        figures: dict[str, Any] = json.loads(out.read_text())
        figures["bench_seconds"] = seconds
        figures["printed"] = proc.stdout
        return figures


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:g}{unit}" if isinstance(value, (int, float)) else str(value)


def history_row(run: dict[str, Any]) -> str:
    b = run["benches"]
    client, load, tabs = b.get("client", {}), b.get("load", {}), b.get("tabs", {})
    per, storm = client.get("per_request", {}), client.get("storm", {})

    def storm_cell(name: str) -> str:
        s = storm.get(name)
        if not s:
            return "-"
        return f"{s['refresh_calls_per_storm']} / +{fmt(s['extra_median_ms'])} ms"

    signout = tabs.get("signout", {})
    active = tabs.get("active", {})
    return (
        f"| {run['when']} | `{run['commit']}` | {run.get('label') or ''} | {fmt(run['load_before'])}"
        f" | {fmt(per.get('client_over_raw_js'))} | {fmt(per.get('client_added_ms'), ' ms')}"
        f" | {fmt(per.get('client_own_cost', {}).get('median'), ' ms')}"
        f" | {fmt(per.get('py_fetch_over_raw_js'))} | {fmt(per.get('lock_wait_idle_py', {}).get('median'), ' ms')}"
        f" | {storm_cell('window')} | {storm_cell('after_401')}"
        f" | {fmt(active.get('refresh_calls'))} / {fmt(active.get('sign_outs'))}"
        f" | {fmt(signout.get('to_last_tab_ms_median'), ' ms')}"
        f" | {fmt(load.get('p99_ms_at_200'), ' ms')} | {fmt(load.get('knee_rps'), '/s')} |"
    )


def render(results: dict[str, Any]) -> str:
    """The README part: the latest run's tables, then one history row per run."""
    from client_bench import report as client_report
    from load_bench import table as load_table
    from tabs_bench import report as tabs_report

    runs = results["runs"]
    last = runs[-1]
    # Each bench's table comes from the latest run that has it (a run may be --only some of them),
    # full-size runs first: a quick smoke run never hides real figures.
    b: dict[str, Any] = {}
    source: dict[str, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: not r.get("quick")):
        for name, figures in run["benches"].items():
            if "error" not in figures and "skipped" not in figures:
                b[name], source[name] = figures, run

    def measured(name: str) -> str:
        run = source[name]
        label = f", {run['label']}" if run.get("label") else ""
        quick = " (quick sizes: a smoke run)" if run.get("quick") else ""
        return (
            f"Measured {run['when']}, code at `{run['commit']}`{label}, load average"
            f" {fmt(run['load_before'])} before / {fmt(run['load_after'])} after{quick}."
        )

    lines = [
        BEGIN,
        "",
        "Command (from the repository root; about 5 minutes; appends to `bench/results.json` and rewrites this part):",
        "",
        "```sh",
        ".venv/bin/python bench/run_all.py --label WHAT-CHANGED",
        "```",
        "",
    ]
    if "per_request" in b.get("client", {}):
        lines += [
            "### Per request, in the page (bench/client_bench.py)",
            "",
            measured("client"),
            "",
            client_report(b["client"]),
            "",
        ]
    if "active" in b.get("tabs", {}):
        lines += ["### Tabs (bench/tabs_bench.py)", "", measured("tabs"), "", tabs_report(b["tabs"]), ""]
    if "results" in b.get("load", {}):
        load = b["load"]
        lines += [
            "### Refresh under an open-loop load (bench/load_bench.py)",
            "",
            measured("load"),
            "",
            load_table(load["results"]),
            "",
            f"p99 at 200 req/s: **{fmt(load.get('p99_ms_at_200'), ' ms')}** (target < 20 ms);"
            f" knee (highest rate tried with p99 < 20 ms): **{fmt(load.get('knee_rps'), ' req/s')}**.",
            "",
        ]
    network = b.get("network", {})
    if network:
        lines += [
            "### First visit over a network (bench/network_bench.py)",
            "",
            measured("network"),
            "",
            "```",
            network.get("printed", "").strip(),
            "```",
            "",
        ]
    for name, figures in last["benches"].items():
        if "error" in figures:
            lines += [f"- {name}: the bench failed ({figures['error']}); see results.json.", ""]
        elif "skipped" in figures:
            lines += [f"- {name}: skipped ({figures['skipped']}).", ""]
    lines += [
        "### History (every run of run_all.py; results.json has the raw figures)",
        "",
        "| when | code | label | load avg | client/raw JS | added | client's own cost | Python fetch/raw JS"
        " | lock wait (Python)"
        " | storm in window: refreshes / extra median | storm after 401 | tabs: refreshes / sign-outs"
        " | sign-out to last tab | refresh p99 @200/s | knee |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---:|",
        *[history_row(run) for run in runs if not run.get("quick")],
        "",
        END,
    ]
    return "\n".join(lines)


def write_readme(readme: Path, part: str) -> None:
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + part + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Where users feel it (issue 11)\n\n" + part + "\n"
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", choices=list(BENCHES), help="run only these benches")
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run; kept out of the history table)")
    p.add_argument("--label", default="", help="what this run measures (e.g. the change it follows)")
    p.add_argument("--results", type=Path, default=BENCH / "results.json")
    p.add_argument("--readme", type=Path, default=BENCH / "README.md")
    args = p.parse_args(argv)
    run: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit(),
        "label": args.label,
        "quick": args.quick,
        "load_before": round(os.getloadavg()[0], 2),
        "benches": {},
    }
    for name in args.only or list(BENCHES):
        print(f"== {name}", flush=True)
        run["benches"][name] = figures = run_bench(name, args.quick)
        print(figures.get("printed") or figures.get("skipped") or figures.get("output", ""), flush=True)
    run["load_after"] = round(os.getloadavg()[0], 2)
    results = json.loads(args.results.read_text()) if args.results.exists() else {"runs": []}
    results["runs"].append(run)
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    write_readme(args.readme, render(results))
    print(f"wrote {args.results} and the tables in {args.readme}")
    return 1 if any("error" in f for f in run["benches"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
