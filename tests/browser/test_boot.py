"""The walking skeleton in a real Chromium: boot, same-origin requests, routes. On both
runtimes in one run (a core module: tests/browser/conftest.py's ``runtime``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ServerProcess


def test_cold_boot_shows_progress_then_reaches_ready_with_every_request_on_our_origin(
    browser, server: ServerProcess, runtime: str
) -> None:
    ctx = browser.new_context()  # a cold cache, as a first visit
    try:
        page = ctx.new_page()
        bp = BootedPage(page, server.url)
        page.goto(server.url + "#/login", wait_until="domcontentloaded")
        # Plain HTML/CSS before Python is up: the frame and a progress indicator.
        expect(page.locator("html")).to_have_attribute("data-app-state", "loading")
        expect(page.get_by_role("status")).to_be_visible()
        expect(page.locator("#boot-progress")).to_be_visible()
        expect(page.locator(".app-header")).to_be_visible()
        bp.wait_ready()
        expect(page.locator("#boot")).to_have_count(0)
        expect(bp.route_view()).to_have_attribute("data-route", "login")
        origin = urlsplit(server.url).netloc
        assert bp.requests, "the page made no request?"
        foreign = [
            u for u in bp.requests if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != origin
        ]
        assert foreign == []
        expect(page.locator("html")).to_have_attribute("data-runtime", runtime)
        # The runtime came from our vendored copy, not a CDN (Pyodide's gzipped, gunzipped in the page).
        wasm = (
            "micropython-1.27.0/micropython.wasm" if runtime == "micropython" else "pyodide-314.0.7/pyodide.asm.wasm.gz"
        )
        assert any(u.endswith("/static/vendor/" + wasm) for u in bp.requests)
        # pyodide-http and requests are installed on first use of the sync path, not at boot.
        assert not [u for u in bp.requests if "pyodide_http" in u or "/requests-" in u]
        assert bp.console_errors == []
        expect(page.locator(".py-error")).to_have_count(0)
    finally:
        ctx.close()


PROBE = """
import json, urllib.request
from js import document
from tokensession.browser.sync_http import patch_http
await patch_http()  # installs pyodide-http from our origin, once
with urllib.request.urlopen("config.json") as r:
    document.body.dataset.probe = f"{r.status} {json.load(r)['apiBase']}"
"""


def test_stdlib_urllib_reaches_our_origin_once_the_sync_path_is_patched(app: BootedPage, runtime: str) -> None:
    if runtime != "pyodide":
        pytest.skip("pyodide-http (synchronous XHR for urllib) is Pyodide's")
    # Plain stdlib urllib in the page (pyodide-http's synchronous XHR), patched lazily.
    app.page.evaluate(
        """code => {
            const s = document.createElement('script');
            s.type = 'py';
            s.textContent = code;
            document.body.append(s);
        }""",
        PROBE,
    )
    expect(app.page.locator("body")).to_have_attribute("data-probe", "200 api/v1")


def test_routes_render_their_views(app: BootedPage) -> None:
    expect(app.route_view()).to_have_attribute("data-route", "login")
    expect(app.page.get_by_test_id("login-form")).to_be_visible()
    expect(app.page.get_by_label("Username")).to_be_visible()
    expect(app.page.get_by_label("Password")).to_be_visible()
    assert app.page.title().startswith("Sign in")


def test_unknown_route_shows_not_found(app: BootedPage) -> None:
    app.go("#/no/such/page")
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
    expect(app.page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(app.route_view()).to_contain_text("/no/such/page")


def test_protected_route_without_session_goes_to_login_with_redirect(app: BootedPage) -> None:
    app.go("#/playground")
    expect(app.route_view()).to_have_attribute("data-route", "login")
    assert app.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    app.go("#/")
    expect(app.page).to_have_url(app.origin + "#/login?redirect=%2F")


def test_back_button_walks_the_route_history(app: BootedPage) -> None:
    app.go("#/nowhere")
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
    app.go("#/login")
    expect(app.route_view()).to_have_attribute("data-route", "login")
    app.page.go_back()
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
    app.page.go_forward()
    expect(app.route_view()).to_have_attribute("data-route", "login")


def test_no_console_error_or_traceback_while_routing(app: BootedPage) -> None:
    for h in ("#/nowhere", "#/playground", "#/login"):
        app.go(h)
    expect(app.route_view()).to_have_attribute("data-route", "login")
    assert app.console_errors == []
    expect(app.page.locator(".py-error")).to_have_count(0)


def test_reload_boots_warm_and_renders_the_same_route(app: BootedPage, shared_context: BrowserContext) -> None:
    app.go("#/nowhere")
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
    app.page.reload()
    app.wait_ready()
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
