"""The boot snapshot without what the wasm binary already holds.

A Pyodide memory snapshot (``tools/make_snapshot.mjs``) is a 160-byte header and the whole
heap, and the heap starts with ``pyodide.asm.wasm``'s data segments (CPython's static data:
3.2 MB, most of it never written). The page downloads the wasm anyway, so ``encode`` XORs
those segments out of the heap: what nobody changed becomes zeros, and compresses to almost
nothing (sizes: bench/README.md, "First visit over a network").
``tools/pyodide-snapshot.mjs`` undoes it in the page (``undoDataSegments``) with the wasm it
has downloaded, before Pyodide restores the heap.

The header's fourth word, which Pyodide writes as 0 and does not read, says which form a
snapshot is in: ``XOR_MAGIC`` for the encoded one. Pyodide checks the rest (its magic
number and the build id of ``pyodide.asm.mjs``, which comes with its wasm).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

XOR_MAGIC = 0x31524F58  # b"XOR1", little-endian
PYODIDE_MAGIC_WORDS = 4  # magic, heap offset, JSON length, reserved (0)
DATA_SECTION = 11


class SnapshotFormatError(ValueError):
    """The snapshot or the wasm binary is not what this module knows how to read."""


def _leb(data: bytes, at: int, signed: bool = False) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise SnapshotFormatError("truncated LEB128 number in the wasm binary")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if signed and byte & 0x40:
                value -= 1 << shift
            return value, at


def data_segments(wasm: bytes) -> Iterator[tuple[int, int, int]]:
    """``(memory offset, start in wasm, length)`` of each active segment of memory 0 whose
    offset is a constant (all of them in Pyodide's main module; anything else is refused)."""
    if wasm[:4] != b"\0asm":
        raise SnapshotFormatError("not a wasm binary")
    at = 8
    while at < len(wasm):
        section = wasm[at]
        size, at = _leb(wasm, at + 1)
        end = at + size
        if section == DATA_SECTION:
            count, pos = _leb(wasm, at)
            for _ in range(count):
                flags, pos = _leb(wasm, pos)
                if flags == 1:  # passive: copied by memory.init at run time, not at instantiation
                    length, pos = _leb(wasm, pos)
                    pos += length
                    continue
                if flags == 2:
                    memory, pos = _leb(wasm, pos)
                    if memory != 0:
                        raise SnapshotFormatError(f"a data segment for memory {memory}")
                elif flags != 0:
                    raise SnapshotFormatError(f"data segment flags {flags}")
                if wasm[pos] != 0x41:  # i32.const
                    raise SnapshotFormatError("a data segment whose offset is not an i32.const")
                offset, pos = _leb(wasm, pos + 1, signed=True)
                if wasm[pos] != 0x0B:
                    raise SnapshotFormatError("a data segment offset longer than one instruction")
                length, pos = _leb(wasm, pos + 1)
                yield offset, pos, length
                pos += length
        at = end


def _xor_segments(snapshot: bytes, wasm: bytes, want: int, then: int) -> bytes:
    if len(snapshot) < 16:
        raise SnapshotFormatError("too short for a Pyodide snapshot")
    words = list(struct.unpack_from("<4I", snapshot))
    if words[3] != want:
        raise SnapshotFormatError(f"header word 3 is {words[3]:#x}, expected {want:#x}")
    heap_at = words[1]
    out = bytearray(snapshot)
    for offset, start, length in data_segments(wasm):
        lo = heap_at + offset
        if offset < 0 or lo + length > len(out):
            raise SnapshotFormatError("a data segment outside the snapshot's heap")
        mine = int.from_bytes(out[lo : lo + length], "little")
        theirs = int.from_bytes(wasm[start : start + length], "little")
        out[lo : lo + length] = (mine ^ theirs).to_bytes(length, "little")
    struct.pack_into("<I", out, 12, then)
    return bytes(out)


def encode(snapshot: bytes, wasm: bytes) -> bytes:
    """The snapshot as Pyodide made it -> with ``wasm``'s data segments XORed out."""
    return _xor_segments(snapshot, wasm, want=0, then=XOR_MAGIC)


def decode(encoded: bytes, wasm: bytes) -> bytes:
    """What the page does (in JS): back to the snapshot Pyodide restores."""
    return _xor_segments(encoded, wasm, want=XOR_MAGIC, then=0)


def is_encoded(snapshot: bytes) -> bool:
    return len(snapshot) >= 16 and struct.unpack_from("<I", snapshot, 12)[0] == XOR_MAGIC
