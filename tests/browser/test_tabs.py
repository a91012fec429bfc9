"""R7: tabs of one browser share one session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Request, expect

from tests.browser.conftest import BootedPage


@pytest.fixture
def second_tab(app: BootedPage, shared_context: BrowserContext) -> Iterator[BootedPage]:
    tab = BootedPage(shared_context.new_page(), app.origin)
    try:
        yield tab
    finally:
        tab.page.close()


def test_R7_signing_out_in_one_tab_signs_out_the_others_without_a_second_logout(
    app: BootedPage, second_tab: BootedPage
) -> None:
    second_tab.boot("#/login")  # booted first: a boot takes seconds, tokens live 6 s
    app.go("#/")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "home")
    second_tab.go("#/playground")  # same cookies: signed in here too
    expect(second_tab.route_view()).to_have_attribute("data-route", "playground")

    logouts: list[str] = []
    for tab in (app, second_tab):
        tab.page.on("request", lambda r: logouts.append(r.url) if r.url.endswith("/api/v1/logout") else None)
    app.page.get_by_test_id("logout").click()
    expect(app.route_view()).to_have_attribute("data-route", "login")
    expect(second_tab.route_view()).to_have_attribute("data-route", "login", timeout=1500)
    assert second_tab.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    second_tab.page.wait_for_timeout(300)
    assert len(logouts) == 1


def test_R7_a_refresh_in_one_tab_serves_the_other(app: BootedPage, second_tab: BootedPage) -> None:
    second_tab.boot("#/login")
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    second_tab.go("#/playground")
    expect(second_tab.route_view()).to_have_attribute("data-route", "playground")
    refreshes: list[Request] = []
    for tab in (app, second_tab):
        tab.page.on("request", lambda r: refreshes.append(r) if r.url.endswith("/refresh_token") else None)
    app.page.wait_for_timeout(2500)  # inside the 4 s window
    app.page.get_by_test_id("call-burst").click()
    second_tab.page.get_by_test_id("call-burst").click()
    expect(app.page.get_by_test_id("request-log")).to_contain_text("refresh_token")
    second_tab.page.wait_for_timeout(800)
    assert len(refreshes) == 1
    # The other tab reads the new session from the cookies: both show the same expiry.
    expires = app.page.get_by_test_id("session-expires-at")
    expect(second_tab.page.get_by_test_id("session-expires-at")).to_have_text(expires.inner_text())
    expect(app.toasts()).to_have_count(0)
    expect(second_tab.toasts()).to_have_count(0)
