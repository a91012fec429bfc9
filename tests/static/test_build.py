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
    assert "static/vendor/micropython-1.27.0/micropython.mjs" in refs  # the default page's interpreter
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


@pytest.fixture
def light_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that skips the runtime, wheels and examples (what these tests do not look at)."""
    for name in ("_copy_runtime", "_build_wheels", "_copy_examples", "check_site"):
        monkeypatch.setattr(build_site, name, lambda *_args: None)


def built_config_and_csp(out: Path) -> tuple[dict[str, object], str]:
    html = (out / "index.html").read_text()
    csp = html.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    return json.loads((out / "config.json").read_text()), csp


@pytest.mark.usefixtures("light_build")
def test_simplejwt_base_writes_the_kind_the_api_base_and_lets_the_page_reach_it(tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert build_site.main([str(out), "--simplejwt-base", "https://api.example.org:8443/api/"]) == 0
    config, csp = built_config_and_csp(out)
    assert config["auth"] == {
        "kind": "simplejwt",
        "tokenUrl": "https://api.example.org:8443/api/token/",
        "refreshUrl": "https://api.example.org:8443/api/token/refresh/",
        "logoutUrl": "https://api.example.org:8443/api/token/blacklist/",
    }
    assert (config["apiBase"], config["crossOriginApi"], config["demoApi"]) == (
        "https://api.example.org:8443/api",
        True,
        False,  # no demo of this project's API stands in for a SimpleJWT one
    )
    assert "connect-src 'self' https://api.example.org:8443;" in csp + ";"


@pytest.mark.usefixtures("light_build")
def test_oidc_flags_write_the_kind_and_let_the_page_reach_exactly_the_issuer(tmp_path: Path) -> None:
    out = tmp_path / "site"
    argv = [str(out), "--oidc-issuer", "https://id.example.org/realms/a", "--oidc-client-id", "spa"]
    assert build_site.main([*argv, "--oidc-scope", "openid profile offline_access"]) == 0
    config, csp = built_config_and_csp(out)
    assert config["auth"] == {
        "kind": "oidc",
        "issuer": "https://id.example.org/realms/a",
        "clientId": "spa",
        "scope": "openid profile offline_access",
    }
    assert config["demoApi"] is False and "crossOriginApi" not in config
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    assert connect == "connect-src 'self' https://id.example.org"
    assert '<html data-sign-in="provider" ' in (out / "index.html").read_text()  # no password form before boot
    assert build_site.main([*argv, "--connect-origin", "https://tokens.example.org"]) == 0
    assert "https://tokens.example.org" in built_config_and_csp(out)[1]


@pytest.mark.parametrize(
    "flags",
    [
        ["--simplejwt-base", "https://a.test/api", "--oidc-issuer", "https://id.test", "--oidc-client-id", "x"],
        ["--oidc-issuer", "https://id.test"],
        ["--oidc-client-id", "x"],
    ],
)
def test_auth_flags_that_do_not_go_together_are_refused(flags: list[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_site.main([str(tmp_path / "site"), *flags])
    assert exit_.value.code == 2
    assert not (tmp_path / "site").exists()


@pytest.mark.usefixtures("light_build")
def test_a_simplejwt_base_that_is_not_a_url_is_refused(tmp_path: Path) -> None:
    assert build_site.main([str(tmp_path / "site"), "--simplejwt-base", "api"]) == 1
