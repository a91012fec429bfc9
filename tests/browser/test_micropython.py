"""The app on MicroPython (``serve.py --runtime micropython``, contract section 11) in Chromium:
boot, sign-in, R1, R2, both languages and the in-page demo API, on a page of its own, whatever
runtime the rest of the run uses (the whole suite runs on either: ``PYAUTH_TEST_RUNTIME``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Route, expect

from tests.browser.conftest import SERVER_ARGS, BootedPage
from tests.browser.test_session import SESSION_EXPIRED, api_calls, wait_inside_the_window
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mpy_server() -> Iterator[ServerProcess]:
    with ServerProcess([*SERVER_ARGS, "--runtime", "micropython"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def mpy_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def mpy_booted(mpy_context: BrowserContext, mpy_server: ServerProcess) -> BootedPage:
    bp = BootedPage(mpy_context.new_page(), mpy_server.url)
    bp.boot("#/login")
    return bp


@pytest.fixture
def mpy(mpy_booted: BootedPage, mpy_context: BrowserContext) -> BootedPage:
    """The MicroPython page, signed out, on the login view, with no toasts."""
    mpy_context.clear_cookies()
    mpy_booted.page.unroute_all()
    mpy_booted.go("#/login")
    expect(mpy_booted.route_view()).to_have_attribute("data-route", "login")
    mpy_booted.settle_toasts()
    mpy_booted.console_errors.clear()
    return mpy_booted


def to_playground(app: BootedPage) -> None:
    app.go("#/playground")
    expect(app.route_view()).to_have_attribute("data-route", "login")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")


def test_the_page_boots_on_micropython_from_our_origin_without_pyodide(
    browser: Browser, mpy_server: ServerProcess
) -> None:
    ctx = browser.new_context(locale="en-US")
    try:
        bp = BootedPage(ctx.new_page(), mpy_server.url)
        bp.boot("#/playground")  # a protected route: the pre-boot form, then the login view
        html = bp.page.locator("html")
        expect(html).to_have_attribute("data-runtime", "micropython")
        assert bp.page.evaluate("document.documentElement.dataset.pyodideBoot") is None
        assert bp.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
        expect(bp.page.get_by_test_id("login-form")).to_have_count(1)  # the pre-boot one is gone
        assert any(u.endswith("/micropython-1.27.0/micropython.wasm") for u in bp.requests)
        assert not [u for u in bp.requests if "pyodide" in u]
        assert [u for u in bp.requests if not u.startswith((mpy_server.url, "data:", "blob:"))] == []
        assert bp.console_errors == []
    finally:
        ctx.close()


def test_the_page_says_its_runtime(booted: BootedPage, runtime: str) -> None:
    expect(booted.page.locator("html")).to_have_attribute("data-runtime", runtime)


def test_sign_in_lands_on_the_kept_route(mpy: BootedPage, mpy_context: BrowserContext) -> None:
    to_playground(mpy)
    jar = {c["name"] for c in mpy_context.cookies()}
    assert jar == {"access_token", "refresh_token", "utilTime", "expires_in"}
    mpy.page.get_by_test_id("call-me").click()
    expect(mpy.page.get_by_test_id("request-log").get_by_text("GET me → 200")).to_have_count(1)
    assert mpy.console_errors == []


def test_R1_a_burst_inside_the_window_makes_one_refresh(mpy: BootedPage) -> None:
    to_playground(mpy)
    wait_inside_the_window(mpy)
    calls: list[str] = []
    api_calls(mpy, calls)
    mpy.page.get_by_test_id("call-burst").click()
    expect(mpy.page.get_by_test_id("refresh-count")).to_have_text("1")
    expect(mpy.page.get_by_test_id("request-log").get_by_text("GET me → 200")).to_have_count(10)
    assert len([c for c in calls if c.startswith("POST refresh_token")]) == 1
    expect(mpy.toasts()).to_have_count(0)


def test_R2_idle_session_ends_at_expiry_with_one_toast(mpy: BootedPage, mpy_context: BrowserContext) -> None:
    to_playground(mpy)
    mpy.mark_login_time()
    util_time = int(mpy.page.get_by_test_id("session-expires-at").inner_text())
    with mpy.page.expect_response(lambda r: r.url.endswith("/api/v1/logout"), timeout=10_000):
        expect(mpy.route_view()).to_have_attribute("data-route", "login", timeout=10_000)
    assert mpy.page.evaluate("window.__loginAt") >= util_time - 50
    assert mpy.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    expect(mpy.toasts()).to_have_count(1)
    expect(mpy.toasts()).to_have_text(SESSION_EXPIRED + "×")
    assert mpy_context.cookies() == []


def test_both_languages(mpy: BootedPage) -> None:
    page = mpy.page
    try:
        page.get_by_test_id("lang-switch").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.get_by_role("heading", name="登录")).to_be_visible()
        to_playground(mpy)
        page.get_by_test_id("status-404").click()
        expect(mpy.toasts().filter(has_text="请求错误,未找到该资源")).to_have_count(1)
        page.get_by_test_id("lang-switch").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        mpy.settle_toasts()
        page.get_by_test_id("status-503").click()
        expect(mpy.toasts().filter(has_text="Service unavailable")).to_have_count(1)
    finally:
        page.evaluate("localStorage.removeItem('pyauth.lang')")
        if page.locator("html").get_attribute("lang") != "en":
            page.get_by_test_id("lang-switch").click()


def test_the_in_page_demo_api_signs_in_when_the_config_asks_for_it(browser: Browser, mpy_server: ServerProcess) -> None:
    ctx = browser.new_context(locale="en-US")
    try:
        page = ctx.new_page()
        config = {"apiBase": "api/v1", "refreshWindowSeconds": 4, "timeoutMs": 2500, "demoApi": True}

        def serve_config(route: Route) -> None:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(config))

        page.route("**/config.json", serve_config)
        api: list[str] = []
        page.on("request", lambda r: api.append(r.url) if "/api/v1/" in r.url else None)
        bp = BootedPage(page, mpy_server.url)
        bp.boot("#/playground")
        expect(page.get_by_test_id("demo-banner")).to_be_visible()
        bp.sign_in()
        expect(bp.route_view()).to_have_attribute("data-route", "playground")
        page.get_by_test_id("call-me").click()
        expect(page.get_by_test_id("request-log").get_by_text("GET me → 200")).to_have_count(1)
        assert api == []  # every call answered inside the page
        assert page.evaluate("Object.keys(localStorage).some(k => k.startsWith('pyauth-demo-api'))")
    finally:
        ctx.close()
