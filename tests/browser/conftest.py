"""Browser fixtures: Debian's Chromium, one real serve.py, and one booted app page.

A Pyodide boot costs seconds, so the session shares one browser context (its
HTTP cache keeps later loads warm) and one booted page; ``app`` resets the
state each test relies on (cookies, route, toasts) without reloading.

The R1-R7 modules (:data:`BOTH_MODES_MODULES`) run in both refresh cookie
modes (contract section 4): their tests are parametrized over the session
fixture ``refresh_cookie``, and ``server``, ``shared_context`` and ``booted``
follow it. The ``"js"`` ones are the shared ones every other test uses; the
``"httponly"`` ones (``serve.py --httponly-refresh``, a context of their own so
the two apps' cookies, which ignore the port, never meet) exist only while
those tests run: pytest groups session-parametrized tests by parameter.

Runtimes (contract section 11): every page of a run boots on :data:`RUNTIME`
(``$PYAUTH_TEST_RUNTIME``, else serve.py's default). The core modules
(:data:`CORE_MODULES`: boot, and :data:`CORE_TESTS` of the session and tabs modules: sign-in,
R1-R4, R7) also run on the other runtime, in the ``"js"`` mode only, through the session fixture ``runtime`` that ``server``,
``shared_context`` and ``booted`` follow as they follow ``refresh_cookie``: so one run of the
suite keeps both runtimes' core flows tested without running everything twice.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

import serve
from tests.serverproc import ROOT, RUNTIME_ENV, ServerProcess

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
#: The runtime the pages of this run boot on (contract section 11): $PYAUTH_TEST_RUNTIME, else
#: serve.py's default. A test that only means something on one runtime skips on the other.
RUNTIME = os.environ.get(RUNTIME_ENV) or serve.DEFAULT_RUNTIME
ON_MICROPYTHON = RUNTIME == "micropython"
# Short lifetimes so the rules happen within a test: a request with <= 4 s left refreshes.
SERVER_ARGS = ["--access-ttl", "6", "--refresh-window", "4", "--timeout-ms", "2500"]

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    found = subprocess.run([str(ROOT / "scripts" / "find-chromium.sh")], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.fail(found.stderr)
    return {**browser_type_launch_args, "executable_path": found.stdout.strip(), "args": CHROMIUM_ARGS}


#: Test modules whose tests run in both refresh cookie modes: the R1-R7 suite.
BOTH_MODES_MODULES = frozenset({"tests.browser.test_session", "tests.browser.test_tabs"})
#: Test modules that also run on the runtime that is not :data:`RUNTIME` (its core flows).
CORE_MODULES = frozenset({"tests.browser.test_boot", *BOTH_MODES_MODULES})
#: In the core modules but test_boot, the tests that run on both runtimes (by name).
CORE_TESTS = ("test_sign_in", "test_home", "test_R1", "test_R2", "test_R3", "test_R4", "test_R7")
OTHER_RUNTIME = next(name for name in serve.RUNTIMES if name != RUNTIME)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module, names = metafunc.module.__name__, metafunc.fixturenames
    core = module in CORE_MODULES and "runtime" in names
    if module in BOTH_MODES_MODULES:
        core = core and metafunc.function.__name__.startswith(CORE_TESTS)
    if module in BOTH_MODES_MODULES and "refresh_cookie" in names:
        combos = [("js", RUNTIME), ("httponly", RUNTIME)] + ([("js", OTHER_RUNTIME)] if core else [])
        metafunc.parametrize(
            ["refresh_cookie", "runtime"],
            combos,
            indirect=True,
            scope="session",
            ids=[mode if rt == RUNTIME else f"{mode}-{rt}" for mode, rt in combos],
        )
    elif core:
        metafunc.parametrize("runtime", [RUNTIME, OTHER_RUNTIME], indirect=True, scope="session")


@pytest.fixture(scope="session")
def runtime(request: pytest.FixtureRequest) -> str:
    """The runtime of this test's server and page: :data:`RUNTIME` unless parametrized."""
    return str(getattr(request, "param", RUNTIME))


@pytest.fixture(scope="session")
def refresh_cookie(request: pytest.FixtureRequest) -> str:
    """The refresh cookie mode of this test's server and page: ``"js"`` unless parametrized."""
    return str(getattr(request, "param", "js"))


@pytest.fixture(scope="session")
def js_server(runtime: str) -> Iterator[ServerProcess]:
    with ServerProcess([*SERVER_ARGS, "--runtime", runtime]) as srv:
        yield srv


@pytest.fixture(scope="session")
def pyodide_server() -> Iterator[ServerProcess]:
    """serve.py with the Pyodide page whatever the run's runtime, for what only Pyodide has (the
    memory snapshot, the trimmed stdlib, ``requests`` in the page)."""
    with ServerProcess([*SERVER_ARGS, "--runtime", "pyodide"]) as srv:
        yield srv


# Each runtime's page its own context: cookies ignore the port, so two servers' apps would share them.
@pytest.fixture(scope="session")
def js_context(runtime: str, browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def js_booted(js_context: BrowserContext, js_server: ServerProcess) -> BootedPage:
    bp = BootedPage(js_context.new_page(), js_server.url)
    bp.boot("#/login")
    return bp


# The httponly ones depend on refresh_cookie, so pytest ends them when its parameter changes.
@pytest.fixture(scope="session")
def httponly_server(refresh_cookie: str, runtime: str) -> Iterator[ServerProcess]:
    with ServerProcess([*SERVER_ARGS, "--httponly-refresh", "--runtime", runtime]) as srv:
        yield srv


@pytest.fixture(scope="session")
def httponly_context(refresh_cookie: str, runtime: str, browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def httponly_booted(httponly_context: BrowserContext, httponly_server: ServerProcess) -> BootedPage:
    bp = BootedPage(httponly_context.new_page(), httponly_server.url)
    bp.boot("#/login")
    return bp


@pytest.fixture(scope="session")
def server(refresh_cookie: str, runtime: str, request: pytest.FixtureRequest) -> ServerProcess:
    """The real serve.py of this test's mode."""
    return cast(ServerProcess, request.getfixturevalue(f"{refresh_cookie}_server"))


@pytest.fixture(scope="session")
def shared_context(
    refresh_cookie: str, runtime: str, browser: Browser, request: pytest.FixtureRequest
) -> BrowserContext:
    """The browser context of this test's mode, shared by its tests. (``browser`` is named so
    that pytest-playwright sees every test of the shared page as a browser test, as before.)"""
    return cast(BrowserContext, request.getfixturevalue(f"{refresh_cookie}_context"))


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

    def run_python(self, code: str) -> None:
        """Run ``code`` in the page's interpreter, as a script of its own (``type="mpy"`` on the
        MicroPython page, ``type="py"`` on the Pyodide one: PyScript runs it in the same one)."""
        self.page.evaluate(
            """code => {
                const s = document.createElement('script');
                s.type = document.documentElement.dataset.runtime === 'micropython' ? 'mpy' : 'py';
                s.textContent = code;
                document.body.append(s);
            }""",
            code,
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
def booted(
    refresh_cookie: str,
    runtime: str,
    shared_context: BrowserContext,
    server: ServerProcess,
    request: pytest.FixtureRequest,
) -> BootedPage:
    """The booted app page of this test's mode."""
    return cast(BootedPage, request.getfixturevalue(f"{refresh_cookie}_booted"))


@pytest.fixture
def app(booted: BootedPage, shared_context: BrowserContext) -> BootedPage:
    """The booted app, signed out, on the login page, with no toasts."""
    shared_context.clear_cookies()
    booted.page.unroute_all()
    # The app looks at once (a window's focus: R7's cookie check), not at its watchdog's next
    # tick: a session the last test left ends here, not in this test (where it would send the
    # route it is on to the login view and rewrite that history entry).
    booted.page.evaluate("window.dispatchEvent(new Event('focus'))")
    booted.go("#/login")
    expect(booted.route_view()).to_have_attribute("data-route", "login")
    booted.settle_toasts()
    booted.console_errors.clear()
    return booted
