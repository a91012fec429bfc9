"""Each benchmark, run at tiny sizes, still produces its figures (issue 11: benches must not
rot). Nothing here looks at a number's size: benchmarks never fail the suite on a figure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.serverproc import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import client_bench
import engine_boot_bench
import load_bench
import run_all
import tabs_bench


def test_load_bench_produces_a_row_per_rate() -> None:
    args = load_bench.parser().parse_args(["--rates", "40", "--seconds", "0.5", "--families", "2", "--no-knee"])
    out = load_bench.run(args)
    (row,) = out["results"]
    assert row["rate"] == 40 and row["requests"] > 0 and row["errors"] == 0
    assert row["p99_ms"] > 0
    assert "| 40 |" in load_bench.table(out["results"])


@pytest.mark.browser  # launches Chromium (closed again before the browser tests)
@pytest.mark.parametrize("runtime", ["pyodide", "micropython"])
def test_client_bench_produces_per_request_and_storm_figures(runtime: str) -> None:
    size = ["--blocks", "2", "--size", "3", "--storm", "5", "--rounds", "1"]
    args = client_bench.parser().parse_args([*size, "--runtime", runtime])
    out = client_bench.run(args)
    assert out["per_request"]["page_runtime"] == runtime and out["meta"]["page_errors"] == []
    per, storm = out["per_request"], out["storm"]
    for name in ("client", "raw_js", "py_fetch", "transport", "lock_wait_idle_py", "client_own_cost"):
        assert per[name]["n"] > 0 and per[name]["median"] >= 0, name
    assert per["refresh_calls"] == 0  # long-lived token: the per-request run never refreshes
    # Every token is in the window here: a call that the machine's load sends only after the first
    # refresh has ended carries the new token and rightly refreshes again (two seen once in a loaded
    # clean-clone run). Refreshes are one at a time; the bench's own figures count them per storm.
    assert 1 <= storm["window"]["refresh_calls_per_storm"][0] <= 5
    assert storm["window"]["ok_per_storm"] == [5]
    assert storm["after_401"]["ok_per_storm"] == [5]
    assert "client/raw JS" in client_bench.report(out)


@pytest.mark.browser  # launches Chromium (closed again before the browser tests)
def test_tabs_bench_produces_counts_and_sign_out_times() -> None:
    args = tabs_bench.parser().parse_args(["--tabs", "2", "--rotations", "1", "--signouts", "1"])
    out = tabs_bench.run(args)
    assert out["active"]["refresh_calls"] == 1
    assert len(out["signout"]["runs"][0]["per_tab_ms"]) == 2
    assert "sign-out to the last of 2 tabs" in tabs_bench.report(out)


def test_run_all_appends_to_the_history_and_rewrites_one_readme_part(tmp_path: Path) -> None:
    results, readme = tmp_path / "results.json", tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nKept as it is.\n")
    argv = ["--only", "load", "--quick", "--results", str(results), "--readme", str(readme)]
    assert run_all.main(argv) == 0
    assert run_all.main([*argv, "--label", "again"]) == 0
    runs = json.loads(results.read_text())["runs"]
    assert [r["label"] for r in runs] == ["", "again"]
    assert "results" in runs[-1]["benches"]["load"]
    text = readme.read_text()
    assert text.startswith("# Benchmarks\n\nKept as it is.\n")
    assert text.count(run_all.BEGIN) == 1 and text.count(run_all.END) == 1
    assert "### Refresh under an open-loop load" in text


def test_engine_boot_bench_times_a_copy_of_the_page_and_rewrites_only_its_subsection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parts that need no browser: the timed copy, the table, the README subsection.
    copy = engine_boot_bench.timed_copy(ROOT / "bench" / "bare", tmp_path / "bare")
    assert '<meta charset="utf-8">\n  <script src="bench-ready.js"></script>' in (copy / "index.html").read_text()
    assert "data-app-state" in (copy / "bench-ready.js").read_text()
    sample = {"ready": 1500.0, "boot": "snapshot", "requests": 25, "fromCache": 13, "wire": 8.2e6}
    bare = {**sample, "ready": 3000.0, "boot": None}
    pages = {"app": {"cold": [sample], "warm": [sample]}, "bare": {"cold": [bare], "warm": [bare]}}
    report = engine_boot_bench.build_report({"firefox": pages}, {"firefox": "Firefox ESR 153.8.0"})
    assert "| Firefox ESR 153.8.0 | app | cold | 1.50 |" in report
    assert "app/bare = **0.50**" in report
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n## Boot time\n\nChromium.\n\n### Findings\n\nKept.\n\n## Next\n\nAfter.\n")
    monkeypatch.setattr(engine_boot_bench, "README", readme)
    for run in ("first", "second"):
        engine_boot_bench.write_readme(f"{engine_boot_bench.SUBSECTION}\n\n{run} run\n")
    text = readme.read_text()
    assert text.count(engine_boot_bench.SUBSECTION) == 1 and "second run" in text and "first run" not in text
    assert text.index("Kept.") < text.index("second run") < text.index("## Next")
