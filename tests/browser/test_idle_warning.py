"""The "stay signed in?" idle warning against the real server (6 s tokens: it shows 3 s before expiry)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Request, expect

from tests.browser.conftest import BootedPage

SESSION_EXPIRED = "Session expired, please sign in again"


def refreshes(*tabs: BootedPage) -> list[Request]:
    seen: list[Request] = []
    for tab in tabs:
        tab.page.on("request", lambda r: seen.append(r) if r.url.endswith("/api/v1/refresh_token") else None)
    return seen


def test_the_warning_is_an_accessible_dialog_and_stay_signed_in_refreshes(app: BootedPage) -> None:
    page = app.page
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    seen = refreshes(app)
    expires_before = page.get_by_test_id("session-expires-at").inner_text()

    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=10_000)  # min(60, 6 / 2) = 3 s before utilTime
    expect(dialog).to_have_attribute("data-testid", "idle-warning")
    expect(dialog).to_have_accessible_name("Stay signed in?")
    expect(dialog).to_have_accessible_description(
        re.compile(r"^Your session ends in \d s because you have been inactive\.$")
    )
    stay = page.get_by_test_id("stay-signed-in")
    expect(stay).to_be_focused()
    countdown = page.get_by_test_id("idle-countdown")
    expect(countdown).to_have_text(re.compile(r"^[123]$"))
    expect(countdown).not_to_have_text(countdown.inner_text())  # live: it counts down
    assert seen == []

    page.keyboard.press("Enter")  # the focused button, by keyboard

    expect(page.get_by_test_id("idle-warning")).to_have_count(0)
    expect(page.get_by_test_id("refresh-count")).to_have_text("1")
    assert len(seen) == 1
    expect(page.get_by_test_id("session-expires-at")).not_to_have_text(expires_before)
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    expect(app.toasts()).to_have_count(0)


def test_escape_dismisses_and_the_idle_session_ends_as_before(app: BootedPage) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    seen = refreshes(app)
    expect(app.page.get_by_test_id("idle-warning")).to_be_visible(timeout=10_000)
    app.page.keyboard.press("Escape")
    expect(app.page.get_by_test_id("idle-warning")).to_have_count(0)
    expect(app.route_view()).to_have_attribute("data-route", "login", timeout=10_000)
    expect(app.toasts().filter(has_text=SESSION_EXPIRED)).to_have_count(1)
    assert seen == []
    expect(app.page.get_by_test_id("idle-warning")).to_have_count(0)


@pytest.fixture
def second_tab(app: BootedPage, shared_context: BrowserContext) -> Iterator[BootedPage]:
    tab = BootedPage(shared_context.new_page(), app.origin)
    try:
        tab.boot("#/login")
        yield tab
    finally:
        tab.page.close()


def test_the_warning_shows_in_each_tab_once_and_one_tabs_answer_clears_it_everywhere(
    app: BootedPage, second_tab: BootedPage
) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    second_tab.go("#/playground")
    expect(second_tab.route_view()).to_have_attribute("data-route", "playground")
    seen = refreshes(app, second_tab)
    before = second_tab.page.get_by_test_id("session-expires-at").inner_text()
    for tab in (app, second_tab):
        expect(tab.page.get_by_test_id("idle-warning")).to_have_count(1, timeout=10_000)

    second_tab.page.get_by_test_id("stay-signed-in").click()

    for tab in (second_tab, app):
        expect(tab.page.get_by_test_id("idle-warning")).to_have_count(0)
    assert len(seen) == 1
    expires = second_tab.page.get_by_test_id("session-expires-at")
    expect(expires).not_to_have_text(before)  # the playground redraws every 250 ms: wait for it
    expect(app.page.get_by_test_id("session-expires-at")).to_have_text(expires.inner_text())
