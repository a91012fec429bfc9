"""The requests worker's config (web/requests-worker.toml) names what this checkout serves:
the vendored Pyodide's plain loader and this version's tokensession wheel."""

from __future__ import annotations

import tomllib

from tests.serverproc import ROOT
from tokensession import __version__


def test_the_worker_config_names_the_vendored_pyodide_and_this_wheel() -> None:
    config = tomllib.loads((ROOT / "web" / "requests-worker.toml").read_text(encoding="utf-8"))
    assert (ROOT / "web" / config["interpreter"]).name == "pyodide.mjs"  # the plain loader, not the snapshot's
    assert (ROOT / config["interpreter"]).is_file()  # static/vendor/... as served at the app's base
    assert f"./wheels/tokensession-{__version__}-py3-none-any.whl" in config["packages"]
    assert {"requests", "pyodide-http"} <= set(config["packages"])
    assert (ROOT / "web" / "requests_worker.py").is_file()
