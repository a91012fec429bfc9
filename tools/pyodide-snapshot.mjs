// Boot Pyodide from the memory snapshot next to this file, or without it.
//
// Copied by tools/vendor.py next to pyodide.mjs; web/pyscript.toml names it
// as PyScript's `interpreter`. PyScript imports `version` and calls
// `loadPyodide(options)`, as it would with pyodide.mjs.
//
// snapshot.bin is made by tools/make_snapshot.mjs from these very runtime
// files; restoring it skips starting CPython and the imports the app needs at
// boot. The API (`_loadSnapshot`) is private to Pyodide: when the snapshot
// cannot be fetched or restored, this boots the plain way and says so with a
// warning. <html data-pyodide-boot="snapshot|plain"> tells which path ran.

import { loadPyodide as loadPlain, version } from "./pyodide.mjs";

export { version };

const SNAPSHOT_URL = new URL("snapshot.bin", import.meta.url);

// After a restore: what a plain boot sets per page, not once at build time.
// Also checks that python_stdlib.zip is the one the snapshot was made with:
// zipimport holds that zip's table of contents from build time.
const AFTER_RESTORE = `
import logging, os, random, sys, time, zlib

path, size, crc = sys.modules["_pyodide_snapshot"].stdlib_zip
seen_size = seen_crc = 0
with open(path, "rb") as f:
    while chunk := f.read(1 << 16):
        seen_size += len(chunk)
        seen_crc = zlib.crc32(chunk, seen_crc)
if (seen_size, seen_crc) != (size, crc):
    raise RuntimeError(f"{path} is not the one the snapshot was made with")
random.seed()  # else every page would draw the same numbers
logging._startTime = time.time_ns()
os.environ["LANG"] = lang
`;

function markBoot(how) {
  const root = globalThis.document?.documentElement;
  if (root) root.dataset.pyodideBoot = how;
}

// LANG as Emscripten sets it in a plain boot (the snapshot holds the build's).
function browserLang() {
  return (globalThis.navigator?.language ?? "C").replace("-", "_") + ".UTF-8";
}

async function fetchSnapshot() {
  const response = await fetch(SNAPSHOT_URL);
  if (!response.ok) throw new Error(`${SNAPSHOT_URL.pathname} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function loadPyodide(options = {}) {
  let pyodide;
  try {
    // A promise: Pyodide imports pyodide.asm.mjs while the snapshot downloads.
    const snapshot = fetchSnapshot();
    snapshot.catch(() => {}); // handled below, through loadPlain; not an "uncaught" error
    pyodide = await loadPlain({ ...options, _loadSnapshot: snapshot });
    // In globals of its own, so nothing stays behind in __main__.
    const scope = pyodide.toPy({ lang: browserLang() });
    try {
      pyodide.runPython(AFTER_RESTORE, { globals: scope });
    } finally {
      scope.destroy();
    }
  } catch (error) {
    // A Python error's message is its traceback: its last line says what went wrong.
    const why = String(error?.message ?? error).trim().split("\n").pop();
    console.warn(`Pyodide: booting without the memory snapshot (${why})`);
    markBoot("plain");
    return loadPlain(options);
  }
  markBoot("snapshot");
  return pyodide;
}
