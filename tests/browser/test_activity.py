"""activityEvents: configured user input counts as activity (R1); by default only API calls do."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Request, Route, expect

from tests.browser.conftest import BootedPage

SESSION_EXPIRED = "Session expired, please sign in again"
# The page is inside the 4 s refresh window of a 6 s token (utilTime from the cookie, Date.now()).
IN_WINDOW = """() => {
    const m = document.cookie.match(/(?:^|; )utilTime=(\\d+)/);
    return m !== null && Number(m[1]) - Date.now() < 3500;
}"""


def refreshes(tab: BootedPage) -> list[Request]:
    seen: list[Request] = []
    tab.page.on("request", lambda r: seen.append(r) if r.url.endswith("/api/v1/refresh_token") else None)
    return seen


@pytest.fixture
def active_tab(app: BootedPage, shared_context: BrowserContext) -> Iterator[BootedPage]:
    """A tab whose config.json (as a site would deploy it) names activity events."""
    config = {"apiBase": "api/v1", "refreshWindowSeconds": 4, "timeoutMs": 2500, "demoApi": False}
    config["activityEvents"] = ["pointerdown", "keydown"]
    tab = BootedPage(shared_context.new_page(), app.origin)

    def serve_config(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(config))

    tab.page.route("**/config.json", serve_config)
    try:
        tab.boot("#/login?redirect=%2Fplayground")
        yield tab
    finally:
        tab.page.close()


def test_a_key_press_inside_the_refresh_window_refreshes_when_configured(active_tab: BootedPage) -> None:
    active_tab.sign_in()
    expect(active_tab.route_view()).to_have_attribute("data-route", "playground")
    seen = refreshes(active_tab)
    active_tab.page.wait_for_function(IN_WINDOW)
    assert seen == []  # signing in and rendering the playground made no call
    active_tab.page.keyboard.press("Shift")
    expect(active_tab.page.get_by_test_id("refresh-count")).to_have_text("1")
    assert len(seen) == 1
    active_tab.page.mouse.click(5, 300)  # pointerdown, right after: throttled, and far from expiry now
    expect(active_tab.route_view()).to_have_attribute("data-route", "playground")
    expect(active_tab.toasts()).to_have_count(0)


def test_by_default_user_input_does_not_keep_a_session_alive(app: BootedPage) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    seen = refreshes(app)
    app.page.wait_for_function(IN_WINDOW)
    app.page.keyboard.press("Shift")
    app.page.mouse.click(5, 300)
    expect(app.route_view()).to_have_attribute("data-route", "login", timeout=10_000)
    expect(app.toasts().filter(has_text=SESSION_EXPIRED)).to_have_count(1)
    assert seen == []
