"""The boot snapshot ships without the wasm's data segments (tools/snapshot_delta.py), and the
loader (tools/pyodide-snapshot.mjs, ``undoDataSegments``) puts them back: both directions,
the formats they refuse, and the JS decoder against the Python one on the vendored files."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import subprocess
import sys

import pytest

from tests.serverproc import ROOT

sys.path.insert(0, str(ROOT / "tools"))  # tools/ is not a package (as `python tools/vendor.py` runs it)
import snapshot_delta
from snapshot_delta import XOR_MAGIC, SnapshotFormatError

VENDORED = ROOT / "static" / "vendor" / "pyodide-314.0.7"


def leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            return bytes(out + bytes([byte]))
        out.append(byte | 0x80)


def section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + leb(len(body)) + body


def active(offset: int, data: bytes, flags: int = 0) -> bytes:
    memory = leb(0) if flags == 2 else b""
    return leb(flags) + memory + b"\x41" + sleb(offset) + b"\x0b" + leb(len(data)) + data


def wasm_with(*segments: bytes) -> bytes:
    body = leb(len(segments)) + b"".join(segments)
    custom = section(0, leb(4) + b"name" + b"\x00\x01")
    return b"\0asm\x01\0\0\0" + custom + section(11, body)


def pyodide_snapshot(heap: bytes, reserved: int = 0) -> bytes:
    header = struct.pack("<4I", 0x706F7900, 32, 2, reserved) + b"\0" * 16
    return header + heap


HEAP = bytes(range(256)) * 4  # 1 KiB, every byte value


def test_segments_are_xored_out_and_back() -> None:
    wasm = wasm_with(active(16, HEAP[16:48]), active(100, b"\xff" * 8, flags=2), leb(1) + leb(3) + b"abc")
    assert sleb(100) == b"\xe4\x00" and sleb(-2) == b"\x7e"
    snapshot = pyodide_snapshot(HEAP)
    encoded = snapshot_delta.encode(snapshot, wasm)
    assert snapshot_delta.is_encoded(encoded) and not snapshot_delta.is_encoded(snapshot)
    heap = encoded[32:]
    assert heap[16:48] == b"\0" * 32  # unchanged since instantiation: zeros
    assert heap[100:108] == bytes(b ^ 0xFF for b in HEAP[100:108])
    assert heap[:16] == HEAP[:16] and heap[108:] == HEAP[108:]  # the passive segment is not in memory
    assert snapshot_delta.decode(encoded, wasm) == snapshot


@pytest.mark.parametrize(
    ("wasm", "why"),
    [
        (b"\0asn\x01\0\0\0", "not a wasm binary"),
        (wasm_with(leb(0) + b"\x23\x00\x0b" + leb(1) + b"x"), "not an i32.const"),  # global.get
        (wasm_with(leb(2) + leb(1) + b"\x41\x00\x0b" + leb(1) + b"x"), "memory 1"),
        (wasm_with(active(len(HEAP) - 2, b"abcd")), "outside the snapshot's heap"),
        (wasm_with(leb(0) + b"\x41\x80"), "truncated"),
    ],
)
def test_what_it_cannot_read_is_refused(wasm: bytes, why: str) -> None:
    with pytest.raises(SnapshotFormatError, match=why):
        snapshot_delta.encode(pyodide_snapshot(HEAP), wasm)


def test_it_encodes_only_what_pyodide_made_and_decodes_only_what_it_encoded() -> None:
    wasm = wasm_with(active(0, b"abc"))
    with pytest.raises(SnapshotFormatError, match="header word 3"):
        snapshot_delta.encode(pyodide_snapshot(HEAP, reserved=XOR_MAGIC), wasm)
    with pytest.raises(SnapshotFormatError, match="header word 3"):
        snapshot_delta.decode(pyodide_snapshot(HEAP), wasm)
    with pytest.raises(SnapshotFormatError, match="too short"):
        snapshot_delta.encode(b"\0" * 8, wasm)


needs_vendored = pytest.mark.skipif(
    not (VENDORED / "snapshot.bin").is_file(), reason="static/vendor has no snapshot (tools/vendor.py)"
)


@needs_vendored
def test_the_vendored_snapshot_is_encoded_and_its_gzip_is_the_same_bytes() -> None:
    encoded = (VENDORED / "snapshot.bin").read_bytes()
    assert snapshot_delta.is_encoded(encoded)
    with gzip.open(VENDORED / "snapshot.bin.gz") as f:
        assert f.read() == encoded
    decoded = snapshot_delta.decode(encoded, (VENDORED / "pyodide.asm.wasm").read_bytes())
    assert struct.unpack_from("<I", decoded, 12)[0] == 0
    # What the encoding is for: fewer bytes to download.
    assert len(gzip.compress(encoded, 6)) < 0.85 * len(gzip.compress(decoded, 6))


NODE_DECODE = """
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
const [loader, snapshotPath, wasmPath] = process.argv.slice(1);
const { undoDataSegments } = await import(loader);
const snapshot = new Uint8Array(readFileSync(snapshotPath));
undoDataSegments(snapshot, new Uint8Array(readFileSync(wasmPath)));
console.log(createHash("sha256").update(snapshot).digest("hex"));
"""


@needs_vendored
@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js")
def test_the_loader_decodes_the_vendored_snapshot_as_python_does() -> None:
    snapshot = VENDORED / "snapshot.bin"
    wasm = VENDORED / "pyodide.asm.wasm"
    loader = (VENDORED / "pyodide-snapshot.mjs").as_uri()
    out = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_DECODE, loader, str(snapshot), str(wasm)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = snapshot_delta.decode(snapshot.read_bytes(), wasm.read_bytes())
    assert out.stdout.strip() == hashlib.sha256(expected).hexdigest()
