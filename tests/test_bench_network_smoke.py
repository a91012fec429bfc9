"""A cheap run of ``bench/network_bench.py`` so that it does not rot (never a timing check).

One run, no throttling (the unthrottled profile, 40 ms latency), in a subprocess (the bench
drives Playwright's sync API, which must not share this process's event loop).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.browser  # its subprocess drives Chromium
@pytest.mark.parametrize("runtime", ["pyodide", "micropython"])
def test_network_bench_produces_figures_for_app_and_bare(tmp_path: Path, runtime: str) -> None:
    out = tmp_path / "network.json"
    cmd = [sys.executable, str(ROOT / "bench" / "network_bench.py"), "--runs", "1", "--profiles", "none"]
    cmd += ["--runtime", runtime, *(["--plain"] if runtime == "pyodide" else [])]
    done = subprocess.run([*cmd, "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| none |" in done.stdout  # the table was printed
    data = json.loads(out.read_text())
    row = data["summary"]["none"]
    for key in ("app_cold", "bare_cold", "app_warm", "bare_warm"):
        assert row[key]["ready_ms"] > 0, key
    assert data["meta"]["runtime"] == runtime
    floor = 1e6 if runtime == "pyodide" else 1e5  # the interpreter came over the wire
    assert row["app_cold"]["wire_bytes"] > floor and row["bare_cold"]["wire_bytes"] > floor
    assert row["app_cold"]["form_ms"] is not None  # the login field was seen usable
    assert row["app_cold"]["boot"] in ((["snapshot"], ["plain"]) if runtime == "pyodide" else (["None"],))
    assert row["ratio_cold"] > 0 and row["ratio_warm"] > 0
    if runtime == "pyodide":  # --plain: the app served without its snapshot boots the plain way, cold and warm
        assert row["app-plain_cold"]["boot"] == row["app-plain_warm"]["boot"] == ["plain"]
        assert row["app-plain_warm"]["wire_bytes"] < 1e6  # a warm visit: from the HTTP cache
