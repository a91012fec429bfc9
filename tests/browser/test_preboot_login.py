"""The sign-in form before Python is up: typing and a submit before ``ready`` are not lost.

index.html carries a plain HTML login form that boot.js shows on ``#/login`` (or a protected
route without a session); the Python login view takes over what was typed, and a pending
submit, and the pre-boot form is gone by ``ready`` (the contract's test ids once each).
Python's start is held back (``pyapp.zip`` is answered only when the test says so), so the
typing happens before ``ready`` for sure, whatever the machine's speed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ServerProcess


@pytest.fixture
def cold_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


class HeldFiles:
    """Holds back the app's ``pyapp.zip`` until :meth:`release`: Python cannot start before."""

    def __init__(self, page: Page) -> None:
        self.held: list[Route] = []
        self.released = False
        page.route("**/pyapp.zip*", self._hold)

    def _hold(self, route: Route) -> None:
        if self.released:
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.held:
            route.continue_()
        self.held.clear()


def test_typing_and_a_submit_before_ready_sign_in_once_python_is_up(
    cold_context: BrowserContext, server: ServerProcess
) -> None:
    page = cold_context.new_page()
    bp = BootedPage(page, server.url)
    held = HeldFiles(page)
    page.goto(server.url + "#/login", wait_until="domcontentloaded")
    html = page.locator("html")
    expect(page.get_by_test_id("login-username")).to_be_visible()
    page.get_by_test_id("login-username").press_sequentially("demo")
    page.get_by_test_id("login-password").fill("demo")
    page.get_by_test_id("login-password").press("Enter")
    expect(page.get_by_test_id("login-submit")).to_be_disabled()  # kept, shown as busy
    expect(html).to_have_attribute("data-app-state", "loading")
    assert not [u for u in bp.requests if "/api/v1/login" in u]  # nothing can have sent it yet
    held.release()
    bp.wait_ready()
    # The pending submit went out once Python was up, and signed in.
    expect(bp.route_view()).to_have_attribute("data-route", "home", timeout=30_000)
    expect(page.locator("#preboot")).to_have_count(0)
    assert bp.console_errors == []


def test_typed_values_and_focus_move_into_the_python_view_without_duplicate_test_ids(
    cold_context: BrowserContext, server: ServerProcess
) -> None:
    page = cold_context.new_page()
    bp = BootedPage(page, server.url)
    held = HeldFiles(page)
    # A protected route without a session shows the form too (the app will redirect to login).
    page.goto(server.url + "#/playground", wait_until="domcontentloaded")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.get_by_test_id("login-username").fill("someone")
    page.get_by_test_id("login-password").press_sequentially("half-typ")
    expect(page.locator("html")).to_have_attribute("data-app-state", "loading")
    held.release()
    bp.wait_ready()
    for testid in ("login-form", "login-username", "login-password", "login-submit"):
        expect(page.get_by_test_id(testid)).to_have_count(1)
    expect(page.locator("#preboot")).to_have_count(0)
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    expect(page.get_by_test_id("login-username")).to_have_value("someone")
    expect(page.get_by_test_id("login-password")).to_have_value("half-typ")
    # Still typing in the password field: focus and caret moved with it, nothing was sent.
    expect(page.get_by_test_id("login-password")).to_be_focused()
    page.keyboard.type("ed")
    expect(page.get_by_test_id("login-password")).to_have_value("half-typed")
    expect(page.get_by_test_id("login-submit")).to_be_enabled()
    assert not [u for u in bp.requests if "/api/v1/login" in u]


def test_no_pre_boot_form_on_routes_that_do_not_show_login(cold_context: BrowserContext, server: ServerProcess) -> None:
    page = cold_context.new_page()
    bp = BootedPage(page, server.url)
    held = HeldFiles(page)
    page.goto(server.url + "#/no-such-page", wait_until="domcontentloaded")
    expect(page.locator("#boot")).to_be_visible()
    expect(page.get_by_test_id("login-form")).to_have_count(0)
    held.release()
    bp.wait_ready()
    expect(bp.route_view()).to_have_attribute("data-route", "not-found")
