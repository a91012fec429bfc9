"""The trimmed stdlib the app's pages load (``python_stdlib.app.zip``, tools/vendor.py from
tools/stdlib-keep.txt): it holds every module the page, our code, PyScript and the pinned
wheels import, drops what no path of ours uses, and is the same bytes for the same list."""

from __future__ import annotations

import _imp
import ast
import gzip
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from tests.serverproc import ROOT

sys.path.insert(0, str(ROOT / "tools"))  # tools/ is not a package (as `python tools/vendor.py` runs it)
import stdlib_keep
import vendor

if not stdlib_keep.STOCK_ZIP.is_file():
    pytest.skip("node_modules/pyodide is not installed (npm ci)", allow_module_level=True)

STOCK = stdlib_keep.STOCK_ZIP.read_bytes()
TRIMMED = vendor.trimmed_stdlib(STOCK, vendor.keep_list())
VENDORED = ROOT / "static" / "vendor" / "pyodide-314.0.7"

# What the brief of the trimmed zip says must go (bench/README.md), and what it must keep.
DROPPED = (
    "multiprocessing", "xml", "_pyrepl", "unittest", "pdb", "doctest", "pydoc", "ctypes", "_pyio",
    "xmlrpc", "wsgiref", "imaplib", "pickletools", "argparse", "optparse", "statistics", "tomllib",
)  # fmt: skip
# Not in Pyodide's zip at all (tkinter, idlelib, ...): nothing to drop, and they stay out.
NEVER_THERE = ("tkinter", "idlelib", "turtledemo", "lib2to3", "venv", "ensurepip", "curses")


def _members(data: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return set(zf.namelist())


def _has_module(members: set[str], module: str) -> bool:
    path = module.replace(".", "/")
    return any(f"{path}{end}" in members for end in (".py", "/__init__.py", ".pyc", "/__init__.pyc"))


STOCK_MEMBERS = _members(STOCK)
TRIMMED_MEMBERS = _members(TRIMMED)


def _our_imports() -> set[str]:
    """Every module (full dotted name) imported anywhere in our page code and the demo API."""
    found: set[str] = set()
    for folder in ("pyapp", "tokensession", "authapi"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module)
                    found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_every_module_the_page_had_loaded_is_in_the_trimmed_zip() -> None:
    # sys.modules in the page at boot, signed in, and after the lazy sync path (requests).
    sample = json.loads((ROOT / "bench" / "results" / "page-modules.json").read_text())
    seen = {m for phase in ("boot", "signed_in", "lazy") for m in sample[phase]}
    from_zip = {m for m in seen if _has_module(STOCK_MEMBERS, m)}
    assert len(from_zip) > 250  # the sample is the real one, not an empty list
    assert sorted(m for m in from_zip if not _has_module(TRIMMED_MEMBERS, m)) == []


def test_every_stdlib_module_our_code_imports_is_in_the_trimmed_zip() -> None:
    # The app, the library, and authapi with the in-page demo API (hashlib, hmac, secrets, ...).
    wanted = {m for m in _our_imports() if _has_module(STOCK_MEMBERS, m)}
    assert {"hashlib", "hmac", "secrets", "base64", "json", "urllib.parse"} <= wanted
    assert sorted(m for m in wanted if not _has_module(TRIMMED_MEMBERS, m)) == []


def test_the_modules_the_snapshot_imports_are_in_the_trimmed_zip() -> None:
    # tools/make_snapshot.mjs imports them from that zip at build time (the demo API's too).
    source = (ROOT / "tools" / "make_snapshot.mjs").read_text()
    block = source.split("const MODULES = [", 1)[1].split("];", 1)[0]
    modules = [line.split('"')[1] for line in block.splitlines() if line.strip().startswith('"')]
    assert "hashlib" in modules and "datetime" in modules
    assert [m for m in modules if not _has_module(TRIMMED_MEMBERS, m)] == []


def test_micropips_install_path_and_pyodides_own_packages_are_kept() -> None:
    # micropip (installing requests, the minimal example's wheels) and Pyodide's package loader.
    for module in (
        "importlib.metadata", "email.parser", "zipfile", "tarfile", "sysconfig", "platform", "shutil",
        "csv", "pyodide._package_loader", "pyodide.ffi", "pyodide.webloop", "_pyodide._importhook",
        "_sysconfigdata__emscripten_wasm32-emscripten", "encodings.idna", "encodings.cp437",
    ):  # fmt: skip
        assert _has_module(TRIMMED_MEMBERS, module), module


def test_dropped_packages_are_gone() -> None:
    tops = {vendor.top_name(m) for m in TRIMMED_MEMBERS}
    assert set(DROPPED) <= {vendor.top_name(m) for m in STOCK_MEMBERS}  # they were there to drop
    assert sorted(tops & {*DROPPED, *NEVER_THERE}) == []
    # What the page downloads: the trimmed zip compressed as one (its members are stored).
    assert len(gzip.compress(TRIMMED, 9)) < len(STOCK) - 750_000


def test_members_are_stored_whole_with_their_crc() -> None:
    with zipfile.ZipFile(io.BytesIO(TRIMMED)) as zf:
        infos = zf.infolist()
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        assert all(i.compress_size == i.file_size for i in infos)
        assert zf.testzip() is None  # every member reads back with its CRC


def test_the_list_is_the_import_closure_it_says_it_is() -> None:
    # Fails when the page sample, our imports, the wheels or Pyodide change what is needed:
    # `.venv/bin/python tools/stdlib_keep.py` rewrites the list (then tools/vendor.py).
    if not stdlib_keep.WHEEL_CACHE.is_dir():
        pytest.skip("the pinned wheels are not cached (tools/vendor.py)")
    with zipfile.ZipFile(io.BytesIO(STOCK)) as stock:
        closure = stdlib_keep.closure(stock)
    assert sorted(set(closure) ^ set(vendor.keep_list())) == []


def test_every_import_of_a_kept_module_is_kept_or_a_deliberate_cut() -> None:
    kept = set(vendor.keep_list())
    tops = {vendor.top_name(m) for m in STOCK_MEMBERS}
    missing = set()
    with zipfile.ZipFile(io.BytesIO(TRIMMED)) as zf:
        for member in zf.namelist():
            if not member.endswith(".py") or member.endswith("__main__.py"):
                continue
            module, is_package = stdlib_keep._module_of(member)
            for name in stdlib_keep.imports_of(zf.read(member).decode(), module, is_package):
                top = vendor.top_name(member)
                if name in tops and name not in kept and (top, name) not in stdlib_keep.CUT:
                    missing.add(f"{module} imports {name}")
    assert sorted(missing) == []


def test_each_cut_edge_exists() -> None:
    # A cut that no longer matches an import would hide nothing: it is stale, remove it.
    imported: dict[str, set[str]] = {}
    with zipfile.ZipFile(io.BytesIO(STOCK)) as zf:
        for member in zf.namelist():
            if member.endswith(".py") and not member.endswith("__main__.py"):
                module, is_package = stdlib_keep._module_of(member)
                names = stdlib_keep.imports_of(zf.read(member).decode(), module, is_package)
                imported.setdefault(vendor.top_name(member), set()).update(names)
    micropip = next(stdlib_keep.WHEEL_CACHE.glob("micropip-*.whl"), None)
    if micropip is not None:
        for module, source, is_package in stdlib_keep._wheel_files(micropip):
            imported.setdefault("micropip", set()).update(stdlib_keep.imports_of(source, module, is_package))
    stale = [edge for edge in stdlib_keep.CUT if edge[1] not in imported.get(edge[0], set())]
    assert stale == []


def test_the_trimmed_zip_is_a_valid_zip_made_deterministically() -> None:
    with zipfile.ZipFile(io.BytesIO(TRIMMED)) as zf:
        assert zf.testzip() is None
        assert [i.filename for i in zf.infolist()] == [
            i.filename for i in zipfile.ZipFile(io.BytesIO(STOCK)).infolist() if i.filename in TRIMMED_MEMBERS
        ]
    assert vendor.trimmed_stdlib(STOCK, reversed(vendor.keep_list())) == TRIMMED
    # The copy keeps every member (stored now): keeping everything gives the stock zip's
    # members back, byte for byte, with their names, dates and attributes.
    everything = vendor.trimmed_stdlib(STOCK, {vendor.top_name(m) for m in STOCK_MEMBERS})
    with zipfile.ZipFile(io.BytesIO(everything)) as copy, zipfile.ZipFile(io.BytesIO(STOCK)) as stock:
        same = ("filename", "date_time", "CRC", "file_size", "external_attr", "create_system")
        assert [[getattr(i, f) for f in same] for i in copy.infolist()] == [
            [getattr(i, f) for f in same] for i in stock.infolist()
        ]
        assert all(copy.read(i) == stock.read(i) for i in stock.namelist())


def test_vendor_writes_the_zip_again_when_the_list_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (VENDORED / "pyodide.mjs").is_file() or shutil.which("node") is None:
        pytest.skip("static/vendor is not built, or no Node.js (tools/vendor.py)")
    (tmp_path / "python_stdlib.zip").write_bytes(STOCK)
    keep = tmp_path / "keep.txt"
    keep.write_text("# comment\njson  # why\nencodings\n")
    monkeypatch.setattr(vendor, "STDLIB_KEEP", keep)
    monkeypatch.setattr(vendor.keep_list, "__defaults__", (keep,))
    vendor.vendor_stdlib(tmp_path, VENDORED)
    first = (tmp_path / vendor.STDLIB_APP).read_bytes()
    assert {vendor.top_name(m) for m in _members(first)} == {"json", "encodings"}
    keep.write_text("json\nencodings\nemail\n")
    vendor.vendor_stdlib(tmp_path, VENDORED)
    second = (tmp_path / vendor.STDLIB_APP).read_bytes()
    assert "email/parser.pyc" in _members(second)
    # The snapshot's stamp hashes this file, so a new list makes a new snapshot.
    assert vendor.sha256(tmp_path / vendor.STDLIB_APP) != vendor.hashlib.sha256(first).hexdigest()


def test_the_vendored_zip_is_the_one_the_list_gives() -> None:
    vendored = VENDORED / vendor.STDLIB_APP
    if not vendored.is_file():
        pytest.skip("static/vendor is not built (tools/vendor.py)")
    # The trimmed sources, each compiled (tools/compile_stdlib.mjs) by Pyodide's CPython: the
    # same members in the same order, `.pyc` for `.py`, each an unchecked hash-based .pyc of
    # exactly that source (PEP 552: the hash is keyed by the magic number of its Python).
    with zipfile.ZipFile(vendored) as compiled, zipfile.ZipFile(io.BytesIO(TRIMMED)) as sources:
        names = [i.filename for i in sources.infolist()]
        assert [i.filename for i in compiled.infolist()] == [n + "c" if n.endswith(".py") else n for n in names], (
            "run tools/vendor.py: static/vendor has an older trimmed zip"
        )
        for name in names:
            if not name.endswith(".py"):
                assert compiled.read(name) == sources.read(name)
                continue
            pyc, source = compiled.read(name + "c"), sources.read(name)
            magic, flags, source_hash = pyc[:4], int.from_bytes(pyc[4:8], "little"), pyc[8:16]
            assert magic[2:] == b"\r\n" and flags == 0b01, name  # hash-based, not checked at import
            assert source_hash == _imp.source_hash(int.from_bytes(magic, "little"), source), name
    stamp = json.loads((VENDORED / ".stamp-snapshot").read_text())
    assert stamp["runtime"][vendor.STDLIB_APP] == vendor.sha256(vendored)  # the snapshot was made from it
