// Build a Pyodide memory snapshot for a faster boot (run by tools/vendor.py).
//
//   node tools/make_snapshot.mjs static/vendor/pyodide-314.0.7 [stdlib zip] [pyapp.zip] [pyscript dist]
//
// The stdlib zip defaults to <folder>/python_stdlib.app.zip (the trimmed stdlib
// tools/vendor.py writes from tools/stdlib-keep.txt, which tools/pyodide-snapshot.mjs
// fetches for Pyodide's python_stdlib.zip), else <folder>/python_stdlib.zip. The
// snapshot holds zipimport's table of contents of that very file: the page checks its
// size and CRC after a restore and boots the plain way if they differ.
//
// Loads Pyodide from that vendored folder with the private `_makeSnapshot`
// option, imports the standard-library modules the app needs at boot (so the
// page does not import them again), puts the interpreter in the state a plain
// browser boot would have, and writes the whole heap to <folder>/snapshot.bin.
// tools/pyodide-snapshot.mjs restores it in the page, or boots without it.
//
// What may be in a snapshot (../shared/RUNTIME-NOTES.md): pure-Python modules
// and modules built into pyodide.asm.wasm; not shared libraries, packages,
// files, proxies or JS objects made now. Not pyodide_http (a wheel PyScript
// unpacks at boot). The script refuses to write a snapshot that imported
// anything else.
//
// Given the page's pyapp.zip (tools/vendor.py passes the one serve.py serves),
// the app's pure-Python modules (APP_MODULES: no `js`, no `pyscript`) are
// imported too, from where PyScript unpacks that zip in the page: their import
// cost 150-250 ms of every boot (bench/README.md). They are kept aside, not in
// sys.modules. They change with every edit, so the snapshot keeps each file's
// size and CRC-32, and `_pyodide_snapshot.check_app()` (web/main.py calls it
// first) compares them with the files PyScript unpacked: only if all match do
// the modules go into sys.modules; else the page imports the files as it would
// without a snapshot.
//
// Code the page imports after the restore is compiled here too, not imported: the app's
// browser adapters (in pyapp.zip, they import `js`) and PyScript's own `pyscript` package
// (which PyScript writes into the page's home folder at boot, from sources in its dist; given
// the dist folder, they are read from there). `_pyodide_snapshot.code_cache` holds their code
// objects by (path, CRC-32 of the source), and a hook on importlib's `source_to_code` uses
// one when an import reads that very file (else it compiles, as always): compiling them took
// 50-100 ms of every boot (bench/README.md).

import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

// What the app imports at boot beyond what Pyodide imports by itself.
// Pyodide already imports asyncio, json, dataclasses, enum, typing, logging,
// inspect, base64, zipfile, random, re, ... The app's own boot adds little
// (urllib.parse; zipfile decodes pyapp.zip's names with cp437). urllib.request,
// http.client and email.* are left out: the sync HTTP path imports them on first
// use (tokensession.browser.sync_http), so they do not weigh on every first visit.
const MODULES = [
  "urllib.parse",
  "encodings.cp437", // zipfile decodes pyapp.zip's names with it
  // The in-page demo API (static site; authapi) signs and checks tokens with these at
  // its first call. Without them in the heap, tests/browser/test_demo_api.py's two-tab
  // test saw an extra refresh (a slower first call in one tab): kept, they cost little.
  "hashlib",
  "hmac",
  "secrets",
  "datetime",
];

// The app's modules that are pure Python (what they import too). The browser
// adapters (pyapp.browser, tokensession.browser) import `js`/`pyscript` and are
// imported in the page as before.
const APP_MODULES = ["tokensession", "authapi.inpage", "pyapp.app"];

// Defined in the snapshot's _pyodide_snapshot module; web/main.py calls it. The app's
// modules wait in `app_modules`, out of sys.modules, so that a page that does not ask for
// them (examples/minimal installs tokensession as a wheel) never sees them.
const CHECK_APP = `
def zip_fingerprint(path):
    """(size, CRC-32 of the central directory and end record) of the zip at path: what
    zipimport's table of contents is made of (names, offsets, sizes, each member's CRC).
    Reads only the tail of the file."""
    import zlib
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
        end = tail.rfind(b"PK\\x05\\x06")
        if end < 0 or end + 22 > len(tail):
            return size, None
        directory = int.from_bytes(tail[end + 16 : end + 20], "little")
        f.seek(directory)
        return size, zlib.crc32(f.read())


def _cached_source_to_code(self, data, path, *, _optimize=-1):
    """importlib's SourceLoader.source_to_code, with the code compiled when the snapshot was
    made for a file whose path and CRC-32 are in code_cache."""
    import zlib
    if _optimize == -1 and isinstance(data, bytes):
        code = code_cache.pop((path, zlib.crc32(data)), None)
        if code is not None:
            return code
    return _compile_source(self, data, path, _optimize=_optimize)


def check_app():
    """Put the app modules of this snapshot into sys.modules if they are the files the page
    has (PyScript unpacked pyapp.zip); else leave them out (imported from the files then).
    Call it before importing any of them. Returns whether they went in."""
    import sys, zlib
    fresh = bool(app_files)
    for name, (path, size, crc) in app_files.items():
        try:
            with open(path, "rb") as f:
                data = f.read()
            fresh = len(data) == size and zlib.crc32(data) == crc  # to tell edits, not attacks
        except OSError:
            fresh = False
        if not fresh:
            break
    if fresh and not any(name in sys.modules for name in app_modules):
        sys.modules.update(app_modules)
    else:
        fresh = False
    app_modules.clear()  # once: in or gone
    return fresh
`;

// Runs in its own globals (not __main__'s), so its names do not stay behind.
const PREPARE = `
import gc, importlib, os, sys, types, zlib

before = set(sys.modules)
for name in MODULES:
    importlib.import_module(name)

app_files, app_modules = {}, {}
if APP_MODULES:
    home = os.getcwd()  # where PyScript's [files] "./*" unpacks pyapp.zip in the page
    sys.path.insert(0, home)
    app_before = set(sys.modules)
    for name in APP_MODULES:
        importlib.import_module(name)
    sys.path.remove(home)
    for name in sorted(set(sys.modules) - app_before):
        origin = getattr(getattr(sys.modules[name], "__spec__", None), "origin", None) or ""
        if origin.startswith(home + "/"):
            with open(origin, "rb") as f:
                data = f.read()
            app_files[name] = (origin, len(data), zlib.crc32(data))
    for folder in list(sys.path_importer_cache):
        if folder == home or folder.startswith(home + "/"):
            del sys.path_importer_cache[folder]  # its listing is from now, not the page's
    app_modules = {name: sys.modules.pop(name) for name in sorted(set(sys.modules) - app_before)}

# Code for what the page imports after the restore (see the head of this file): the app's
# other files and PyScript's package, compiled as importlib would (source bytes, the path
# the page imports them from), not run.
code_cache = {}
if APP_MODULES:
    for folder, _, names in os.walk(home):
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path not in {origin for origin, _, _ in app_files.values()}:
                with open(path, "rb") as f:
                    data = f.read()
                code_cache[(path, zlib.crc32(data))] = compile(data, path, "exec", dont_inherit=True)
for relative, text in PYSCRIPT_FILES.items():
    path = os.path.join(os.getcwd(), relative)  # PyScript writes them under "./"
    data = text.encode("utf-8")  # as its pathlib write_text does
    code_cache[(path, zlib.crc32(data))] = compile(data, path, "exec", dont_inherit=True)

# Only pure Python from the stdlib zip, modules built into the wasm binary, and the
# app's files.
unsafe = [f"{name} (not a file of the app)" for name in app_modules if name not in app_files]
for name in sorted(set(sys.modules) - before):
    module = sys.modules[name]
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if origin in ("built-in", "frozen") or (origin or "").startswith("/lib/python314.zip/"):
        continue
    unsafe.append(f"{name} ({origin})")
if unsafe:
    raise RuntimeError("not safe in a snapshot: " + ", ".join(unsafe))

# The state a plain boot in a browser has. loadPyodide inserts "" into
# sys.path again after a restore; Node's program name was replaced by
# _sysExecutable; LANG and the random seed are set again after the restore.
while "" in sys.path:
    sys.path.remove("")
assert os.environ.get("_") == "./this.program", os.environ.get("_")

# The restore checks that the page's python_stdlib.zip is the one the snapshot was made
# with (zipimport keeps its table of contents in memory): zip_fingerprint, its central
# directory, which is what that table is made of and far cheaper to read than the zip.
stdlib_zip = next(p for p in sys.path if p.endswith(".zip"))
info = types.ModuleType("_pyodide_snapshot")
info.modules = tuple(MODULES)
info.app_files = app_files
info.app_modules = app_modules
info.code_cache = code_cache
exec(CHECK_APP, info.__dict__)
info.stdlib_zip = (stdlib_zip, info.zip_fingerprint(stdlib_zip))
if info.stdlib_zip[1][1] is None:
    raise RuntimeError(f"{stdlib_zip}: no end of central directory record")
sys.modules[info.__name__] = info
from importlib import _bootstrap_external
info._compile_source = _bootstrap_external.SourceLoader.source_to_code
_bootstrap_external.SourceLoader.source_to_code = info._cached_source_to_code
gc.collect()
sorted(set(sys.modules))
`;

// The snapshot is the whole heap, and freed memory keeps its old bytes. Take
// every free chunk that fits without growing the heap, zero it, give it back, so
// the snapshot compresses better. Small enough, it fits in Chromium's in-memory HTTP cache
// (incognito windows, Playwright's contexts), whose entries may be at most
// 1/8 of its 50 MB: a bigger snapshot is downloaded again on every load there.
function zeroFreeMemory(module) {
  const { _malloc: malloc, _free: free, _malloc_footprint: footprint } = module;
  if (![malloc, free, footprint].every((f) => typeof f === "function")) return 0;
  const heapBytes = module.HEAPU8.length;
  const held = [];
  let zeroed = 0;
  // From below dlmalloc's mmap threshold (256 KiB): bigger requests take new memory.
  for (let size = 1 << 17; size >= 16; size >>= 1) {
    for (;;) {
      const before = footprint();
      const ptr = malloc(size);
      if (!ptr) break;
      if (footprint() !== before) {
        free(ptr);
        break;
      }
      module.HEAPU8.fill(0, ptr, ptr + size);
      held.push(ptr);
      zeroed += size;
    }
  }
  held.forEach((ptr) => free(ptr));
  if (module.HEAPU8.length !== heapBytes) throw new Error("the heap grew while zeroing it");
  return zeroed;
}

// PyScript's own Python package as its dist writes it into the page at boot: an object
// literal {pyscript: {"__init__.py": "...", ...}} in one of its chunks, evaluated here (it is
// the pinned package's own code). {} with a warning if it is not found (the page then
// compiles those files, as without this).
function pyscriptFiles(dist) {
  if (!dist) return {};
  const marker = '{pyscript:{"__init__.py":';
  for (const name of readdirSync(dist).filter((n) => n.endsWith(".js"))) {
    const source = readFileSync(path.join(dist, name), "utf8");
    const start = source.indexOf(marker);
    if (start < 0) continue;
    let depth = 0;
    let quote = null;
    let end = start;
    for (; end < source.length; end++) {
      const c = source[end];
      if (quote) {
        if (c === "\\") end++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'" || c === "`") quote = c;
      else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) break;
    }
    const tree = vm.runInNewContext("(" + source.slice(start, end + 1) + ")", {}, { timeout: 1000 });
    const files = {};
    const walk = (node, prefix) => {
      for (const [key, value] of Object.entries(node)) {
        if (typeof value === "string") files[prefix + key] = value;
        else walk(value, prefix + key + "/");
      }
    };
    walk(tree, "");
    return files;
  }
  console.warn(`make_snapshot: PyScript's Python files not found in ${dist}: not precompiled`);
  return {};
}

function stdlibZip(folder, given) {
  if (given) return path.resolve(given);
  const trimmed = path.resolve(folder, "python_stdlib.app.zip");
  return existsSync(trimmed) ? trimmed : path.resolve(folder, "python_stdlib.zip");
}

async function main(folder, stdlib, appZip, pyscriptDist) {
  if (!folder || !existsSync(path.join(folder, "pyodide.mjs"))) {
    throw new Error(
      "usage: node tools/make_snapshot.mjs <folder with pyodide.mjs> [stdlib zip] [pyapp.zip] [pyscript dist]",
    );
  }
  const PYSCRIPT_FILES = pyscriptFiles(pyscriptDist);
  const indexURL = path.resolve(folder) + path.sep;
  const stdLibURL = stdlibZip(folder, stdlib);
  if (!existsSync(stdLibURL)) throw new Error(`${stdLibURL} does not exist`);
  const started = performance.now();
  const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
  const pyodide = await loadPyodide({
    indexURL,
    stdLibURL, // a path: Pyodide reads it from the disk in Node
    _makeSnapshot: true,
    // Emscripten's default program name in a browser; Node would put this
    // script's path into sys.executable and os.environ["_"].
    _sysExecutable: "./this.program",
    stdout: () => {},
    stderr: (line) => process.stderr.write(line + "\n"),
  });
  if (appZip) pyodide.unpackArchive(new Uint8Array(readFileSync(appZip)), "zip", { extractDir: "/home/pyodide" });
  const globals = pyodide.toPy({ MODULES, APP_MODULES: appZip ? APP_MODULES : [], CHECK_APP, PYSCRIPT_FILES });
  const loaded = pyodide.runPython(PREPARE, { globals }).toJs();
  globals.destroy();
  const zeroed = zeroFreeMemory(pyodide._module);
  const snapshot = pyodide.makeMemorySnapshot();
  const out = path.join(folder, "snapshot.bin");
  writeFileSync(out + ".tmp", snapshot);
  renameSync(out + ".tmp", out);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const mib = (snapshot.length / 2 ** 20).toFixed(1);
  const freed = (zeroed / 2 ** 20).toFixed(1);
  const app = appZip ? `; ${APP_MODULES.join(", ")} and what they import, from ${appZip}` : "";
  const compiled = Object.keys(PYSCRIPT_FILES).length;
  console.log(
    `make_snapshot: ${out}: ${mib} MiB (${freed} MiB of free memory zeroed), ${loaded.length} modules, ` +
      `stdlib ${path.basename(stdLibURL)}${app}, ${compiled} PyScript files compiled, ${seconds} s`,
  );
}

main(process.argv[2], process.argv[3], process.argv[4], process.argv[5]).catch((err) => {
  console.error(`make_snapshot: ${err.stack || err}`);
  process.exit(1);
});
