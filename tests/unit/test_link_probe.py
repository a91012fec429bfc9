"""The loader's link probe (tools/pyodide-snapshot.mjs, ``RuntimeFiles.snapshotWanted``) in
Node.js, fed downloads of known speed: whether a first visit waits for the memory snapshot.

The snapshot comes zstd-encoded where the browser takes zstd (Firefox, Chromium: serve.py
answers ``snapshot.bin.gz`` with ``Content-Encoding: zstd``), so the page cannot see how much
of it has come and counts it all as still to come. PyScript may ask for Pyodide well after the
downloads are over (Firefox on this machine: 0.5-1.5 s after the first byte); the probe used to
count that idle time as download time, and read a loopback link as 17-20 Mbit/s (issue 18).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.serverproc import ROOT

LOADER = ROOT / "static" / "vendor" / "pyodide-314.0.7" / "pyodide-snapshot.mjs"

# Fake downloads for RuntimeFiles: each body comes in chunks of CHUNK bytes, one every `every`
# ms; the snapshot's body is held open until the probe has decided (its size is only known from
# Content-Length: 3 MB on the wire, as serve.py's zstd form).
NODE_PROBE = """
const [loader, scenario] = process.argv.slice(1);
const { RuntimeFiles } = await import(loader);
const CHUNK = 64 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let releaseSnapshot;
const snapshotHeld = new Promise((resolve) => (releaseSnapshot = resolve));
function body(size, every) {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= size) return controller.close();
      if (every) await sleep(every);
      const n = Math.min(CHUNK, size - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(7));
    },
  });
}
const every = scenario === "slow" ? 100 : 0; // 64 KiB per 100 ms a body: about 15 Mbit/s in all
const sizes = { "pyodide.asm.wasm.gz": 4e6, "python_stdlib.app.zip.gz": 2e6, "pyodide-lock.json.gz": 2e4 };
async function fakeFetch(url) {
  const name = String(url).split("/").pop();
  const zstd = { "content-encoding": "zstd" }; // decoded by "the browser": the bytes as they are
  if (name === "snapshot.bin.gz") {
    const held = new ReadableStream({ async pull(c) { await snapshotHeld; c.close(); } });
    return new Response(held, { headers: { ...zstd, "content-length": "3000000" } });
  }
  if (name in sizes) return new Response(body(sizes[name], every), { headers: zstd });
  return new Response("not here", { status: 404 });
}
const files = new RuntimeFiles(fakeFetch);
const names = ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"];
const others = Promise.all(names.map((name) => files.bytes(name)));
files.bytes("snapshot.bin").catch(() => {});
if (scenario === "late") {
  await others; // every download but the snapshot's is over...
  await sleep(2500); // ...and PyScript asks for Pyodide only now
}
const wanted = await files.snapshotWanted();
releaseSnapshot();
console.log(JSON.stringify({ wanted, slowLink: files.slowLink ?? null }));
process.exit(0);
"""


def probe(scenario: str) -> dict:
    if shutil.which("node") is None:
        pytest.skip("no Node.js")
    if not LOADER.is_file():
        pytest.skip("static/vendor has no loader (tools/vendor.py)")
    out = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_PROBE, LOADER.as_uri(), scenario],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_fast_link_is_read_as_fast_when_pyodide_is_asked_for_after_the_downloads_are_over() -> None:
    # 6 MB in moments, then 2.5 s of nothing: counted as download time, that was 19 Mbit/s and
    # 1.26 s for the snapshot's 3 MB, so a plain boot (the loader before this fix, checked).
    assert probe("late") == {"wanted": True, "slowLink": None}


def test_a_slow_link_is_still_read_as_slow() -> None:
    found = probe("slow")
    assert found["wanted"] is False
    assert found["slowLink"]["mbps"] < 20
    assert found["slowLink"]["leftMs"] > 1000
