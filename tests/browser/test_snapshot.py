"""Boot from the Pyodide memory snapshot, and without it when it cannot be had.

``web/pyscript.toml`` names ``pyodide-snapshot.mjs`` (from ``tools/``) as the
interpreter; it restores ``snapshot.bin`` (``tools/make_snapshot.mjs``) and
falls back to a plain ``loadPyodide`` (``<html data-pyodide-boot>`` says which).
Each test is one cold load in a context of its own: a snapshot is a first-visit
matter, and the shared context's cache would hide the download.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ServerProcess

RUNTIME = "static/vendor/pyodide-314.0.7/"
# Chromium's in-memory HTTP cache (incognito windows, Playwright's contexts) holds 50 MB and no
# entry over 1/8 of that: a bigger snapshot.bin.gz would be downloaded again on every load.
MEMORY_CACHE_ENTRY_MAX = 50 * 2**20 // 8


@pytest.fixture
def server(pyodide_server: ServerProcess) -> ServerProcess:
    """The Pyodide page, whatever the run's runtime: the memory snapshot is Pyodide's."""
    return pyodide_server


@pytest.fixture
def cold_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


def _fetched_twice(urls: list[str]) -> list[str]:
    seen = [u for u in urls if urlsplit(u).scheme in ("http", "https")]
    return sorted({u for u in seen if seen.count(u) > 1})


# Counts what the page asks of WebAssembly (installed before any script of the page).
COUNT_WASM = """
(() => {
  const calls = (window.__wasmCalls = { compileStreaming: 0, instantiateStreaming: 0, instantiate: 0 });
  for (const name of Object.keys(calls)) {
    const real = WebAssembly[name];
    WebAssembly[name] = function (...args) { calls[name] += 1; return real.apply(WebAssembly, args); };
  }
})();
"""


def _console(page_messages: list[ConsoleMessage], kind: str) -> list[tuple[str, str]]:
    return [(m.text, m.location.get("url", "")) for m in page_messages if m.type == kind]


def test_the_runtime_folder_serves_the_snapshot_gzipped_and_revalidated(server: ServerProcess) -> None:
    with httpx.stream("GET", server.url + RUNTIME + "snapshot.bin", headers={"accept-encoding": "gzip"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-encoding"] == "gzip"
        # Built by tools/, not by the pinned package: it may change under the same version.
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["etag"]
        assert int(r.headers["content-length"]) < MEMORY_CACHE_ENTRY_MAX
    # What the page asks for (the loader gunzips it): served as it is, and revalidated too.
    with httpx.stream("GET", server.url + RUNTIME + "snapshot.bin.gz", headers={"accept-encoding": "gzip"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/gzip"
        assert "content-encoding" not in r.headers
        assert r.headers["cache-control"] == "no-cache"
        assert int(r.headers["content-length"]) < MEMORY_CACHE_ENTRY_MAX
    loader = httpx.get(server.url + RUNTIME + "pyodide-snapshot.mjs")
    assert loader.status_code == 200
    assert loader.headers["content-type"].startswith("text/javascript")
    assert loader.headers["cache-control"] == "no-cache"
    again = httpx.get(server.url + RUNTIME + "pyodide-snapshot.mjs", headers={"if-none-match": loader.headers["etag"]})
    assert again.status_code == 304
    pinned = httpx.get(server.url + RUNTIME + "pyodide.mjs")
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    # The trimmed stdlib changes with tools/stdlib-keep.txt, and the snapshot holds its table
    # of contents: revalidated like the snapshot, or an old copy would defeat every new one.
    trimmed = httpx.head(server.url + RUNTIME + "python_stdlib.app.zip")
    assert trimmed.status_code == 200
    assert trimmed.headers["cache-control"] == "no-cache"


def test_cold_boot_restores_the_snapshot(cold_context: BrowserContext, server: ServerProcess) -> None:
    cold_context.add_init_script(COUNT_WASM)
    page = cold_context.new_page()
    messages: list[ConsoleMessage] = []
    page.on("console", lambda m: messages.append(m))
    bp = BootedPage(page, server.url)
    bp.boot("#/login")
    expect(page.locator("html")).to_have_attribute("data-pyodide-boot", "snapshot")
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    # Fetched once, compressed: started by index.html's async run of the loader, taken over by
    # PyScript's import. Chromium takes zstd: serve.py sends the .gz names zstd-encoded.
    assert [u for u in bp.requests if "/snapshot.bin" in u] == [server.url + RUNTIME + "snapshot.bin.gz"]
    # The stdlib trimmed to what the app imports (tools/stdlib-keep.txt), not Pyodide's own.
    stdlib = server.url + RUNTIME + "python_stdlib.app.zip.gz"
    assert [u for u in bp.requests if "/python_stdlib" in u] == [stdlib]
    assert _fetched_twice(bp.requests) == []
    # serve.py compresses what it sends (the wasm's response says so): Pyodide's JS module is
    # imported by its URL (the browser keeps its compiled code), its .gz not asked for.
    assert bp.requests.count(server.url + RUNTIME + "pyodide.asm.mjs") == 1
    assert server.url + RUNTIME + "pyodide.asm.mjs.gz" not in bp.requests
    encodings = page.evaluate(
        "(urls) => Promise.all(urls.map(async (u) => (await fetch(u)).headers.get('content-encoding')))",
        [server.url + RUNTIME + n for n in ("snapshot.bin.gz", "pyodide.asm.wasm.gz", "python_stdlib.app.zip.gz")],
    )
    assert encodings == ["zstd"] * 3
    # The app's own files were asked for once each (boot.js starts them early; PyScript and
    # the app take those responses over), and fetch is the browser's own again.
    for name in ("pyapp.zip", "main.py", "config.json"):
        assert bp.requests.count(server.url + name) == 1, name
    assert page.evaluate("String(window.fetch).includes('[native code]')")
    # pyodide.asm.wasm compiled once, while it downloaded, and Pyodide instantiated that
    # module instead of compiling the file again (its instantiateStreaming never ran).
    calls = page.evaluate("window.__wasmCalls")
    assert calls["compileStreaming"] == 1 and calls["instantiateStreaming"] == 0, calls
    origin = urlsplit(server.url).netloc
    assert [u for u in bp.requests if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != origin] == []
    assert bp.console_errors == []
    # Not the loader's fallback; and the app's pure-Python modules came out of the snapshot
    # (web/main.py found them equal to the files pyapp.zip brought).
    assert [w for w in _console(messages, "warning") if "snapshot" in w[0]] == []
    expect(page.locator("html")).to_have_attribute("data-app-modules", "snapshot")
    expect(page.locator(".py-error")).to_have_count(0)


def test_without_the_snapshot_the_app_boots_the_plain_way(cold_context: BrowserContext, server: ServerProcess) -> None:
    cold_context.add_init_script(COUNT_WASM)
    page = cold_context.new_page()
    messages: list[ConsoleMessage] = []
    page.on("console", lambda m: messages.append(m))
    page.route("**/snapshot.bin*", lambda route: route.fulfill(status=404, body="not here"))
    bp = BootedPage(page, server.url)
    bp.boot("#/login")
    expect(page.locator("html")).to_have_attribute("data-pyodide-boot", "plain")
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    # The failed snapshot attempt and the plain boot share one download of each runtime file,
    # the trimmed stdlib included (the plain boot does not go back to the stock zip).
    assert _fetched_twice(bp.requests) == []
    # Compiled once, early; the plain boot instantiated that module too.
    calls = page.evaluate("window.__wasmCalls")
    assert calls["compileStreaming"] == 1 and calls["instantiateStreaming"] == 0, calls
    assert [u for u in bp.requests if "/python_stdlib" in u] == [server.url + RUNTIME + "python_stdlib.app.zip.gz"]
    snapshot_url = server.url + RUNTIME + "snapshot.bin.gz"
    # The one error is Chromium's own line for the 404 we made, about that URL; nothing else.
    assert [e for e in _console(messages, "error") if e[1] != snapshot_url] == []
    assert [e for e in bp.console_errors if not e.startswith("Failed to load resource")] == []
    warnings = [text for text, _ in _console(messages, "warning")]
    assert any("booting without the memory snapshot" in w for w in warnings), warnings
    expect(page.locator(".py-error")).to_have_count(0)


def _edited_zip(body: bytes, member: str, old: bytes, new: bytes) -> bytes:
    """``body`` (a zip) with ``old`` replaced by ``new`` in ``member``."""
    src, out = zipfile.ZipFile(io.BytesIO(body)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == member:
                assert old in data
                data = data.replace(old, new)
            dst.writestr(info, data)
    return out.getvalue()


def _boot_with_an_edit(
    context: BrowserContext, server: ServerProcess, member: str, old: bytes, new: bytes
) -> tuple[Page, BootedPage]:
    """A page booted from the snapshot with ``member`` of pyapp.zip edited after it was made."""
    edited = _edited_zip(httpx.get(server.url + "pyapp.zip").content, member, old, new)
    page = context.new_page()
    page.route("**/pyapp.zip", lambda route: route.fulfill(body=edited, content_type="application/zip"))
    bp = BootedPage(page, server.url)
    bp.boot("#/login")
    expect(page.locator("html")).to_have_attribute("data-pyodide-boot", "snapshot")
    return page, bp


def test_app_files_newer_than_the_snapshot_are_imported_afresh(
    cold_context: BrowserContext, server: ServerProcess
) -> None:
    # An edit made after the snapshot (serve.py serves the new pyapp.zip at once): the page
    # must run the new code, not the modules frozen in the snapshot.
    title = b'"login.title": "Sign in'
    page, bp = _boot_with_an_edit(cold_context, server, "pyapp/i18n/en.py", title + b'"', title + b' (edited)"')
    expect(page.locator("html")).to_have_attribute("data-app-modules", "files")
    expect(page.get_by_role("heading", name="Sign in (edited)")).to_be_visible()
    bp.sign_in()
    expect(bp.route_view()).to_have_attribute("data-route", "home")
    assert bp.console_errors == []


CODE_CACHE_LEFT = """
import json, sys
from js import document
info = sys.modules["_pyodide_snapshot"]
shell = sys.modules["pyapp.browser.shell"]
document.body.dataset.codeCache = json.dumps({
    "left": sorted(path for path, _ in info.code_cache),
    "shell": shell.start.__code__.co_filename,
})
"""


def test_code_compiled_into_the_snapshot_serves_imports_of_the_very_same_files(
    cold_context: BrowserContext, server: ServerProcess
) -> None:
    # PyScript's own package and the app's browser adapters are compiled into the snapshot
    # (tools/make_snapshot.mjs) and used when the page imports those exact files; an edited
    # file (here pyapp/browser/dom.py) is compiled as usual, and its entry stays unused.
    future = b"from __future__"
    page, bp = _boot_with_an_edit(cold_context, server, "pyapp/browser/dom.py", future, b"# edited\n" + future)
    page.evaluate(
        "(code) => { const s = document.createElement('script'); s.type = 'py'; s.textContent = code;"
        " document.body.append(s); }",
        CODE_CACHE_LEFT,
    )
    expect(page.locator("body")).to_have_attribute("data-code-cache", re.compile(r"^\{"), timeout=20_000)
    found = json.loads(page.locator("body").get_attribute("data-code-cache") or "{}")
    home = "/home/pyodide/"
    used = [home + "pyscript/__init__.py", home + "pyscript/context.py", home + "pyapp/browser/shell.py"]
    assert [path for path in used if path in found["left"]] == []
    assert home + "pyapp/browser/dom.py" in found["left"]  # the edited file: compiled from its source
    assert found["shell"] == home + "pyapp/browser/shell.py"  # tracebacks name the page's file
    bp.sign_in()
    expect(bp.route_view()).to_have_attribute("data-route", "home")
    assert bp.console_errors == []


def test_on_a_slow_link_the_first_visit_boots_plain_and_the_next_one_restores(
    cold_context: BrowserContext, server: ServerProcess
) -> None:
    # 10 Mbit/s (Chromium's emulation, 40 ms): the 3 MB snapshot would cost more time than
    # the CPU it saves, so this visit boots the plain way and fetches it afterwards.
    page = cold_context.new_page()
    messages: list[ConsoleMessage] = []
    page.on("console", lambda m: messages.append(m))
    cdp = cold_context.new_cdp_session(page)
    rate = 10e6 / 8
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 40, "downloadThroughput": rate, "uploadThroughput": rate},
    )
    bp = BootedPage(page, server.url)
    bp.boot("#/login")
    root = page.locator("html")
    expect(root).to_have_attribute("data-pyodide-boot", "plain")
    infos = [text for text, _ in _console(messages, "info") if "without the memory snapshot on this link" in text]
    assert len(infos) == 1, infos
    assert [w for w in _console(messages, "warning") if "snapshot" in w[0]] == []  # a choice, not a failure
    expect(root).to_have_attribute("data-pyodide-snapshot-next", "cached", timeout=60_000)
    bp.sign_in()
    expect(bp.route_view()).to_have_attribute("data-route", "home")
    # Kept decoded in Cache Storage (as after a restore): the next visit revalidates the .gz
    # (304) and restores the snapshot from there.
    expect(root).to_have_attribute("data-pyodide-snapshot-decoded", "stored")
    page.reload()
    bp.wait_ready()
    expect(root).to_have_attribute("data-pyodide-boot", "snapshot")
    expect(root).to_have_attribute("data-pyodide-snapshot-from", "cache")
    expect(bp.route_view()).to_have_attribute("data-route", "home")
    assert bp.console_errors == []


def test_a_later_visit_takes_the_gunzipped_snapshot_from_cache_storage(
    cold_context: BrowserContext, server: ServerProcess
) -> None:
    page = cold_context.new_page()
    bp = BootedPage(page, server.url)
    bp.boot("#/login")
    root = page.locator("html")
    expect(root).to_have_attribute("data-pyodide-boot", "snapshot")
    expect(root).to_have_attribute("data-pyodide-snapshot-from", "download")
    expect(root).to_have_attribute("data-pyodide-snapshot-decoded", "stored", timeout=30_000)
    keys = page.evaluate("async () => (await (await caches.open('pyodide-decoded')).keys()).map(r => r.url)")
    assert len(keys) == 1 and "/snapshot.bin?decoded=" in keys[0], keys
    page.reload()
    bp.wait_ready()
    expect(root).to_have_attribute("data-pyodide-boot", "snapshot")
    expect(root).to_have_attribute("data-pyodide-snapshot-from", "cache")
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    # A snapshot the server has since replaced (another ETag) is not taken from the old entry.
    page.evaluate(
        """async () => {
            const cache = await caches.open('pyodide-decoded');
            const [old] = await cache.keys();
            await cache.put(old.url.replace(/decoded=[^&]*/, 'decoded=stale'), await cache.match(old));
            await cache.delete(old);
        }"""
    )
    page.reload()
    bp.wait_ready()
    expect(root).to_have_attribute("data-pyodide-snapshot-from", "download")
    expect(root).to_have_attribute("data-pyodide-snapshot-decoded", "stored", timeout=30_000)
    keys = page.evaluate("async () => (await (await caches.open('pyodide-decoded')).keys()).map(r => r.url)")
    assert len(keys) == 1 and "decoded=stale" not in keys[0], keys  # the stale entry went
    assert bp.console_errors == []
