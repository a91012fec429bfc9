"""``unpack`` of ``web/main.py``, which a MicroPython page runs on ``pyapp.zip`` before anything
imports: under MicroPython in Node (the npm build the page loads), on the zip serve.py serves,
deflated and stored; and its refusals, in CPython.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

import serve

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE = shutil.which("node")

LIST_FILES = """
import hashlib, json, os, sys
import unpack

def walk(folder, prefix=""):
    for name in sorted(os.listdir(folder)):
        path = folder + "/" + name
        if os.stat(path)[0] & 0x4000:
            yield from walk(path, prefix + name + "/")
        else:
            with open(path, "rb") as f:
                yield prefix + name, hashlib.sha256(f.read()).digest().hex()

for zip_name in sys.argv[1:]:
    dest = "/out-" + zip_name
    os.mkdir(dest)
    count = unpack.unpack("/app/" + zip_name, dest)
    print(json.dumps({"zip": zip_name, "count": count, "files": dict(walk(dest))}))
"""


def unpack_module() -> str:
    """``unpack`` and its helper, as web/main.py has them (main.py itself runs the app)."""
    source = (ROOT / "web" / "main.py").read_text(encoding="utf-8")
    wanted = {"unpack", "_inflate"}
    parts = [ast.get_source_segment(source, node) for node in ast.parse(source).body]
    defs = [p for p, node in zip(parts, ast.parse(source).body, strict=True) if getattr(node, "name", "") in wanted]
    assert len(defs) == len(wanted), "web/main.py lost unpack or _inflate"
    return "\n\n".join(d for d in defs if d)


def stored_copy(zip_bytes: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=info.date_time), src.read(info))
    return out.getvalue()


def expected(zip_bytes: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        return {i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}


@pytest.mark.skipif(NODE is None, reason="node is not installed (./test.sh installs it)")
def test_micropython_unpacks_the_pages_zip_deflated_and_stored_to_the_same_files(tmp_path: Path) -> None:
    deflated = serve.PackageZip("micropython").current()[0]
    zips = {"pyapp.zip": deflated, "stored.zip": stored_copy(deflated)}
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "unpack.py").write_text(unpack_module(), encoding="utf-8")
    (tree / "list_files.py").write_text(LIST_FILES, encoding="utf-8")
    for name, body in zips.items():
        (tree / name).write_bytes(body)
    done = subprocess.run(
        [str(NODE), str(HERE / "run.mjs"), str(tree), str(tree / "list_files.py"), *zips],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["zip"] for r in results] == list(zips)
    want = expected(deflated)
    assert len(want) > 50 and "pyapp/app.mpy" in want and "cpython_compat.mpy" in want
    for result in results:
        assert result["files"] == want, result["zip"]
        assert result["count"] == len(want)


def load_unpack() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(unpack_module(), "web/main.py", "exec"), namespace)
    return namespace["unpack"]


@pytest.mark.parametrize("name", ["../outside.py", "/etc/outside.py", "pkg/../../outside.py"])
def test_an_entry_that_would_leave_the_folder_is_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(name, b"x = 1\n")
    (tmp_path / "evil.zip").write_bytes(archive.getvalue())
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ValueError, match="would leave"):
        load_unpack()(str(tmp_path / "evil.zip"), str(dest))
    assert list(dest.iterdir()) == [] and not (tmp_path / "outside.py").exists()


def test_what_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyapp.zip").write_bytes(b"<html>404</html>")
    with pytest.raises(ValueError, match="not a zip"):
        load_unpack()(str(tmp_path / "pyapp.zip"), str(tmp_path))


def test_cpython_unpacks_the_same_files(tmp_path: Path) -> None:
    deflated = serve.PackageZip("micropython").current()[0]
    (tmp_path / "pyapp.zip").write_bytes(deflated)
    dest = tmp_path / "out"
    dest.mkdir()
    count = load_unpack()(str(tmp_path / "pyapp.zip"), str(dest))
    files = {
        p.relative_to(dest).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in dest.rglob("*")
        if p.is_file()
    }
    assert files == expected(deflated) and count == len(files)
