"""Browser fixtures: Debian's Chromium, one real serve.py, and one booted app page.

A Pyodide boot costs seconds, so the session shares one browser context (its
HTTP cache keeps later loads warm) and one booted page; ``app`` resets the
state each test relies on (cookies, route, toasts) without reloading.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.serverproc import ROOT, ServerProcess

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOOT_TIMEOUT_MS = 90_000
# Short lifetimes so the rules happen within a test: a request with <= 4 s left refreshes.
SERVER_ARGS = ["--access-ttl", "6", "--refresh-window", "4", "--timeout-ms", "2500"]

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    found = subprocess.run([str(ROOT / "scripts" / "find-chromium.sh")], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.fail(found.stderr)
    return {**browser_type_launch_args, "executable_path": found.stdout.strip(), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(SERVER_ARGS) as srv:
        yield srv


@pytest.fixture(scope="session")
def shared_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


class BootedPage:
    """A page with the app booted, and what it saw: requests, console errors."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def boot(self, hash_: str = "#/login") -> None:
        self.page.goto(self.origin + hash_)
        self.wait_ready()

    def wait_ready(self) -> None:
        expect(self.page.locator("html")).to_have_attribute("data-app-state", "ready", timeout=BOOT_TIMEOUT_MS)
        # Test instrumentation: when each toast appeared, so a test can wait out the 3 s
        # de-duplication window (R5) that an earlier test's toast would otherwise hold.
        self.page.evaluate(
            """() => {
                window.__toastTimes = [];
                new MutationObserver(() => window.__toastTimes.push(performance.now()))
                    .observe(document.getElementById('toasts'), { childList: true });
            }"""
        )

    def settle_toasts(self) -> None:
        """Clear toasts and wait until no text can still be held back as a duplicate."""
        idle_ms = self.page.evaluate(
            "() => { document.getElementById('toasts').replaceChildren();"
            " const t = window.__toastTimes || []; return t.length ? performance.now() - t[t.length - 1] : 1e9 }"
        )
        if idle_ms < 3100:
            self.page.wait_for_timeout(3100 - idle_ms)

    def toasts(self) -> Any:
        return self.page.get_by_test_id("toast")

    def sign_in(self, username: str = "demo", password: str = "demo") -> None:
        """Fill the login form and press Enter (the keyboard path), in either language."""
        self.page.get_by_test_id("login-username").fill(username)
        self.page.get_by_test_id("login-password").fill(password)
        self.page.get_by_test_id("login-password").press("Enter")

    def go(self, hash_: str) -> None:
        """Navigate inside the booted app (no reload), like a click on a link."""
        self.page.evaluate("h => { location.hash = h }", hash_)

    def route_view(self) -> Any:
        return self.page.get_by_test_id("route-view")

    def wait_until(self, condition: Callable[[], bool], what: str, timeout_ms: int = 15_000) -> None:
        """Poll a Python-side condition (e.g. requests seen so far) until it holds, or fail.

        Playwright delivers page events only while it is called, hence the short waits.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_ms} ms waiting for {what}")
            self.page.wait_for_timeout(50)

    def mark_login_time(self) -> None:
        """From now on, ``window.__loginAt`` is the ``Date.now()`` at which the login view appeared."""
        self.page.evaluate(
            """() => {
                window.__loginAt = null;
                const look = () => {
                    if (window.__loginAt === null && document.querySelector('[data-route="login"]'))
                        window.__loginAt = Date.now();
                };
                look();
                new MutationObserver(look).observe(document.body,
                    { subtree: true, childList: true, attributes: true, attributeFilter: ['data-route'] });
            }"""
        )


@pytest.fixture(scope="session")
def booted(shared_context: BrowserContext, server: ServerProcess) -> BootedPage:
    bp = BootedPage(shared_context.new_page(), server.url)
    bp.boot("#/login")
    return bp


@pytest.fixture
def app(booted: BootedPage, shared_context: BrowserContext) -> BootedPage:
    """The booted app, signed out, on the login page, with no toasts."""
    shared_context.clear_cookies()
    booted.page.unroute_all()
    booted.go("#/login")
    expect(booted.route_view()).to_have_attribute("data-route", "login")
    booted.settle_toasts()
    booted.console_errors.clear()
    return booted
