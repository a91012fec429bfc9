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
//
// Host-independent bytes: a static host (GitHub Pages, `python3 -m http.server`)
// may compress nothing, and the runtime is 45 MB raw. The big files sit beside
// their originals as `<name>.gz` (tools/vendor.py); this module fetches those
// and gunzips them in the page (DecompressionStream), unless the server has sent
// them in a better coding the browser decoded already (serve.py: zstd).
// Pyodide's own requests for them go through a `fetch` wrapped for the length
// of `loadPyodide` only. Each file is downloaded once per boot, shared by the
// snapshot attempt and the plain fallback.
//
// The downloads start when this module is first evaluated in a page: web/index.html
// runs it as an async module (web/boot.js and PyScript import it again, later: the
// same module instance, the same downloads in flight). This replaced `<link rel=preload
// as=fetch>`: under Chromium's network emulation (CDP, 10 and 50 Mbps) a fetch
// that took over such a preload never finished, and the page never booted.

import { loadPyodide as loadPlain, version } from "./pyodide.mjs";

export { version };
// For tests/unit/test_snapshot_delta.py, which checks it against tools/snapshot_delta.py.
export { undoDataSegments };
// For tests/unit/test_link_probe.py, which feeds it downloads of known speed.
export { RuntimeFiles };

const BASE = new URL("./", import.meta.url);
// Every browser Pyodide runs in has it (Chrome 80, Firefox 113, Safari 16.4); without it, the plain files.
const CAN_GUNZIP = typeof DecompressionStream === "function";

// name -> [content type, where the bytes come from, file (default: name)]. "gz":
// `<file>.gz`, or the plain file when the host has no `.gz`; "gz-only": only
// `<file>.gz` (a 30 MiB raw snapshot is not worth a first visit: without it, boot the
// plain way). serve.py answers a `.gz` with the file's zstd form when the browser takes
// zstd (`Content-Encoding: zstd`, decoded by the browser; 2.4 MB less in all): the body
// then is the file itself, which gunzippedStream passes through.
// Pyodide's python_stdlib.zip is answered with python_stdlib.app.zip, the stdlib
// trimmed to what the app imports (tools/stdlib-keep.txt), its members stored so that the
// file compresses as one (1.46 MB gzipped, 1.07 MB zstd), in the snapshot boot and the
// plain fallback alike; the snapshot is made from it.
const WASM = "application/wasm";
const WASM_FILE = "pyodide.asm.wasm";
const SNAPSHOT_FILE = "snapshot.bin";
// The per-visit decision (RuntimeFiles.snapshotWanted): watch the downloads for at least
// LINK_PROBE_MS after their first byte and LINK_PROBE_BYTES (at most LINK_PROBE_MAX_MS in
// all); the snapshot is worth waiting for when the rest of it arrives within
// SNAPSHOT_SAVES_MS, about the CPU a restore saves over a plain boot on 2 shared cores
// (bench/README.md has the figures).
const LINK_PROBE_MS = 300;
const LINK_PROBE_BYTES = 512 * 1024;
const LINK_PROBE_MAX_MS = 1500;
const LINK_PROBE_STEP_MS = 50;
const SNAPSHOT_SAVES_MS = 1000;
const SNAPSHOT_TYPICAL_BYTES = 4.1e6; // when the host sends no Content-Length
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const DECODED_CACHE = "pyodide-decoded";
// snapshot.bin as tools/vendor.py ships it: Pyodide's snapshot with pyodide.asm.wasm's data
// segments XORed out of the heap (tools/snapshot_delta.py; 5.5 -> 4.1 MB gzipped), flagged by
// this value in the header's fourth word, which Pyodide writes as 0 and does not read.
const XOR_MAGIC = 0x31524f58;
const RUNTIME_FILES = {
  [WASM_FILE]: [WASM, "gz"],
  "pyodide-lock.json": ["application/json", "gz"],
  "python_stdlib.zip": ["application/zip", "gz", "python_stdlib.app.zip"],
  [SNAPSHOT_FILE]: ["application/octet-stream", "gz-only"],
};

// After a restore: what a plain boot sets per page, not once at build time.
// Also checks that python_stdlib.zip is the one the snapshot was made with:
// zipimport holds that zip's table of contents from build time.
const AFTER_RESTORE = `
import logging, os, random, sys, time

info = sys.modules["_pyodide_snapshot"]
path, fingerprint = info.stdlib_zip
if info.zip_fingerprint(path) != fingerprint:
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

// The body of a `.gz` response, gunzipped, as a stream. A host that labels `x.gz`
// with `Content-Encoding: gzip` has had the browser gunzip it already: the gzip
// magic number (1f 8b) says which. `meter` (RuntimeFiles.counted) hears of each chunk
// read and of the end of the body, however it ends.
const NO_METER = { bytes() {}, end() {} };
async function gunzippedStream(response, meter = NO_METER) {
  const reader = response.body.getReader();
  let first;
  try {
    first = await reader.read();
  } catch (error) {
    meter.end();
    throw error;
  }
  const head = first.value ?? new Uint8Array(0);
  meter.bytes(head.length);
  if (first.done) meter.end();
  const body = new ReadableStream({
    start(controller) {
      if (first.done) controller.close();
      else controller.enqueue(head);
    },
    async pull(controller) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        meter.end();
        throw error;
      }
      if (chunk.done) {
        meter.end();
        controller.close();
      } else {
        meter.bytes(chunk.value.length);
        controller.enqueue(chunk.value);
      }
    },
    cancel(reason) {
      meter.end();
      return reader.cancel(reason);
    },
  });
  const gzipped = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  return gzipped ? body.pipeThrough(new DecompressionStream("gzip")) : body;
}

// Wire bytes per body byte read from `response`: 1 unless the browser decodes it
// (Content-Encoding: serve.py's zstd), then Content-Length over the decoded length serve.py
// sends as X-Decoded-Length (an average: the wasm compresses about evenly). Without those
// headers the body bytes count as they are (the link then seems faster than it is).
function wireScale(response) {
  if (!response.headers.get("content-encoding")) return 1;
  const wire = Number(response.headers.get("content-length"));
  const decoded = Number(response.headers.get("x-decoded-length"));
  return wire > 0 && decoded > 0 ? wire / decoded : 1;
}

// A stream's bytes in one Uint8Array. Not a Blob: a Blob of megabytes goes to the browser's
// blob store and back (the 30 MiB snapshot: 50-70 ms more, measured in the page).
async function readAll(stream) {
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

// The runtime files of one boot: each downloaded once, decoded, kept (a Uint8Array) for as
// long as this boot may need it again.
class RuntimeFiles {
  constructor(fetchFn) {
    this.fetch = fetchFn;
    this.files = new Map();
    // pyodide.asm.wasm, compiled while it downloads (and while the snapshot still does):
    // Pyodide itself would start compiling only once the snapshot is in (see useCompiledWasm).
    this.compiled = undefined;
    this.wasmResponses = new WeakSet();
    // How fast the link is, from the runtime's own downloads (see snapshotWanted).
    // Bytes as they came over the wire (see wireScale); snapshotHidden: the browser decodes the
    // snapshot (Content-Encoding), so how much of it has arrived is not known. waiting: downloads
    // whose answer has not come yet; open: bodies being counted; lastByteAt: when the last counted
    // byte came; snapshotIn: the snapshot's bytes are all here.
    this.link = {
      firstByteAt: undefined,
      lastByteAt: undefined,
      waiting: 0,
      open: 0,
      bytes: 0,
      snapshotBytes: 0,
      snapshotTotal: undefined,
      snapshotHidden: false,
      snapshotIn: false,
    };
    this.snapshotAbort = typeof AbortController === "function" ? new AbortController() : undefined;
    this.decodedCache = new DecodedCache();
    this.decodedCache.readEarly(SNAPSHOT_FILE);
    // Whether the host compresses what it sends, from the wasm's response (importAsm).
    this.hostCompresses = new Promise((resolve) => (this.sawCompression = resolve));
    this.asmModule = this.importAsm();
  }

  // The meter of one body (gunzippedStream): its bytes count towards the link's rate.
  counted(name, response) {
    const link = this.link;
    const scale = wireScale(response);
    // Its bytes compress unevenly (runs of zeros): no measure of the link.
    const hidden = name === SNAPSHOT_FILE && Boolean(response.headers.get("content-encoding"));
    if (hidden) link.snapshotHidden = true;
    let open = !hidden;
    if (open) link.open++;
    return {
      bytes(n) {
        const now = performance.now();
        link.firstByteAt ??= now;
        if (hidden) return;
        link.lastByteAt = now;
        link.bytes += n * scale;
        if (name === SNAPSHOT_FILE) link.snapshotBytes += n;
      },
      end() {
        if (open) link.open--;
        open = false;
      },
    };
  }

  // Whether this visit should wait for the snapshot. It saves CPU, but it is 3-4 MB more to
  // download: on a slow link booting the plain way is sooner (10 Mbit/s, measured before the
  // stdlib shipped as bytecode: 6.2 s plain, 6.7 s with the snapshot; bench/README.md). Decided once, from the
  // downloads under way: yes if the snapshot is in (a warm visit, a fast link) within the
  // probe; else yes only if what is left of it would arrive within SNAPSHOT_SAVES_MS at the
  // rate seen so far. A "no" stops its download; fetchSnapshotForNextVisit fetches it later.
  //
  // The rate is bytes over the time they took to come: from the first byte to now while a
  // download is still under way, else to the last byte. PyScript may call loadPyodide well after
  // the downloads are over (Firefox, or any loaded machine); the time since then says nothing
  // about the link. Counting it read a loopback link in Firefox as 17-20 Mbit/s, since there the
  // snapshot comes zstd-encoded (hidden) and was counted as all still to come.
  async snapshotWanted() {
    const link = this.link;
    const snapshot = this.bytes(SNAPSHOT_FILE).then(
      () => true,
      () => false,
    );
    const started = performance.now();
    for (;;) {
      if (link.snapshotIn) return true; // before the probe's checks: it may be over already
      const now = performance.now();
      const waited = now - started;
      const since = link.firstByteAt === undefined ? 0 : now - link.firstByteAt;
      if (since >= LINK_PROBE_MS && (link.bytes >= LINK_PROBE_BYTES || waited >= LINK_PROBE_MAX_MS)) break;
      if (waited >= LINK_PROBE_MAX_MS) break;
      const done = await Promise.race([snapshot, sleep(LINK_PROBE_STEP_MS).then(() => undefined)]);
      if (done !== undefined) return done;
    }
    const flowing = link.open > 0 || link.waiting > 0;
    const end = flowing ? performance.now() : (link.lastByteAt ?? performance.now());
    const seconds = Math.max(end - (link.firstByteAt ?? end), 1) / 1000; // all of it within 1 ms: fast
    const rate = link.bytes / seconds; // bytes per second, all files together
    // Decoded by the browser: count it all as still to come (this errs towards the plain boot).
    const left = (link.snapshotTotal ?? SNAPSHOT_TYPICAL_BYTES) - (link.snapshotHidden ? 0 : link.snapshotBytes);
    const leftMs = rate > 0 ? (left / rate) * 1000 : Infinity;
    if (leftMs <= SNAPSHOT_SAVES_MS) return true; // Pyodide awaits the bytes itself, when it needs them
    this.snapshotAbort?.abort();
    this.slowLink = { mbps: (rate * 8) / 1e6, leftMs };
    return false;
  }

  nameOf(url) {
    for (const name of Object.keys(RUNTIME_FILES)) {
      if (new URL(name, BASE).href === url) return name;
    }
    return undefined;
  }

  bytes(name) {
    let bytes = this.files.get(name);
    if (!bytes) {
      bytes = this.download(name);
      bytes.catch(() => {}); // whoever awaits it handles the error
      if (name === WASM_FILE) bytes.catch(() => this.sawCompression(false));
      if (name === SNAPSHOT_FILE) bytes.then(() => (this.link.snapshotIn = true)).catch(() => {});
      this.files.set(name, bytes);
    }
    return bytes;
  }

  async download(name) {
    const [type, how, file = name] = RUNTIME_FILES[name];
    if (how === "gz-only" && !CAN_GUNZIP) throw new Error("this browser has no DecompressionStream");
    if (how !== "plain" && CAN_GUNZIP) {
      const gz = new URL(file + ".gz", BASE);
      const init = name === SNAPSHOT_FILE && this.snapshotAbort ? { signal: this.snapshotAbort.signal } : undefined;
      this.link.waiting++;
      let response;
      try {
        response = await this.fetch(gz, init);
      } finally {
        this.link.waiting--;
      }
      if (name === WASM_FILE) this.sawCompression(response.ok && Boolean(response.headers.get("content-encoding")));
      if (name === SNAPSHOT_FILE) this.link.snapshotTotal = Number(response.headers.get("content-length")) || undefined;
      if (response.ok && name === SNAPSHOT_FILE) {
        const hit = await this.decodedCache.get(name, response);
        if (hit) {
          // At once: the browser would go on reading (and decoding) the download meanwhile.
          response.body?.cancel().catch(() => {});
          try {
            const decoded = new Uint8Array(await hit.arrayBuffer());
            this.snapshotFromCache = true;
            return decoded;
          } catch (error) {
            console.info(`Pyodide: the decoded snapshot could not be read (${error?.message ?? error})`);
            const again = await this.fetch(gz, init);
            if (!again.ok) throw new Error(`${gz.pathname} answered ${again.status}`);
            return this.keep(name, await gunzippedStream(again, this.counted(name, again)), type);
          }
        }
        return this.keep(name, await gunzippedStream(response, this.counted(name, response)), type);
      }
      if (response.ok) return this.keep(name, await gunzippedStream(response, this.counted(name, response)), type);
      if (how === "gz-only") throw new Error(`${gz.pathname} answered ${response.status}`);
    }
    const url = new URL(file, BASE);
    const response = await this.fetch(url);
    if (!response.ok) throw new Error(`${url.pathname} answered ${response.status}`);
    return this.keep(name, response.body, type);
  }

  // The decoded bytes; for the wasm, also compiled on the way (a second branch of the same
  // stream, so compiling overlaps downloading).
  keep(name, stream, type) {
    if (type !== WASM || this.compiled || typeof WebAssembly.compileStreaming !== "function") {
      return readAll(stream);
    }
    const [toCompile, toKeep] = stream.tee();
    this.compiled = WebAssembly.compileStreaming(new Response(toCompile, { headers: { "content-type": type } }));
    this.compiled.catch(() => {}); // useCompiledWasm falls back to Pyodide's own compile
    return readAll(toKeep);
  }

  // Pyodide's Emscripten module (pyodide.asm.mjs, 1.2 MB raw). From a host that compresses
  // (serve.py answers the wasm's `.gz` name zstd-encoded), by its URL: the browser then compiles it
  // off the main thread and keeps the compiled code for later visits (from a blob: URL,
  // 100+ ms of parsing on the main thread at every visit). From a host that compresses
  // nothing, the `.gz` gunzipped here, through a blob: URL (0.26 MB instead of 1.2 MB).
  // Undefined if neither works (a CSP without blob:): Pyodide then imports it itself.
  async importAsm() {
    const name = "pyodide.asm.mjs";
    try {
      if (CAN_GUNZIP && !(await this.hostCompresses)) {
        const response = await this.fetch(new URL(name + ".gz", BASE));
        if (response.ok && !response.headers.get("content-encoding")) {
          const bytes = await readAll(await gunzippedStream(response));
          const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
          try {
            return (await import(/* webpackIgnore: true */ url)).default;
          } finally {
            URL.revokeObjectURL(url);
          }
        }
        response.body?.cancel().catch(() => {});
      }
      return (await import(/* webpackIgnore: true */ new URL(name, BASE).href)).default;
    } catch (error) {
      console.warn(`Pyodide: importing pyodide.asm.mjs the plain way (${error?.message ?? error})`);
      return undefined;
    }
  }

  // The snapshot as Pyodide restores it: the data segments put back (undoDataSegments) from
  // the wasm this boot has downloaded anyway. What Cache Storage keeps is this, decoded.
  // Decoded in place, once (the flag is cleared), for this boot and Cache Storage.
  async snapshotBytes() {
    const bytes = await this.decoded(await this.bytes(SNAPSHOT_FILE));
    if (!this.snapshotFromCache) this.decodedCache.keep(SNAPSHOT_FILE, bytes);
    return bytes;
  }

  async decoded(snapshot) {
    const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    if (snapshot.length >= 16 && view.getUint32(12, true) === XOR_MAGIC) {
      undoDataSegments(snapshot, await this.bytes(WASM_FILE));
    }
    return snapshot;
  }

  async response(name) {
    const bytes = await this.bytes(name);
    const response = new Response(bytes, { status: 200, headers: { "content-type": RUNTIME_FILES[name][0] } });
    if (name === WASM_FILE) this.wasmResponses.add(response);
    return response;
  }
}

// The decoded snapshot (30 MiB) in Cache Storage, so that a later visit skips decoding it
// (about 0.3 s here). Keyed by the `.gz` response's validators (ETag, else Last-Modified
// and length): a new snapshot on the server has a new key, and the old entries go. Cache
// Storage exists only in secure contexts (https, localhost); without it, or when it
// fails (quota, private modes), the snapshot is decoded as before. <html
// data-pyodide-snapshot-from="cache|download|download-only"> tells which happened
// ("download-only": not kept, for want of Cache Storage or of validators to key it by).
class DecodedCache {
  constructor() {
    this.keys = new Map();
    this.pending = new Map();
    this.early = new Map();
  }

  // Started with the downloads: read the entry stored last while the `.gz` is revalidated
  // (a round trip), instead of after. `get` uses it only if its key is the response's.
  readEarly(name) {
    if (!globalThis.caches) return;
    const prefix = new URL(`${name}?decoded=`, BASE).href;
    const entry = (async () => {
      const cache = await caches.open(DECODED_CACHE);
      const request = (await cache.keys()).find((r) => r.url.startsWith(prefix));
      if (!request) return undefined;
      const bytes = cache.match(request).then(async (hit) => {
        if (!hit) throw new Error("the entry went away");
        return hit.arrayBuffer();
      });
      bytes.catch(() => {}); // awaited by get, or not needed
      return { key: request.url, bytes };
    })().catch(() => undefined);
    this.early.set(name, entry);
  }

  key(name, response) {
    const h = (header) => response.headers.get(header) ?? "";
    const tag = h("etag") || (h("last-modified") && `${h("last-modified")}|${h("content-length")}`);
    return tag ? new URL(`${name}?decoded=${encodeURIComponent(tag)}`, BASE).href : undefined;
  }

  async get(name, response) {
    const key = this.key(name, response);
    if (!key || !globalThis.caches) return markFrom("download-only"); // nothing to keep it in, or by
    this.keys.set(name, key);
    try {
      const early = await this.early.get(name);
      if (early?.key === key) {
        markFrom("cache");
        return { arrayBuffer: () => early.bytes }; // as a Response would
      }
      const hit = await (await caches.open(DECODED_CACHE)).match(key);
      if (hit) {
        markFrom("cache");
        return hit;
      }
    } catch (error) {
      console.info(`Pyodide: no decoded snapshot from Cache Storage (${error?.message ?? error})`);
    }
    return markFrom("download");
  }

  // The decoded bytes, to store after the boot (not what came from the cache: already there).
  keep(name, bytes) {
    if (this.keys.has(name)) this.pending.set(name, bytes);
  }

  // After the boot, when the page is idle: store what was decoded, drop older entries.
  storeLater() {
    if (!this.pending.size) return;
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 1000));
    idle(() => this.store());
  }

  async store() {
    const pending = [...this.pending];
    this.pending.clear();
    try {
      const cache = await caches.open(DECODED_CACHE);
      for (const [name, bytes] of pending) {
        const key = this.keys.get(name);
        await cache.put(key, new Response(bytes, { headers: { "content-type": RUNTIME_FILES[name][0] } }));
        const prefix = new URL(`${name}?decoded=`, BASE).href;
        for (const old of await cache.keys()) {
          if (old.url.startsWith(prefix) && old.url !== key) await cache.delete(old);
        }
      }
      const root = globalThis.document?.documentElement;
      if (root) root.dataset.pyodideSnapshotDecoded = "stored";
    } catch (error) {
      console.info(`Pyodide: the decoded snapshot was not stored (${error?.message ?? error})`);
    }
  }
}

function markFrom(where) {
  const root = globalThis.document?.documentElement;
  if (root) root.dataset.pyodideSnapshotFrom = where;
  return undefined;
}

// tools/snapshot_delta.py's `decode`, in place: XOR each active data segment of `wasm` into
// the snapshot's heap (which starts at the offset in the header's second word), and clear the
// flag. Throws on anything it does not know (the caller then boots the plain way).
function undoDataSegments(snapshot, wasm) {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const heapAt = view.getUint32(4, true);
  let at = 0;
  const leb = (signed = false) => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= wasm.length) throw new Error("truncated wasm binary");
      const byte = wasm[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return signed && byte & 0x40 ? value - 2 ** shift : value;
    }
  };
  if (wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) throw new Error("not a wasm binary");
  at = 8;
  let segments = 0;
  while (at < wasm.length) {
    const section = wasm[at++];
    const size = leb();
    const end = at + size;
    if (section === 11) {
      for (let count = leb(); count > 0; count--) {
        const flags = leb();
        if (flags === 1) {
          at += leb(); // passive: not part of the memory at instantiation
          continue;
        }
        if (flags === 2 && leb() !== 0) throw new Error("a data segment of another memory");
        if (flags !== 0 && flags !== 2) throw new Error(`data segment flags ${flags}`);
        if (wasm[at++] !== 0x41) throw new Error("a data segment offset that is not an i32.const");
        const offset = leb(true);
        if (wasm[at++] !== 0x0b) throw new Error("a data segment offset longer than one instruction");
        const length = leb();
        const to = heapAt + offset;
        if (offset < 0 || to + length > snapshot.length || at + length > wasm.length) {
          throw new Error("a data segment outside the snapshot's heap");
        }
        for (let i = 0; i < length; i++) snapshot[to + i] ^= wasm[at + i];
        at += length;
        segments++;
      }
    }
    at = end;
  }
  if (!segments) throw new Error("no data segments in the wasm binary");
  view.setUint32(12, 0, true);
}

// While Pyodide loads, its `instantiateStreaming` of pyodide.asm.wasm (a response from
// `files`) instantiates the module `files` compiled already; anything else, or a failed
// early compile, goes the usual way. Returns the function that undoes it.
function useCompiledWasm(files) {
  const real = WebAssembly.instantiateStreaming;
  if (typeof real !== "function") return () => {};
  const wrapped = async function instantiateStreaming(source, imports) {
    const response = await source;
    if (files.compiled && files.wasmResponses.has(response)) {
      let module;
      try {
        module = await files.compiled;
      } catch (error) {
        console.warn(`Pyodide: compiling the wasm early failed (${error?.message ?? error})`);
      }
      if (module) return { module, instance: await WebAssembly.instantiate(module, imports) };
    }
    return real.call(WebAssembly, response, imports);
  };
  WebAssembly.instantiateStreaming = wrapped;
  return () => {
    if (WebAssembly.instantiateStreaming === wrapped) WebAssembly.instantiateStreaming = real;
  };
}

function requestUrl(input) {
  if (input instanceof Request) return input.url;
  return new URL(String(input), globalThis.location?.href ?? BASE).href;
}

// While Pyodide loads, its GETs of the runtime files are answered from `files`;
// everything else goes to the real fetch. Returns the function that undoes it.
function interceptFetch(files, realFetch) {
  const wrapped = function fetch(input, init) {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const name = method === "GET" ? files.nameOf(requestUrl(input)) : undefined;
    return name === undefined ? realFetch(input, init) : files.response(name);
  };
  globalThis.fetch = wrapped;
  return () => {
    if (globalThis.fetch === wrapped) globalThis.fetch = realFetch;
  };
}


// After a plain boot on a slow link: the snapshot into the HTTP cache, quietly, so that the
// next visit restores it (from the cache it arrives within the probe). <html
// data-pyodide-snapshot-next="cached"> once it is there (bench/network_bench.py waits for it).
// Where Cache Storage can keep it, decoded as after a restore, so that the next visit reads
// it from there (as every later one does) instead of decoding 30 MiB on its critical path.
function fetchSnapshotForNextVisit(files, realFetch) {
  const root = globalThis.document?.documentElement;
  const url = new URL(SNAPSHOT_FILE + ".gz", BASE);
  setTimeout(async () => {
    try {
      const response = await realFetch(url, { priority: "low" });
      if (!response.ok) throw new Error(`${url.pathname} answered ${response.status}`);
      const key = files.decodedCache.key(SNAPSHOT_FILE, response);
      if (key && globalThis.caches && CAN_GUNZIP) {
        const bytes = await files.decoded(await readAll(await gunzippedStream(response)));
        files.decodedCache.keys.set(SNAPSHOT_FILE, key);
        files.decodedCache.keep(SNAPSHOT_FILE, bytes);
        await files.decodedCache.store();
      } else {
        await response.arrayBuffer(); // read to the end: only a whole body is kept in the cache
      }
      if (root) root.dataset.pyodideSnapshotNext = "cached";
    } catch (error) {
      if (root) root.dataset.pyodideSnapshotNext = "failed";
      console.warn(`Pyodide: the snapshot for the next visit could not be fetched (${error?.message ?? error})`);
    }
  }, 0);
}

// This page's downloads, started once, at the first import (web/boot.js's, early);
// the first loadPyodide takes them over. Not in Node (tools/make_snapshot.mjs does not
// import this module, but a test might).
let prefetched;
if (globalThis.document && typeof globalThis.fetch === "function") {
  prefetched = new RuntimeFiles(globalThis.fetch.bind(globalThis));
  for (const name of Object.keys(RUNTIME_FILES)) prefetched.bytes(name);
}

export async function loadPyodide(options = {}) {
  const realFetch = globalThis.fetch.bind(globalThis);
  const files = prefetched ?? new RuntimeFiles(realFetch);
  prefetched = undefined; // a second boot in this page downloads afresh
  // All at once, in parallel (already under way when boot.js imported this module).
  for (const name of Object.keys(RUNTIME_FILES)) files.bytes(name);
  const restoreFetch = interceptFetch(files, realFetch);
  const restoreWasm = useCompiledWasm(files);
  try {
    const [createPyodideModule, wanted] = await Promise.all([files.asmModule, files.snapshotWanted()]);
    const base = createPyodideModule ? { ...options, createPyodideModule } : { ...options };
    if (!wanted && files.slowLink) {
      const { mbps, leftMs } = files.slowLink;
      console.info(
        `Pyodide: booting without the memory snapshot on this link (about ${mbps.toFixed(1)} Mbit/s: ` +
          `${(leftMs / 1000).toFixed(1)} s more to download it); it is fetched for the next visit`,
      );
      markBoot("plain");
      const pyodide = await loadPlain(base);
      fetchSnapshotForNextVisit(files, realFetch);
      return pyodide;
    }
    let pyodide;
    try {
      const snapshot = files.snapshotBytes();
      snapshot.catch(() => {}); // handled below, through loadPlain; not an "uncaught" error
      pyodide = await loadPlain({ ...base, _loadSnapshot: snapshot });
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
      return await loadPlain(base);
    }
    markBoot("snapshot");
    files.decodedCache.storeLater();
    return pyodide;
  } finally {
    restoreWasm();
    restoreFetch();
  }
}
