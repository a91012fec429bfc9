"""serve.py as a user and a browser see it: the CLI, static files, headers, config.json."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zstandard

from tests.serverproc import ROOT, ServerProcess

PYODIDE = "static/vendor/pyodide-314.0.7"
PYSCRIPT = "static/vendor/pyscript-0.7.31"


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    with ServerProcess(["--refresh-window", "42", "--timeout-ms", "1234"]) as s:
        yield s


@pytest.fixture(scope="module")
def http(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        yield c


def test_prints_the_real_url_for_port_0(srv: ServerProcess) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", srv.url)
    assert not srv.url.endswith(":0/")
    assert srv.output[0] == f"Serving on {srv.url}"


def test_config_json_applies_the_flags(http: httpx.Client) -> None:
    resp = http.get("config.json")
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {
        "apiBase": "api/v1",
        "refreshWindowSeconds": 42,
        "timeoutMs": 1234,
        "lang": "auto",
        "demoApi": False,
        "refreshCookie": "js",
    }


@pytest.mark.parametrize(
    ("path", "mime"),
    [
        ("", "text/html"),
        ("app.css", "text/css"),
        ("boot.js", "text/javascript"),
        (f"{PYODIDE}/pyodide.mjs", "text/javascript"),
        (f"{PYODIDE}/pyodide.asm.wasm", "application/wasm"),
        (f"{PYSCRIPT}/core.js", "text/javascript"),
        ("pyapp.zip", "application/zip"),
    ],
)
def test_mime_types(http: httpx.Client, path: str, mime: str) -> None:
    resp = http.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].split(";")[0] == mime


def test_versioned_runtime_is_cached_for_a_year_and_app_files_revalidate(http: httpx.Client) -> None:
    assert http.get(f"{PYODIDE}/pyodide.mjs").headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("", "app.css", "pyscript.toml", "main.py", "pyapp.zip", "config.json"):
        assert http.get(path).headers["cache-control"] == "no-cache", path
    first = http.get("app.css")
    again = http.get("app.css", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    zipped = http.get("pyapp.zip")
    assert http.get("pyapp.zip", headers={"if-none-match": zipped.headers["etag"]}).status_code == 304


def test_runtime_is_served_precompressed_and_decompresses_to_the_same_bytes(http: httpx.Client) -> None:
    path = f"{PYODIDE}/pyodide.asm.wasm"
    resp = http.get(path, headers={"accept-encoding": "gzip"})
    assert resp.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in resp.headers["vary"].lower()
    assert int(resp.headers["content-length"]) < (ROOT / path).stat().st_size / 2
    assert resp.content == (ROOT / path).read_bytes()  # httpx decodes gzip
    plain = http.get(path, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == (ROOT / path).read_bytes()


def test_a_browser_that_takes_zstd_gets_the_zstd_form(http: httpx.Client) -> None:
    path = f"{PYODIDE}/pyodide.asm.wasm"
    raw = (ROOT / path).read_bytes()
    with http.stream("GET", path, headers={"accept-encoding": "gzip, deflate, br, zstd"}) as resp:
        assert resp.headers["content-encoding"] == "zstd"
        assert resp.headers["content-type"] == "application/wasm"
        assert "accept-encoding" in resp.headers["vary"].lower()
        assert resp.headers["x-decoded-length"] == str(len(raw))  # for the loader's link probe
        wire = b"".join(resp.iter_raw())
    assert wire == (ROOT / (path + ".zst")).read_bytes()
    assert len(wire) < len((ROOT / (path + ".gz")).read_bytes())  # why it is worth it
    assert zstandard.ZstdDecompressor().decompress(wire) == raw
    # zstd refused (q=0): gzip.
    assert http.get(path, headers={"accept-encoding": "zstd;q=0, gzip"}).headers["content-encoding"] == "gzip"


def test_the_loaders_gz_names_are_the_compressed_form_of_the_file(http: httpx.Client) -> None:
    """The loader asks for `name.gz`: a browser that takes zstd gets the file zstd-encoded
    (the body then decodes to the file itself), else the .gz as it is."""
    path = f"{PYODIDE}/snapshot.bin"
    with http.stream("GET", path + ".gz", headers={"accept-encoding": "gzip, zstd"}) as resp:
        assert resp.headers["content-encoding"] == "zstd"
        assert resp.headers["cache-control"] == "no-cache"  # built here, under a versioned folder
        assert resp.headers["x-decoded-length"] == str((ROOT / path).stat().st_size)
        wire = b"".join(resp.iter_raw())
    assert zstandard.ZstdDecompressor().decompress(wire) == (ROOT / path).read_bytes()
    with http.stream("GET", path + ".gz", headers={"accept-encoding": "gzip"}) as resp:
        assert "content-encoding" not in resp.headers
        assert resp.headers["content-type"] == "application/gzip"
        assert "accept-encoding" in resp.headers["vary"].lower()
        assert b"".join(resp.iter_raw()) == (ROOT / (path + ".gz")).read_bytes()


def test_app_text_files_are_compressed(http: httpx.Client) -> None:
    with http.stream("GET", "app.css", headers={"accept-encoding": "gzip"}) as raw:
        assert raw.headers.get("content-encoding") == "gzip"
        wire = b"".join(raw.iter_raw())  # the bytes as sent, not decoded by httpx
    source = (ROOT / "web" / "app.css").read_bytes()
    assert wire[:2] == b"\x1f\x8b" and len(wire) < len(source)
    assert gzip.decompress(wire) == source


def test_security_headers_on_pages_files_and_api(http: httpx.Client) -> None:
    for path in ("", f"{PYODIDE}/pyodide.mjs", "config.json", "api/v1/info", "api/v1/nope", "nope"):
        h = http.get(path).headers
        assert h["x-content-type-options"] == "nosniff", path
        assert h["referrer-policy"] == "no-referrer", path
        csp = h["content-security-policy"]
        assert "default-src 'self'" in csp and "'wasm-unsafe-eval'" in csp and "frame-ancestors 'none'" in csp
        assert "access-control-allow-origin" not in h  # no CORS unless a flag allows it


def test_pyapp_zip_holds_the_app_and_the_library_without_caches(http: httpx.Client) -> None:
    import io
    import zipfile

    import serve

    def names(body: bytes) -> list[str]:
        return zipfile.ZipFile(io.BytesIO(body)).namelist()

    packages = ("pyapp/", "tokensession/", "authapi/")
    # The default page's (MicroPython): the packages as bytecode, micropython/lib's stand-ins at the top.
    mpy = names(http.get("pyapp.zip").content)
    assert "pyapp/__init__.mpy" in mpy and "pyapp/browser/shell.mpy" in mpy
    assert "tokensession/__init__.mpy" in mpy and "tokensession/browser/fetch.mpy" in mpy
    assert "authapi/app.mpy" in mpy  # the in-page demo API runs it
    assert "cpython_compat.mpy" in mpy and "typing.mpy" in mpy
    assert not [n for n in mpy if "__pycache__" in n or not n.endswith(".mpy")]
    # The Pyodide page's (serve.py --runtime pyodide): the sources, nothing else.
    py = names(serve.PackageZip("pyodide").current()[0])
    assert "pyapp/__init__.py" in py and "pyapp/browser/shell.py" in py
    assert "tokensession/__init__.py" in py and "tokensession/browser/fetch.py" in py
    assert "authapi/app.py" in py
    assert not [n for n in py if "__pycache__" in n or not n.startswith(packages)]


def test_unknown_file_is_404(http: httpx.Client) -> None:
    assert http.get("no-such-file.js").status_code == 404


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "70000"],
        ["--access-ttl", "0"],
        ["--user", "nocolon"],
        ["--refresh-grace", "-1"],
        ["--port", "x"],
        ["--base-path", "repo"],
        ["--base-path", "//evil.example/"],
    ],
)
def test_bad_flags_exit_2_with_a_message(args: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "serve.py"), "--db", str(tmp_path / "db"), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "error:" in done.stderr


def run_serve(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``serve.py --port 0 ARGS`` in ``cwd``: its status, stdout and stderr once it exits or,
    if it starts serving instead, once it has been stopped (SIGTERM: status 0)."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "serve.py"), "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "Serving on ..." or "" once it has exited
    if first:
        proc.terminate()
    out, err = proc.communicate(timeout=30)  # a hang guard, not a bound on how fast it is
    return proc.returncode, first + out, err


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"/" for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("postgresql://user@127.0.0.1:1/db", "cannot open the token store"),  # nothing listens on port 1
        ("sqlite:///tokens.sqlite3", "a URL must be a PostgreSQL one"),
        ("mysql://user@host/db", "a URL must be a PostgreSQL one"),
        ("a-folder", "folder, not a file"),
        ("no-such-folder/tokens.sqlite3", "does not exist"),
        ("notes.txt", "not a database"),
        ("damaged.sqlite3", "not a database"),  # SQLite's header, then no database
        ("newer.sqlite3", "is newer than this server"),
    ],
)
def test_db_refuses_what_it_cannot_open_in_one_line_creating_nothing(value: str, says: str, tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "notes.txt").write_text("these are notes, not a database\n" * 10)
    (tmp_path / "damaged.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with contextlib.closing(sqlite3.connect(tmp_path / "newer.sqlite3")) as newer:
        newer.execute("PRAGMA user_version=99")
    before = tree(tmp_path)
    status, out, err = run_serve(tmp_path, "--db", value)
    assert (status, out) == (2, ""), err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--db" in lines[0] and says in lines[0], err
    assert tree(tmp_path) == before


def test_db_takes_a_new_file_in_an_existing_folder_and_an_existing_store(tmp_path: Path) -> None:
    for _ in range(2):  # created, then opened again
        status, out, err = run_serve(tmp_path, "--db", "tokens.sqlite3")
        assert status == 0 and out.startswith("Serving on "), err
    assert (tmp_path / "tokens.sqlite3").read_bytes().startswith(b"SQLite format 3\x00")


def test_without_db_the_per_user_data_folder_is_created(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    status, out, err = run_serve(tmp_path, env=env)
    assert status == 0 and out.startswith("Serving on "), err
    assert (tmp_path / "data" / "pyauth-spa" / "tokens.sqlite3").is_file()


def test_a_busy_port_is_a_clear_error(srv: ServerProcess, tmp_path: Path) -> None:
    port = srv.url.rstrip("/").rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, str(ROOT / "serve.py"), "--port", port, "--db", str(tmp_path / "db")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_runtime_versions_in_the_page_match_the_pins() -> None:
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    page = (ROOT / "web" / "index.html").read_text() + (ROOT / "web" / "pyscript.toml").read_text()
    assert f"pyodide-{pins['pyodide']}/" in page
    assert f"pyscript-{pins['@pyscript/core']}/" in page
    # pyodide-http is installed on first use (micropip, from the vendored lock), never at boot.
    assert "pyodide_http" not in page
    assert not re.search(r"https?://", (ROOT / "web" / "pyscript.toml").read_text())


def test_x_forwarded_for_cannot_dodge_the_per_address_limit(http: httpx.Client) -> None:
    # No proxy stands in front of serve.py: the address is the socket's, whatever a header says.
    codes = [
        http.post(
            "api/v1/login",
            json={"username": f"nobody{i}", "password": "x"},
            headers={"x-forwarded-for": f"10.0.0.{i}"},
        ).status_code
        for i in range(11)
    ]
    assert codes == [401] * 10 + [429]


def test_base_path_serves_everything_under_it_and_redirects_to_it() -> None:
    with ServerProcess(["--base-path", "/repo"]) as srv:
        assert srv.url.endswith("/repo/")
        root = srv.url[: -len("repo/")]
        with httpx.Client(timeout=10) as c:
            assert c.get(root).headers["location"].endswith("/repo/")
            assert c.get(root + "repo").headers["location"].endswith("/repo/")
            assert c.get(srv.url).status_code == 200
            assert c.get(srv.url + "config.json").json()["apiBase"] == "api/v1"
            assert c.get(srv.url + "api/v1/info").status_code == 200
            assert c.get(root + "api/v1/info").status_code == 404


def bare_python(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.Popen[str]:
    """serve.py under an interpreter that sees none of our packages (-I: no user site or
    PYTHON* variables; -S: no site-packages at all), run from elsewhere."""
    return subprocess.Popen(
        [sys.executable, "-I", "-S", str(ROOT / "serve.py"), *args],
        cwd="/",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_python_without_our_packages_gets_one_line_not_a_traceback() -> None:

    proc = bare_python("--port", "0", env={**os.environ, "PYAUTH_SERVE_NO_VENV": "1"})
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "./run.sh" in lines[0]


def test_a_python_without_our_packages_reexecutes_under_the_venv() -> None:

    env = {k: v for k, v in os.environ.items() if k != "PYAUTH_SERVE_NO_VENV"}
    proc = bare_python("--port", "0", env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until serve.py (re-executed) is listening
        assert re.fullmatch(r"Serving on http://127\.0\.0\.1:\d+/\n", line), line
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_help_works_without_our_packages() -> None:

    proc = bare_python("--help", env={**os.environ, "PYAUTH_SERVE_NO_VENV": "1"})
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "--access-ttl" in out and err == ""


def test_pyapp_zip_is_built_once_per_change_of_the_packaged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import serve

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("x = 1\n")
    monkeypatch.setattr(serve, "PAGE_PACKAGES", (pkg,))
    builds: list[int] = []
    real_zip = serve.zip_package
    monkeypatch.setattr(serve, "zip_package", lambda *f: builds.append(1) or real_zip(*f))
    zips = serve.PackageZip("pyodide")  # the zip of sources (zip_package, counted above)
    first = zips.current()
    assert zips.current() == first and zips.current() == first
    assert len(builds) == 1  # not rebuilt per request
    (pkg / "__init__.py").write_text("x = 2\n")
    stat = (pkg / "__init__.py").stat()
    os.utime(pkg / "__init__.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = zips.current()
    assert len(builds) == 2 and second[1] != first[1]  # an edit shows at once
    (pkg / "views.py").write_text("")
    assert zips.current()[1] != second[1] and len(builds) == 3  # so does a new file
    (pkg / "views.py").unlink()
    assert zips.current()[1] == second[1] and len(builds) == 4  # and a removed one
