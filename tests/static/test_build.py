"""What ``./build.sh OUT`` writes, checked as files (no browser): contract section 9."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serverproc import ROOT
from tools import build_site


def test_the_site_holds_the_page_its_config_and_the_runtime_and_no_build_leftovers(built: Path) -> None:
    for name in ("index.html", "app.css", "boot.js", "main.py", "pyscript.toml", "pyapp.zip", ".nojekyll"):
        assert (built / name).is_file(), name
    config = json.loads((built / "config.json").read_text())
    assert config == {
        "apiBase": "api/v1",
        "refreshWindowSeconds": 1800,
        "timeoutMs": 10000,
        "lang": "auto",
        "demoApi": "auto",
    }
    runtime = built / "static" / "vendor" / "pyodide-314.0.7"
    for name in ("pyodide.asm.wasm.gz", "pyodide.asm.mjs.gz", "pyodide-lock.json.gz", "snapshot.bin.gz"):
        assert (runtime / name).is_file(), name
    files = [p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()]
    assert [f for f in files if "/." in "/" + f and not f.startswith((".nojekyll", build_site.MARKER))] == []
    assert not (runtime / "snapshot.bin").exists()  # 30 MiB nobody fetches: the page takes the .gz


def test_every_url_the_page_names_is_relative_and_in_the_site(built: Path) -> None:
    refs = build_site.page_references(built)
    assert "static/vendor/pyodide-314.0.7/pyodide-snapshot.mjs" in refs
    build_site.check_site(built)  # raises on an absolute URL or a missing file


def test_the_csp_travels_in_a_meta_tag_without_what_a_meta_tag_cannot_carry(built: Path) -> None:
    html = (built / "index.html").read_text()
    assert html.count('http-equiv="Content-Security-Policy"') == 1
    csp = html.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval' blob:" in csp
    assert "connect-src 'self';" in csp
    for directive in ("frame-ancestors", "report-uri", "sandbox"):
        assert directive not in csp


def test_an_api_on_another_origin_is_added_to_connect_src() -> None:
    csp = build_site.meta_csp("default-src 'self'; connect-src 'self'", ["https://api.example.org:8443"])
    assert csp == "default-src 'self'; connect-src 'self' https://api.example.org:8443"
    assert build_site.api_origin("https://API.example.org:8443/v1") == "https://api.example.org:8443"
    assert build_site.api_origin("api/v1") is None
    for bad in ("javascript:alert(1)", "ftp://example.org/", "https://user:pw@example.org/", "https:///v1"):
        with pytest.raises(build_site.BuildError):
            build_site.api_origin(bad)


@pytest.mark.parametrize("where", ["/", "root", "home"])
def test_build_refuses_to_empty_a_folder_that_is_not_a_build(where: str, tmp_path: Path) -> None:
    out = {"/": Path("/"), "root": ROOT, "home": Path.home()}[where]
    with pytest.raises(build_site.BuildError, match="refusing"):
        build_site.check_out(out.resolve())


def test_build_refuses_a_non_empty_folder_without_its_marker_and_reuses_its_own(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert build_site.main([str(tmp_path), "--demo-api", "false"]) == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "notes.txt").unlink()
    (tmp_path / build_site.MARKER).write_text("")
    (tmp_path / "stale.txt").write_text("from an older build")
    build_site.check_out(tmp_path)  # an earlier build: may be emptied
