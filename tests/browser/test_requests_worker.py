"""``requests`` on the MicroPython page: the first click on ``call-requests`` starts a Pyodide
worker (nothing of Pyodide before), whose ``GET me`` runs under the page's session: the
cookies go to the worker, the rotated ones come back (tokensession.relay)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Request, expect

from tests.browser.conftest import BootedPage
from tests.browser.test_session import SESSION_EXPIRED, cookies
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.browser

BOOT_TIMEOUT_MS = 120_000  # Pyodide, micropip, then the wheels, in a worker, on 2 shared cores
# Tokens that outlive the worker's start (R2 would end a shorter session meanwhile), with a
# refresh window a fresh session enters 12 s after sign-in.
ACCESS_TTL_S, WINDOW_S = 120, 108


@pytest.fixture(scope="module", params=["js", "httponly"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """In both refresh cookie modes: in the HttpOnly one the worker's same-origin XHR carries
    the API's cookie, and the browser stores the one the API sets."""
    args = ["--access-ttl", str(ACCESS_TTL_S), "--refresh-window", str(WINDOW_S), "--runtime", "micropython"]
    mode = ["--httponly-refresh"] if request.param == "httponly" else []
    with ServerProcess([*args, *mode]) as srv:
        yield srv


@pytest.fixture(scope="module")
def context(browser: Browser, server: ServerProcess) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")  # one per mode: cookies ignore the port
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def mpy(context: BrowserContext, server: ServerProcess) -> BootedPage:
    """The MicroPython page, signed in on the playground; its requests (worker's too) logged."""
    bp = BootedPage(context.new_page(), server.url)
    context.on("request", lambda r: bp.requests.append(r.url) if is_the_workers(r) else None)
    bp.boot("#/playground")
    bp.sign_in()
    expect(bp.route_view()).to_have_attribute("data-route", "playground")
    return bp


def is_the_workers(request: Request) -> bool:
    try:
        request.frame  # noqa: B018 - a worker's request has none
    except Exception:
        return True
    return False


def api_calls(context: BrowserContext, into: list[str]) -> None:
    """Every API call of the page and its worker: method, path, Authorization."""

    def record(req: Request) -> None:
        if "/api/v1/" in req.url:
            into.append(f"{req.method} {req.url.split('/api/v1/')[1]} {req.headers.get('authorization', '-')}")

    context.on("request", record)


def fresh_session(app: BootedPage) -> None:
    app.page.get_by_test_id("logout").click()
    expect(app.route_view()).to_have_attribute("data-route", "login")
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")


def me_log(app: BootedPage, outcome: str) -> object:
    return app.page.get_by_test_id("request-log").get_by_text(f"GET me (requests) → {outcome}")


def test_the_first_click_starts_the_worker_and_logs_its_call(mpy: BootedPage, server: ServerProcess) -> None:
    assert [u for u in mpy.requests if "pyodide" in u] == []  # nothing of Pyodide before the click
    began = time.monotonic()
    mpy.page.get_by_test_id("call-requests").click()
    expect(me_log(mpy, "")).to_have_count(1, timeout=BOOT_TIMEOUT_MS)
    expect(me_log(mpy, "200")).to_have_count(1)
    print(f"worker boot + first call: {time.monotonic() - began:.1f} s")
    assert any(u.endswith("/static/vendor/pyodide-314.0.7/pyodide.asm.wasm") for u in mpy.requests)
    assert any("/wheels/tokensession-" in u for u in mpy.requests)
    assert [u for u in mpy.requests if not u.startswith((server.url, "data:", "blob:"))] == []
    expect(mpy.route_view()).to_have_attribute("data-route", "playground")


def test_R1_the_workers_refresh_becomes_the_pages_session(mpy: BootedPage, context: BrowserContext) -> None:
    fresh_session(mpy)
    before = cookies(context)
    calls: list[str] = []
    api_calls(context, calls)
    left_ms = (WINDOW_S - 1) * 1000
    mpy.page.wait_for_function(
        f"() => Number((document.cookie.match(/utilTime=(\\d+)/) || [0, 0])[1]) - Date.now() < {left_ms}",
        timeout=(ACCESS_TTL_S - WINDOW_S + 10) * 1000,
    )
    log = mpy.page.get_by_test_id("request-log")
    mpy.page.get_by_test_id("call-requests").click()
    expect(log.get_by_text("POST refresh_token (requests) → 200")).to_have_count(1)
    expect(log.get_by_text("GET me (requests) → 200")).to_have_count(1)  # a new view since sign-in
    after = cookies(context)
    for name in ("access_token", "refresh_token"):
        assert after[name]["value"] != before[name]["value"], f"{name} was not rotated in the page"
    assert int(after["utilTime"]["value"]) > int(before["utilTime"]["value"])
    expect(mpy.page.get_by_test_id("refresh-count")).to_have_text("1")
    # The page's next call goes out with the worker's token: no refresh of its own, no 401.
    mpy.page.get_by_test_id("call-me").click()
    expect(log.get_by_text("GET me → 200")).to_have_count(1)
    old, new = before["access_token"]["value"], after["access_token"]["value"]
    assert calls == [f"GET me Bearer {old}", "POST refresh_token -", f"GET me Bearer {new}"]
    expect(mpy.toasts()).to_have_count(0)


def test_R3_an_expired_session_ends_without_a_call(mpy: BootedPage, context: BrowserContext) -> None:
    fresh_session(mpy)
    mpy.settle_toasts()
    calls: list[str] = []
    api_calls(context, calls)
    # The token is past its utilTime when the click comes (one task: no watchdog tick between).
    mpy.page.evaluate(
        """() => {
            document.cookie = `utilTime=${Date.now() - 1000}; path=/; SameSite=Strict`;
            document.querySelector('[data-testid="call-requests"]').click();
        }"""
    )
    expect(mpy.route_view()).to_have_attribute("data-route", "login")
    assert mpy.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    expect(mpy.toasts()).to_have_count(1)
    expect(mpy.toasts()).to_have_text(SESSION_EXPIRED + "×")
    mpy.wait_until(lambda: any(c.startswith("POST logout") for c in calls), "the logout call")
    assert [c for c in calls if c.startswith("GET me")] == []  # no call with the stale token
    assert context.cookies() == []
