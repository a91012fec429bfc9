"""The built site with no API at all: the in-page demo API serves (issue 8, contract sections 8-9).

One shared browser context and one booted page on the static site (a boot
costs seconds); ``demo`` resets cookies, route and toasts between tests. The
demo API runs section 2's defaults: access tokens live 20 s, and the app's
refresh window (1800 s) is longer, so every successful call refreshes (R1).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import BOOT_TIMEOUT_MS, BootedPage
from tests.static.conftest import Site

pytestmark = pytest.mark.browser

ACCESS_TTL_S = 20  # the demo API's --access-ttl default (contract section 2)


@pytest.fixture(scope="module")
def demo_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def demo_booted(demo_context: BrowserContext, site: Site) -> BootedPage:
    bp = BootedPage(demo_context.new_page(), site.url)
    bp.boot("#/login")
    return bp


@pytest.fixture
def demo(demo_booted: BootedPage, demo_context: BrowserContext) -> BootedPage:
    """The booted static site, signed out, on the login page, with no toasts."""
    demo_context.clear_cookies()
    demo_booted.go("#/login")
    expect(demo_booted.route_view()).to_have_attribute("data-route", "login")
    demo_booted.settle_toasts()
    demo_booted.console_errors.clear()
    return demo_booted


def api_requests(page: Page, site: Site, into: list[str]) -> None:
    """Record every request that went over the network to the API path (the demo answers in the page)."""
    page.on("request", lambda r: into.append(urlsplit(r.url).path) if r.url.startswith(site.url + "api/") else None)


def to_playground(demo: BootedPage) -> None:
    demo.go("#/playground")
    demo.sign_in()
    expect(demo.route_view()).to_have_attribute("data-route", "playground")


def test_sign_in_through_the_demo_api_shows_the_banner_and_answers_me_in_the_page(
    demo: BootedPage, demo_context: BrowserContext, site: Site
) -> None:
    banner = demo.page.get_by_test_id("demo-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("the API runs inside this page")
    seen: list[str] = []
    api_requests(demo.page, site, seen)
    to_playground(demo)
    demo.page.get_by_test_id("call-me").click()
    expect(demo.page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
    demo.go("#/")
    expect(demo.page.get_by_test_id("whoami")).to_have_text("demo")
    assert seen == []  # login and me never left the page
    cookies = demo_context.cookies()
    assert {c["name"] for c in cookies} == {"access_token", "refresh_token", "utilTime", "expires_in"}
    assert {c["path"] for c in cookies} == {"/demo-repo/"}
    # The demo API's state is in localStorage, under this app's path, holding no usable token.
    stored = demo.page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")
    assert "pyauth-demo-api:/demo-repo/" in stored
    tokens = {c["name"]: c["value"] for c in cookies}
    assert tokens["access_token"] not in json.dumps(stored) and tokens["refresh_token"] not in json.dumps(stored)


def test_R1_an_active_user_refreshes_through_the_demo_api(demo: BootedPage) -> None:
    to_playground(demo)
    first_expiry = int(demo.page.get_by_test_id("session-expires-at").inner_text())
    demo.page.get_by_test_id("call-me").click()
    # A success with <= 1800 s left starts one refresh: a new token, a later expiry.
    expect(demo.page.get_by_test_id("refresh-count")).to_have_text("1")
    expect(demo.page.get_by_test_id("session-expires-at")).not_to_have_text(str(first_expiry))
    assert int(demo.page.get_by_test_id("session-expires-at").inner_text()) > first_expiry
    expect(demo.toasts()).to_have_count(0)


@pytest.mark.parametrize(("code", "text"), [(404, "Not found"), (500, "Server error"), (503, "Service unavailable")])
def test_status_calls_show_their_toasts(demo: BootedPage, code: int, text: str) -> None:
    to_playground(demo)
    demo.page.get_by_test_id(f"status-{code}").click()
    expect(demo.toasts().filter(has_text=text)).to_have_count(1)


def test_a_reload_keeps_the_session(demo: BootedPage) -> None:
    to_playground(demo)
    demo.page.reload()
    demo.wait_ready()
    expect(demo.route_view()).to_have_attribute("data-route", "playground")
    expect(demo.page.get_by_test_id("demo-banner")).to_be_visible()
    demo.page.get_by_test_id("call-me").click()
    expect(demo.page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
    expect(demo.toasts()).to_have_count(0)


def test_two_tabs_share_the_session_and_sign_out_together(
    demo: BootedPage, demo_context: BrowserContext, site: Site
) -> None:
    two = BootedPage(demo_context.new_page(), site.url)
    try:
        two.boot("#/login")
        demo.go("#/")
        demo.sign_in()
        expect(demo.route_view()).to_have_attribute("data-route", "home")
        two.go("#/playground")  # same cookies, same demo API state: signed in here too
        expect(two.route_view()).to_have_attribute("data-route", "playground")
        two.page.get_by_test_id("call-me").click()  # refreshes (R1) in tab two ...
        # At least once: every success is inside the demo's window, so a later call of this tab
        # may refresh again. A second rotation of a token tab one already rotated would revoke
        # the family (reuse), and tab one's call below would then end the session.
        expect(two.page.get_by_test_id("refresh-count")).not_to_have_text("0")
        demo.go("#/playground")  # ... and tab one goes on with the rotated token
        demo.page.get_by_test_id("call-me").click()
        expect(demo.page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
        expect(demo.toasts()).to_have_count(0)
        demo.page.get_by_test_id("logout").click()  # R7
        expect(demo.route_view()).to_have_attribute("data-route", "login")
        expect(two.route_view()).to_have_attribute("data-route", "login")  # told by the channel: test_broadcast.py
        assert two.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    finally:
        two.page.close()


def test_R2_an_idle_user_is_sent_to_login_at_expiry_with_the_toast(
    demo: BootedPage, demo_context: BrowserContext, record_property: Callable[[str, object], None]
) -> None:
    to_playground(demo)
    demo.mark_login_time()
    util_time = int(demo.page.get_by_test_id("session-expires-at").inner_text())
    # Idle: no call. The session ends at utilTime (20 s after sign-in), not at the next request:
    # nothing but the clock can end it here, and not before utilTime. How soon after is a
    # figure of this machine's load: reported, not a verdict.
    expect(demo.route_view()).to_have_attribute("data-route", "login", timeout=(ACCESS_TTL_S + 10) * 1000)
    ended_at = demo.page.evaluate("window.__loginAt")  # the page's clock, when the login view appeared
    assert ended_at >= util_time - 50
    record_property("R2 login view, ms after utilTime", ended_at - util_time)
    assert demo.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    expect(demo.toasts().filter(has_text="Session expired")).to_have_count(1)
    assert demo_context.cookies() == []


def test_the_minimal_example_signs_in_through_the_demo_api(site: Site, browser: Browser) -> None:
    ctx = browser.new_context(locale="en-US")
    try:
        page = ctx.new_page()
        seen: list[str] = []
        page.on("request", lambda r: seen.append(r.url))
        page.goto(site.url + "examples/minimal/")
        expect(page.locator("html")).to_have_attribute("data-app-state", "ready", timeout=BOOT_TIMEOUT_MS)
        expect(page.get_by_test_id("me")).to_contain_text("'username': 'demo'")
        expect(page.get_by_test_id("me")).to_contain_text("answered by the in-page demo API")
        assert [u for u in seen if u.startswith(("http:", "https:")) and not u.startswith(site.url)] == []
        assert any(u.startswith(site.url + "wheels/tokensession-") for u in seen)
    finally:
        ctx.close()
