#!/usr/bin/env python3
"""Put the pinned browser runtime into ``static/vendor/`` so the page needs no CDN.

    npm ci && python3 tools/vendor.py

Sources, all pinned:
- PyScript core and Pyodide from ``node_modules`` (``package-lock.json``);
- the ``micropip`` and ``pyodide-http`` wheels, and ``requests`` with its
  dependencies (installed by micropip on first use in the page), from PyPI,
  pure-Python files only, hash-checked against ``tools/wheels.txt``.

Pyodide's ``pyodide-lock.json`` names its own builds of those wheels,
with their sha256; ``loadPackage`` checks that hash, so the lock entries are
rewritten for the PyPI files we ship. Folder names carry the versions, which
lets the server cache them for a year.

MicroPython (``micropython.mjs`` + ``.wasm``, npm) for MicroPython pages.

Then a Pyodide memory snapshot for a faster boot (``snapshot.bin``, made by
``tools/make_snapshot.mjs`` with Node.js) and the module that boots from it
(``pyodide-snapshot.mjs``, from ``tools/``), in the same folder.

Idempotent: a folder already complete (its ``.stamp`` matches) is left alone;
so is a snapshot whose ``.stamp-snapshot`` matches.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import snapshot_delta  # tools/ is on sys.path: `python tools/vendor.py` runs it as a script
import zstandard

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
VENDOR = ROOT / "static" / "vendor"
WHEELS = ROOT / "tools" / "wheels.txt"
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]


class VendorError(Exception):
    pass


def npm_version(package: str) -> str:
    manifest = NODE / package / "package.json"
    if not manifest.exists():
        raise VendorError(f"{package} is not installed: run `npm ci` first")
    return str(json.loads(manifest.read_text())["version"])


def pinned_wheels() -> dict[str, tuple[str, str]]:
    """``{"micropip": ("0.11.1", "<sha256>"), ...}`` from tools/wheels.txt."""
    out = {}
    for line in WHEELS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req, _, hash_part = line.partition("--hash=sha256:")
        name, _, version = req.strip().partition("==")
        out[name.strip()] = (version.strip(), hash_part.strip())
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download_wheels(dest: Path) -> dict[str, Path]:
    """Fetch the pinned wheels with pip (hash-checked), reusing a local copy."""
    wheels = pinned_wheels()
    found: dict[str, Path] = {}
    cache = ROOT / ".cache" / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    for name, (version, digest) in wheels.items():
        stem = name.replace("-", "_")
        cached = [p for p in cache.glob(f"{stem}-{version}-*.whl") if sha256(p) == digest]
        if not cached:
            with tempfile.TemporaryDirectory() as tmp:
                req = Path(tmp) / "req.txt"
                req.write_text(f"{name}=={version} --hash=sha256:{digest}\n")
                cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
                # micropip 0.11 declares Python >= 3.12: ask for the page's Python, not ours;
                # and pure-Python files only (charset-normalizer also ships compiled ones).
                cmd += ["--python-version", "3.14", "--platform", "any", "--implementation", "py"]
                cmd += ["--require-hashes", "-r", str(req), "-d", tmp]
                subprocess.run(cmd, check=True)
                for whl in Path(tmp).glob("*.whl"):
                    shutil.copy2(whl, cache / whl.name)
            cached = [p for p in cache.glob(f"{stem}-{version}-*.whl") if sha256(p) == digest]
        if not cached:
            raise VendorError(f"could not get {name}=={version} with the pinned hash")
        found[name] = cached[0]
    return found


STDLIB_KEEP = ROOT / "tools" / "stdlib-keep.txt"
STDLIB_APP = "python_stdlib.app.zip"


def top_name(member: str) -> str:
    """The top-level module a member of a stdlib zip belongs to.

    >>> top_name("email/mime/text.py"), top_name("json/"), top_name("abc.py"), top_name("abc.pyc")
    ('email', 'json', 'abc', 'abc')
    """
    first = member.split("/", 1)[0]
    if "/" in member:
        return first
    return first.removesuffix(".pyc").removesuffix(".py")


def keep_list(path: Path = STDLIB_KEEP) -> list[str]:
    """The top-level names of ``tools/stdlib-keep.txt`` (written by tools/stdlib_keep.py).

    >>> "encodings" in keep_list()
    True
    """
    names = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [name for name in names if name]


def trimmed_stdlib(stock: bytes, keep: Iterable[str]) -> bytes:
    """The members of the zip ``stock`` whose top-level name is in ``keep``, in the same order,
    stored (not deflated), their names, dates and attributes unchanged: a function of its
    inputs (no clock, no zlib version), so the same list always gives the same file.

    Stored, because the page gets the whole file compressed (``.gz``/``.zst``, see
    :func:`precompress`): one stream over all the members compresses better than each member
    on its own (gzip 1.72 -> 1.46 MB, zstd 1.07 MB), and an import reads its module without
    inflating it.

        trimmed_stdlib(Path("python_stdlib.zip").read_bytes(), keep_list())
    """
    wanted = set(keep)
    out = io.BytesIO()
    central = []
    with zipfile.ZipFile(io.BytesIO(stock)) as zf:
        for info in zf.infolist():
            if top_name(info.filename) not in wanted:
                continue
            if info.flag_bits & 0x08 or info.extra or info.comment:
                raise VendorError(f"{info.filename}: a zip member layout this copy does not handle")
            head = stock[info.header_offset : info.header_offset + 30]
            if head[:4] != b"PK\x03\x04":
                raise VendorError(f"{info.filename}: no local header at its offset")
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            data = stock[start : start + info.compress_size]
            if info.compress_type == zipfile.ZIP_DEFLATED:
                data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(data)
            elif info.compress_type != zipfile.ZIP_STORED:
                raise VendorError(f"{info.filename}: compression method {info.compress_type}")
            if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
                raise VendorError(f"{info.filename}: its bytes do not match its size and CRC")
            name = info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            dosdate = (info.date_time[0] - 1980) << 9 | info.date_time[1] << 5 | info.date_time[2]
            dostime = info.date_time[3] << 11 | info.date_time[4] << 5 | info.date_time[5] // 2
            fields = (
                info.flag_bits & ~0x06,  # the deflate level bits mean nothing for a stored member
                zipfile.ZIP_STORED,
                dostime,
                dosdate,
                info.CRC,
                info.file_size,
                info.file_size,
            )
            offset = out.tell()
            out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", info.extract_version, *fields, len(name), 0))
            out.write(name + data)
            central.append(
                struct.pack(
                    "<4s6H3L5H2L",
                    b"PK\x01\x02",
                    info.create_version | info.create_system << 8,
                    info.extract_version,
                    *fields,
                    len(name),
                    0,
                    0,
                    0,
                    info.internal_attr,
                    info.external_attr,
                    offset,
                )
                + name
            )
    start = out.tell()
    for entry in central:
        out.write(entry)
    size = out.tell() - start
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()


def vendor_stdlib(dest: Path, runtime: Path | None = None) -> None:
    """``python_stdlib.app.zip`` beside the stock ``python_stdlib.zip``: the stdlib of the app's
    pages, only the modules of ``tools/stdlib-keep.txt`` (bench/README.md, "A stdlib zip
    trimmed to what the app imports"). The stock zip stays for pages that load Pyodide
    their own way (bench/bare, the baseline).

    Its modules are bytecode (``tools/compile_stdlib.mjs``, Pyodide's CPython in Node.js), so
    a boot without the snapshot does not compile them; the zip is bigger for it (both figures:
    bench/README.md). The trimmed sources are made on every run (a
    fraction of a second); they are compiled again only when they or the tool change
    (``.stamp-stdlib``), so an edited list is never missed; the snapshot's stamp holds the
    zip's hash. With its ``.gz`` and ``.zst`` (:func:`compressed_copies`). ``runtime``: the
    Pyodide that compiles them (default: the one in ``dest``)."""
    sources = trimmed_stdlib((dest / "python_stdlib.zip").read_bytes(), keep_list())
    path = dest / STDLIB_APP
    stamp = dest / ".stamp-stdlib"
    want = json.dumps({"sources": hashlib.sha256(sources).hexdigest(), "compiler": sha256(STDLIB_COMPILER)})
    made = [path, *_copies(path)]
    if stamp.is_file() and stamp.read_text() == want and all(p.is_file() for p in made):
        return
    stamp.unlink(missing_ok=True)
    node = shutil.which("node")
    if node is None:
        raise VendorError("Node.js 20+ is needed to compile the stdlib (node not found)")
    with tempfile.TemporaryDirectory() as tmp:
        source_zip, compiled_zip = Path(tmp) / "sources.zip", Path(tmp) / "compiled.zip"
        source_zip.write_bytes(sources)
        cmd = [node, str(STDLIB_COMPILER), str(runtime or dest), str(source_zip), str(compiled_zip)]
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        data = compiled_zip.read_bytes()
    if not path.is_file() or path.read_bytes() != data:
        _replace_atomically(path, data)
    compressed_copies(path)
    stamp.write_text(want)


COMPRESSIBLE = (".wasm", ".mjs", ".js", ".json", ".css")


# zstd level 19: smaller than gzip -9 for every big file (sizes: bench/README.md); slow to make,
# so made once per change of the file, never per request.
ZSTD_LEVEL = 19


def _copies(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + ".gz"), path.with_name(path.name + ".zst")


def compressed_copies(path: Path, data: bytes | None = None, gzip_level: int = 9) -> None:
    """``name.gz`` and ``name.zst`` beside ``path`` (of ``data``, default its bytes), so the
    server never compresses megabytes of WebAssembly per request. serve.py sends the ``.zst`` to
    a browser that takes zstd (Chromium 123+, Firefox 126+, over http too), else the ``.gz``; a
    static host serves the ``.gz`` the loader asks for (tools/build_site.py ships no ``.zst``)."""
    raw = path.read_bytes() if data is None else data
    gz, zst = _copies(path)
    _replace_atomically(gz, gzip.compress(raw, gzip_level, mtime=0))
    _replace_atomically(zst, zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1).compress(raw))


def precompress(folder: Path) -> None:
    """:func:`compressed_copies` of each compressible file in ``folder``."""
    for path in sorted(folder.iterdir()):
        if path.suffix in COMPRESSIBLE and path.is_file():
            compressed_copies(path)


def vendor_pyodide(version: str) -> Path:
    dest = VENDOR / f"pyodide-{version}"
    stamp = dest / ".stamp"
    wheels = download_wheels(dest)
    want = json.dumps(
        {"layout": 3, "pyodide": version, "wheels": {n: sha256(p) for n, p in wheels.items()}}, sort_keys=True
    )
    if stamp.exists() and stamp.read_text() == want:
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    src = NODE / "pyodide"
    for name in PYODIDE_FILES:
        shutil.copy2(src / name, tmp / name)
    lock = json.loads((src / "pyodide-lock.json").read_text())
    for name, path in wheels.items():
        entry = lock["packages"].get(name)
        if entry is None:
            raise VendorError(f"{name} is not in pyodide-lock.json of pyodide {version}")
        shutil.copy2(path, tmp / path.name)
        entry["file_name"] = path.name
        entry["sha256"] = sha256(path)
        entry["version"] = pinned_wheels()[name][0]
    (tmp / "pyodide-lock.json").write_text(json.dumps(lock, separators=(",", ":")))
    precompress(tmp)
    vendor_stdlib(tmp)
    _keep_snapshot(dest, tmp)
    (tmp / ".stamp").write_text(want)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


SNAPSHOT_FILES = (
    ".stamp-snapshot",
    "pyodide-snapshot.mjs",
    "pyodide-snapshot.mjs.gz",
    "snapshot.bin",
    "snapshot.bin.gz",
    "snapshot.bin.zst",
)


def _keep_snapshot(old: Path, new: Path) -> None:
    """Carry the boot snapshot over when only the wheels changed: it is tied to the runtime
    files, and :func:`vendor_snapshot` checks its stamp against them, so a stale one is
    still made again; a valid one is not (making it takes minutes on 2 cores)."""
    if all((old / name).is_file() for name in SNAPSHOT_FILES):
        for name in SNAPSHOT_FILES:
            shutil.copy2(old / name, new / name)


SNAPSHOT_MAKER = ROOT / "tools" / "make_snapshot.mjs"
STDLIB_COMPILER = ROOT / "tools" / "compile_stdlib.mjs"
SNAPSHOT_LOADER = ROOT / "tools" / "pyodide-snapshot.mjs"
SNAPSHOT_DELTA = ROOT / "tools" / "snapshot_delta.py"


def _replace_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` so that a running server serves the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def app_package_zip() -> bytes:
    """The page's ``pyapp.zip``, byte for byte as ``serve.py`` serves it."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import serve  # the one definition of what pyapp.zip holds

    return serve.zip_package(*serve.PAGE_PACKAGES)


def vendor_snapshot(dest: Path, pyscript: Path | None = None) -> None:
    """``snapshot.bin`` (+ ``.gz``) and ``pyodide-snapshot.mjs`` (+ ``.gz``) in ``dest``.

    The snapshot is tied to the exact ``pyodide.asm.*`` and ``python_stdlib.app.zip``
    (the trimmed stdlib the loader fetches) beside it, so it is made from them,
    here, and made again when they (so ``tools/stdlib-keep.txt``) or either tool
    change. The page boots without it (plain ``loadPyodide``) when it is
    missing or does not restore, so a failure here removes it rather than
    leaving a stale one.
    """
    # The app's pure-Python modules go into the heap too (tools/make_snapshot.mjs), from the
    # very pyapp.zip serve.py and ./build.sh serve: an edit makes the snapshot again (seconds).
    # A snapshot older than the page's files still works: the page then imports them afresh.
    app_zip = app_package_zip()
    want = json.dumps(
        {
            "layout": 3,
            "runtime": {n: sha256(dest / n) for n in ("pyodide.asm.mjs", "pyodide.asm.wasm", STDLIB_APP)},
            "maker": sha256(SNAPSHOT_MAKER),
            "delta": sha256(SNAPSHOT_DELTA),
            "loader": sha256(SNAPSHOT_LOADER),
            "app": hashlib.sha256(app_zip).hexdigest(),
            # PyScript's own Python files are compiled into it from its dist (make_snapshot.mjs).
            "pyscript": (pyscript / ".stamp").read_text() if pyscript and (pyscript / ".stamp").is_file() else None,
        },
        sort_keys=True,
    )
    stamp = dest / ".stamp-snapshot"
    made = ("pyodide-snapshot.mjs", "pyodide-snapshot.mjs.gz", "snapshot.bin", "snapshot.bin.gz", "snapshot.bin.zst")
    if stamp.exists() and stamp.read_text() == want and all((dest / n).is_file() for n in made):
        return
    stamp.unlink(missing_ok=True)
    loader = SNAPSHOT_LOADER.read_bytes()
    _replace_atomically(dest / "pyodide-snapshot.mjs", loader)
    _replace_atomically(dest / "pyodide-snapshot.mjs.gz", gzip.compress(loader, 9, mtime=0))
    node = shutil.which("node")
    if node is None:
        raise VendorError("Node.js 20+ is needed to build the boot snapshot (node not found)")
    snapshot = dest / "snapshot.bin"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            zip_path = Path(tmp) / "pyapp.zip"
            zip_path.write_bytes(app_zip)
            cmd = [node, str(SNAPSHOT_MAKER), str(dest), str(dest / STDLIB_APP), str(zip_path)]
            if pyscript is not None:
                cmd.append(str(pyscript))
            subprocess.run(cmd, check=True, stdout=sys.stderr)
        # Without the wasm's data segments, which the page has anyway (tools/snapshot_delta.py);
        # the loader puts them back.
        encoded = snapshot_delta.encode(snapshot.read_bytes(), (dest / "pyodide.asm.wasm").read_bytes())
        _replace_atomically(snapshot, encoded)
        # gzip level 6: 1% bigger than 9 and 4x faster to make.
        compressed_copies(snapshot, encoded, gzip_level=6)
    except BaseException:
        for name in ("snapshot.bin", "snapshot.bin.gz", "snapshot.bin.zst", "snapshot.bin.tmp"):
            (dest / name).unlink(missing_ok=True)
        raise
    stamp.write_text(want)


def _vendored_copy(dest: Path, want: str, fill: Callable[[Path], None]) -> Path:
    """``dest`` as ``fill`` makes it (with the precompressed forms), unless its stamp already
    says ``want``; made beside it and renamed into place, so a failed run leaves no half copy."""
    if (dest / ".stamp").exists() and (dest / ".stamp").read_text() == want:
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    fill(tmp)
    precompress(tmp)
    (tmp / ".stamp").write_text(want)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def vendor_pyscript(version: str) -> Path:
    def fill(tmp: Path) -> None:
        shutil.copytree(NODE / "@pyscript" / "core" / "dist", tmp, ignore=shutil.ignore_patterns("*.map"))

    return _vendored_copy(VENDOR / f"pyscript-{version}", f"{version} layout 2", fill)


MICROPYTHON_NPM = "@micropython/micropython-webassembly-pyscript"
MICROPYTHON_FILES = ("micropython.mjs", "micropython.wasm")


#: MicroPython's ``time.ticks_ms``, which every asyncio sleep and timeout of a page runs on:
#: upstream reads the wall clock, so a clock set back (NTP, a manual change, a VM resumed) would
#: hold every timer of the page, the session's watchdog too, for as long as the step. The copy
#: we serve reads ``performance.now()``, monotonic, as the browser's own timers (and Pyodide's
#: loop, on ``setTimeout``) are; ``time.time()`` stays on the wall clock.
TICKS_FROM_WALL_CLOCK = "mp_js_ticks_ms:()=>Date.now()-MP_JS_EPOCH"
TICKS_MONOTONIC = "mp_js_ticks_ms:()=>Math.floor(performance.now())"


def monotonic_ticks(module: str) -> str:
    """``micropython.mjs`` with ``ticks_ms`` on ``performance.now()``; an error if the pinned
    build no longer reads the clock the way this replaces (a new version: check it again).

    >>> monotonic_ticks("a,mp_js_ticks_ms:()=>Date.now()-MP_JS_EPOCH,b")
    'a,mp_js_ticks_ms:()=>Math.floor(performance.now()),b'
    """
    if module.count(TICKS_FROM_WALL_CLOCK) != 1:
        raise SystemExit(f"micropython.mjs: expected one {TICKS_FROM_WALL_CLOCK!r} to make monotonic")
    return module.replace(TICKS_FROM_WALL_CLOCK, TICKS_MONOTONIC)


def vendor_micropython(version: str) -> Path:
    """``micropython-<version>/``: the interpreter of MicroPython pages (``serve.py --runtime
    micropython``; ``web/micropython.toml`` names it), its clock made monotonic
    (:func:`monotonic_ticks`), with the ``.gz`` and ``.zst`` of each file."""

    def fill(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        for name in MICROPYTHON_FILES:
            shutil.copy2(NODE / MICROPYTHON_NPM / name, tmp / name)
        module = tmp / "micropython.mjs"
        module.write_text(monotonic_ticks(module.read_text(encoding="utf-8")), encoding="utf-8")

    return _vendored_copy(VENDOR / f"micropython-{version}", f"{version} layout 2 (monotonic ticks)", fill)


def main() -> int:
    try:
        py = vendor_pyodide(npm_version("pyodide"))
        vendor_stdlib(py)
        ps = vendor_pyscript(npm_version("@pyscript/core"))
        vendor_snapshot(py, ps)
        mp = vendor_micropython(npm_version(MICROPYTHON_NPM))
    except (VendorError, subprocess.CalledProcessError) as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 1
    # Stale versions would be served forever under their immutable names: drop them.
    for old in VENDOR.iterdir():
        if old not in (py, ps, mp) and old.is_dir():
            shutil.rmtree(old)
    print(f"vendor: {py.relative_to(ROOT)}, {ps.relative_to(ROOT)} and {mp.relative_to(ROOT)} ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
