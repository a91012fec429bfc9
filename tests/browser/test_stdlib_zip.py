"""The trimmed stdlib (``python_stdlib.app.zip``, tools/stdlib-keep.txt) in the page: every
module it holds imports there as it does with Pyodide's stock zip, but for the few that
need a package dropped on purpose (tools/stdlib_keep.py's CUT table)."""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Route, expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ROOT, ServerProcess

sys.path.insert(0, str(ROOT / "tools"))
import vendor

RUNTIME = ROOT / "static" / "vendor" / "pyodide-314.0.7"
IMPORT_TIMEOUT_MS = 120_000  # some 400 modules, on 2 shared cores

# Modules of the trimmed zip that import a dropped package at module level. Each is the far
# end of a CUT edge: nothing a page runs (the entry named beside it in tools/stdlib_keep.py).
NEEDS_A_DROPPED_PACKAGE = {
    "concurrent.futures.process": "multiprocessing",  # ProcessPoolExecutor: no processes here
    "json.tool": "argparse",  # `python -m json.tool`
}

IMPORT_ALL = """
import importlib, json
from js import document
failed = {}
for name in json.loads(document.body.dataset.stdlibModules):
    try:
        importlib.import_module(name)
    except BaseException as exc:  # ImportError, and whatever a module raises on this platform
        failed[name] = f"{type(exc).__name__}: {exc}"
document.body.dataset.stdlibImports = json.dumps(failed)
"""


def _modules(zip_bytes: bytes) -> list[str]:
    names = []
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        for member in zf.namelist():
            member = member.removesuffix("c")  # the compiled zip's name.pyc is name.py's module
            if not member.endswith(".py") or member.endswith("__main__.py") or member.startswith("site-packages/"):
                continue
            parts = member[:-3].split("/")
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(names)


@pytest.fixture
def server(pyodide_server: ServerProcess) -> ServerProcess:
    """The Pyodide page, whatever the run's runtime: the trimmed stdlib zip is Pyodide's."""
    return pyodide_server


@pytest.fixture
def cold_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


def _import_all(ctx: BrowserContext, server: ServerProcess, modules: list[str], boot: str) -> dict[str, str]:
    bp = BootedPage(ctx.new_page(), server.url)
    bp.boot("#/login")
    expect(bp.page.locator("html")).to_have_attribute("data-pyodide-boot", boot)
    bp.page.evaluate(
        """([modules, code]) => {
            document.body.dataset.stdlibModules = JSON.stringify(modules);
            const s = document.createElement('script');
            s.type = 'py';
            s.textContent = code;
            document.body.append(s);
        }""",
        [modules, IMPORT_ALL],
    )
    body = bp.page.locator("body")
    expect(body).to_have_attribute("data-stdlib-imports", re.compile(r"^\{"), timeout=IMPORT_TIMEOUT_MS)
    return dict(json.loads(body.get_attribute("data-stdlib-imports") or "{}"))


def test_every_module_of_the_trimmed_zip_imports_as_with_the_stock_zip(
    browser: Browser, cold_context: BrowserContext, server: ServerProcess
) -> None:
    trimmed = (RUNTIME / vendor.STDLIB_APP).read_bytes()
    modules = _modules(trimmed)
    assert len(modules) > 350
    with_trimmed = _import_all(cold_context, server, modules, "snapshot")
    # The same modules with Pyodide's own zip in its place (the snapshot, made from the trimmed
    # one, then refuses to restore: a plain boot).
    stock = (RUNTIME / "python_stdlib.zip").read_bytes()
    other = browser.new_context(locale="en-US")
    try:

        def serve_stock(route: Route) -> None:
            route.fulfill(status=200, body=stock, headers={"content-type": "application/zip"})

        other.route("**/python_stdlib.app.zip*", serve_stock)  # the .gz the loader asks for too
        with_stock = _import_all(other, server, modules, "plain")
    finally:
        other.close()
    # Some fail with either zip (Windows only, no subinterpreters in Pyodide): not ours.
    only_trimmed = {name: why for name, why in with_trimmed.items() if name not in with_stock}
    assert sorted(only_trimmed) == sorted(NEEDS_A_DROPPED_PACKAGE)
    for name, dropped in NEEDS_A_DROPPED_PACKAGE.items():
        assert f"No module named '{dropped}'" in only_trimmed[name]
    # Every module the app imports at boot or on its lazy paths is among those that import.
    assert {"email.parser", "http.client", "urllib.request", "importlib.metadata", "tarfile"} <= set(modules)
    assert {"email.parser", "http.client", "urllib.request", "importlib.metadata", "tarfile"}.isdisjoint(with_trimmed)
