"""Refresh failures against the real server: a blip is retried; 403 keeps the session."""

from __future__ import annotations

from playwright.sync_api import Request, Route, expect

from tests.browser.conftest import BootedPage

IN_WINDOW = """() => {
    const m = document.cookie.match(/(?:^|; )utilTime=(\\d+)/);
    return m !== null && Number(m[1]) - Date.now() < 3500;
}"""


def refreshes(tab: BootedPage) -> list[Request]:
    seen: list[Request] = []
    tab.page.on("request", lambda r: seen.append(r) if r.url.endswith("/api/v1/refresh_token") else None)
    return seen


def test_a_blip_during_an_r1_refresh_is_retried_and_the_session_goes_on(app: BootedPage) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    dropped: list[str] = []

    def drop_the_first(route: Route) -> None:
        if not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    app.page.route("**/api/v1/refresh_token", drop_the_first)
    app.page.wait_for_function(IN_WINDOW)
    app.page.get_by_test_id("call-me").click()
    expect(app.toasts().filter(has_text="Cannot reach the server")).to_have_count(1)
    expect(app.page.get_by_test_id("refresh-count")).to_have_text("1")  # retried after a backoff
    assert len(dropped) == 1
    expect(app.route_view()).to_have_attribute("data-route", "playground")


def test_403_shows_its_toast_keeps_the_session_and_does_not_refresh(app: BootedPage) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    seen = refreshes(app)
    app.page.wait_for_function(IN_WINDOW)  # where a success would refresh
    expires = app.page.get_by_test_id("session-expires-at").inner_text()
    app.page.get_by_test_id("status-403").click()
    expect(app.toasts().filter(has_text="Access denied")).to_have_count(1)
    expect(app.page.get_by_test_id("request-log")).to_contain_text("GET status/403 → 403")
    assert seen == []
    expect(app.page.get_by_test_id("session-expires-at")).to_have_text(expires)
    expect(app.route_view()).to_have_attribute("data-route", "playground")
