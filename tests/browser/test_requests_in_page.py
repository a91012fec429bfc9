"""``requests`` in the page: installed by micropip on the first click, never at boot, and
its ``GET me`` logged like the app's own calls (pyodide-http, synchronous XHR). This is the
Pyodide page (``--runtime pyodide``) whatever the run's runtime: on MicroPython the button starts
a Pyodide worker instead (test_requests_worker.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import BootedPage
from tests.browser.test_session import to_playground
from tests.serverproc import ServerProcess

INSTALL_TIMEOUT_MS = 60_000  # micropip itself, then five wheels, on 2 shared cores
LAZY_WHEELS = ("micropip-", "requests-", "urllib3-", "idna-", "charset_normalizer-", "certifi-")


@pytest.fixture(scope="module", params=["js", "httponly"])
def own_app(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BootedPage]:
    """The app on a server of its own whose tokens outlive the first install (the shared one's
    live 6 s: the session would end, as R2 says, while micropip installs), in a fresh page;
    in both refresh cookie modes (the synchronous XHR carries the API's HttpOnly cookie)."""
    mode = ["--httponly-refresh"] if request.param == "httponly" else []
    with ServerProcess(["--access-ttl", "120", "--refresh-window", "4", "--runtime", "pyodide", *mode]) as srv:
        ctx = browser.new_context(locale="en-US")
        booted = BootedPage(ctx.new_page(), srv.url)
        booted.boot("#/login")
        yield booted
        ctx.close()


def test_requests_button_installs_on_first_use_and_logs_its_call(own_app: BootedPage) -> None:
    app = own_app
    fetched_before = [url for url in app.requests if any(name in url for name in LAZY_WHEELS)]
    assert fetched_before == []  # nothing of the requests stack at boot
    to_playground(app)
    me_calls: list[str] = []
    app.page.on("request", lambda r: me_calls.append(r.url) if r.url.endswith("/api/v1/me") else None)
    app.page.get_by_test_id("call-requests").click()
    log = app.page.get_by_test_id("request-log")
    expect(log).to_contain_text("GET me (requests) → 200", timeout=INSTALL_TIMEOUT_MS)
    wheels = [url for url in app.requests if url.endswith(".whl")]
    assert any("/static/vendor/pyodide-314.0.7/requests-2.33.1-py3-none-any.whl" in url for url in wheels)
    assert me_calls, "the requests call did not reach the API"
    foreign = [url for url in app.requests if not url.startswith((app.origin, "data:", "blob:"))]
    assert foreign == []  # micropip took everything from our origin, nothing from PyPI


def test_requests_in_the_page_recovers_a_rejected_token_through_one_refresh(own_app: BootedPage) -> None:
    app = own_app
    if app.page.get_by_test_id("route-view").get_attribute("data-route") != "playground":
        to_playground(app)
    refreshes: list[str] = []
    app.page.on("request", lambda r: refreshes.append(r.url) if r.url.endswith("/refresh_token") else None)
    app.page.evaluate("document.cookie = 'access_token=garbage; path=/; SameSite=Strict'")
    app.page.get_by_test_id("call-requests").click()
    log = app.page.get_by_test_id("request-log")
    expect(log).to_contain_text("POST refresh_token (requests) → 200", timeout=INSTALL_TIMEOUT_MS)
    expect(log).to_contain_text("GET me (requests) → 200")
    assert len(refreshes) == 1  # R4 in the page: one refresh, one retry
