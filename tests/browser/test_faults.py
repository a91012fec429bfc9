"""Faults in the browser, against the real serve.py, injected with ``page.route``.

Tokens live 6 s and a success with 4 s or less left refreshes (conftest SERVER_ARGS);
the client gives up on a call after 1.5 s.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Request, Route, expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ServerProcess

SESSION_EXPIRED = "Session expired, please sign in again"
NO_SERVER = "Cannot reach the server"


def to_playground(app: BootedPage) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")


def jar(ctx: BrowserContext) -> dict[str, str]:
    return {c["name"]: c["value"] for c in ctx.cookies()}


def wait_inside_the_window(app: BootedPage) -> None:
    app.page.wait_for_function(
        "() => Number((document.cookie.match(/utilTime=(\\d+)/) || [0, 0])[1]) - Date.now() < 3500", timeout=10_000
    )


def fulfil(status: int, body: str, content_type: str = "application/json") -> Callable[[Route], None]:
    return lambda route: route.fulfill(status=status, content_type=content_type, body=body)


def hang(route: Route) -> None:
    """Never answer: the page's own timeout (1.5 s) must end the call."""


def drop(route: Route) -> None:
    route.abort("connectionreset")


AT_THE_FIRST_TOAST = """() => {
    // The route and cookies at the moment the first toast appears (this test's cookies are all
    // the page's own: no HttpOnly one).
    window.__atToast = null;
    const toasts = document.getElementById("toasts");
    new MutationObserver((_, observer) => {
        if (toasts.children.length && window.__atToast === null) {
            window.__atToast = { hash: location.hash, cookies: document.cookie };
            observer.disconnect();
        }
    }).observe(toasts, { childList: true });
}"""

REFRESH_FAULTS = {
    "500": (fulfil(500, '{"error":"internal_error","message":"x"}'), "Server error"),
    "503": (fulfil(503, '{"error":"unavailable","message":"x"}'), "Service unavailable"),
    "hangs past the timeout": (hang, "Request timed out"),
    "connection drops": (drop, NO_SERVER),
    "not JSON": (fulfil(200, "tokens!", "text/plain"), "Server error"),
    "HTML error page": (fulfil(200, "<html><body><h1>Bad Gateway</h1></body></html>", "text/html"), "Server error"),
    "no access_token": (fulfil(200, '{"refresh_token":"r","expires_in":6}'), "Server error"),
    "expires_in negative": (fulfil(200, '{"access_token":"a","refresh_token":"r","expires_in":-6}'), "Server error"),
    "expires_in zero": (fulfil(200, '{"access_token":"a","refresh_token":"r","expires_in":0}'), "Server error"),
    "expires_in huge": (
        fulfil(200, '{"access_token":"a","refresh_token":"r","expires_in":100000000000}'),
        "Server error",
    ),
    "expires_in a string": (fulfil(200, '{"access_token":"a","refresh_token":"r","expires_in":"6"}'), "Server error"),
}


@pytest.mark.parametrize("fault", list(REFRESH_FAULTS))
def test_a_failed_refresh_keeps_the_session_while_the_token_lives_then_ends_it_cleanly(
    app: BootedPage, shared_context: BrowserContext, fault: str
) -> None:
    handler, toast = REFRESH_FAULTS[fault]
    to_playground(app)
    before = jar(shared_context)
    refreshes: list[Request] = []
    app.page.on("request", lambda r: refreshes.append(r) if r.url.endswith("/api/v1/refresh_token") else None)
    app.page.route("**/api/v1/refresh_token", handler)
    app.mark_login_time()
    app.page.evaluate(AT_THE_FIRST_TOAST)
    wait_inside_the_window(app)
    app.page.get_by_test_id("call-me").click()
    expect(app.page.get_by_test_id("request-log").get_by_text("GET me → 200")).to_have_count(1)
    expect(app.toasts().filter(has_text=toast)).to_have_count(1, timeout=10_000)  # a clear toast
    assert refreshes, "the refresh was tried"
    # When the toast came, still signed in, with the same cookies: nothing of a bad answer was
    # stored. Read in the page at that moment: by the time this process looks, a loaded machine
    # may have reached utilTime, 3.5 s after the click.
    seen = app.page.evaluate("window.__atToast")
    assert seen["hash"] == "#/playground"
    assert dict(c.split("=", 1) for c in seen["cookies"].split("; ")) == before
    # At utilTime the session ends cleanly: login, one "expired" toast, no cookie left.
    expect(app.route_view()).to_have_attribute("data-route", "login", timeout=10_000)
    ended_at = app.page.evaluate("window.__loginAt")  # the page's clock, when the login view appeared
    assert ended_at >= int(before["utilTime"]) - 50  # not earlier than R2 requires
    expect(app.toasts().filter(has_text=SESSION_EXPIRED)).to_have_count(1)
    assert jar(shared_context) == {}


def test_server_down_gives_one_toast_and_recovers_when_back(app: BootedPage) -> None:
    to_playground(app)
    app.page.route("**/api/v1/**", drop)  # nothing answers any call
    for _ in range(3):
        app.page.get_by_test_id("call-me").click()
    log = app.page.get_by_test_id("request-log")
    expect(log.get_by_text("GET me → NetworkError")).to_have_count(3)  # all three failed, all reported by now
    expect(app.toasts()).to_have_count(1)
    expect(app.toasts()).to_have_text(NO_SERVER + "×")
    app.page.unroute("**/api/v1/**", drop)  # the server is back
    app.page.get_by_test_id("call-me").click()
    expect(log.get_by_text("GET me → 200")).to_have_count(1)
    assert app.page.evaluate("location.hash") == "#/playground"
    expect(app.toasts()).to_have_count(1)  # no new toast


@pytest.fixture
def page_clock(app: BootedPage) -> Iterator[Callable[[int], None]]:
    """``jump(ms)``: move the page's ``Date.now`` by ``ms`` (a laptop waking, a clock fixed by NTP).

    Cookie expiry stays on the browser's own clock, as it does in real life.
    """
    app.page.evaluate(
        "() => { window.__realNow = window.__realNow || Date.now.bind(Date); window.__skew = 0;"
        " Date.now = () => window.__realNow() + window.__skew }"
    )

    def jump(ms: int) -> None:
        app.page.evaluate("ms => { window.__skew += ms }", ms)

    yield jump
    app.page.evaluate("() => { window.__skew = 0 }")


def test_a_clock_jump_forward_past_expiry_sends_no_stale_token(
    app: BootedPage, page_clock: Callable[[int], None], shared_context: BrowserContext
) -> None:
    to_playground(app)
    sent: list[str] = []
    app.page.on("request", lambda r: sent.append(r.url.split("/api/v1/")[1]) if "/api/v1/" in r.url else None)
    page_clock(60_000)  # the laptop slept a minute
    app.page.get_by_test_id("call-me").click()
    expect(app.route_view()).to_have_attribute("data-route", "login")
    expect(app.toasts().filter(has_text=SESSION_EXPIRED)).to_have_count(1)
    app.wait_until(lambda: "info" in sent, "the login view's GET info")  # later than any call of the click
    assert "me" not in sent  # R3: the expired token never went out
    assert jar(shared_context) == {}


def test_a_clock_jump_backward_neither_ends_the_session_early_nor_keeps_it_past_its_cookies(
    app: BootedPage, page_clock: Callable[[int], None], shared_context: BrowserContext
) -> None:
    to_playground(app)
    util_time = int(jar(shared_context)["utilTime"])
    sent: list[str] = []
    app.page.on(
        "request", lambda r: sent.append(r.headers.get("authorization", "")) if r.url.endswith("/api/v1/me") else None
    )
    page_clock(-60_000)  # the page now thinks the token has more than a minute left
    app.page.get_by_test_id("call-me").click()
    expect(app.page.get_by_test_id("request-log").get_by_text("GET me → 200")).to_have_count(1)
    assert app.page.evaluate("location.hash") == "#/playground"
    # The cookies expire on the browser's clock, so the session still ends at the real expiry:
    # not earlier (R2), and no token outlives its cookie.
    expect(app.route_view()).to_have_attribute("data-route", "login", timeout=15_000)
    assert time.time() * 1000 >= util_time - 50
    assert len(sent) == 1


def test_the_session_survives_a_server_restart(browser: Browser, tmp_path: Path) -> None:
    with socket.socket() as s:  # a free port, so the restarted server has the page's origin
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Tokens live 30 s and every success refreshes (window 30 s): a refresh after the restart too.
    args = ["--port", str(port), "--access-ttl", "30", "--refresh-window", "30", "--timeout-ms", "3000"]
    db = tmp_path / "tokens.sqlite3"
    ctx = browser.new_context(locale="en-US")  # its own cookies: the shared page must not see this session
    first = ServerProcess(args, db=db).start()
    try:
        tab = BootedPage(ctx.new_page(), first.url)
        tab.boot("#/playground")
        tab.sign_in()
        expect(tab.route_view()).to_have_attribute("data-route", "playground")
        expect(tab.page.get_by_test_id("refresh-count")).to_have_text("0")
        assert first.stop() == 0
        second = ServerProcess(args, db=db).start()
        try:
            assert second.url == first.url
            tab.page.get_by_test_id("call-me").click()
            expect(tab.page.get_by_test_id("request-log").get_by_text("GET me → 200")).to_have_count(1)
            expect(tab.page.get_by_test_id("refresh-count")).to_have_text("1")  # rotation works too
            assert tab.page.evaluate("location.hash") == "#/playground"
            expect(tab.toasts()).to_have_count(0)
        finally:
            second.close()
    finally:
        first.close()
        ctx.close()
