"""No traceback for end users: a friendly error screen with a reload button, details in the console."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from tests.browser.conftest import BootedPage

BREAK_NOT_FOUND_VIEW = """
import pyapp.views
def broken(self):
    raise ZeroDivisionError("a bug in a view")
pyapp.views.View.body = broken
from js import document
document.body.dataset.broken = "yes"
"""


def broken_package() -> bytes:
    # A deploy that lost most of the app: the entry point's import fails at boot.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pyapp/__init__.py", "")
    return buf.getvalue()


@pytest.fixture
def tab(app: BootedPage, shared_context: BrowserContext) -> Iterator[BootedPage]:
    page = BootedPage(shared_context.new_page(), app.origin)
    try:
        yield page
    finally:
        page.page.close()


def test_a_boot_failure_shows_a_friendly_screen_and_reload_recovers(tab: BootedPage) -> None:
    def serve_broken(route: Route) -> None:
        route.fulfill(status=200, content_type="application/zip", body=broken_package())

    tab.page.route("**/pyapp.zip", serve_broken)
    tab.page.goto(tab.origin + "#/login")
    screen = tab.page.get_by_test_id("error-screen")
    expect(screen).to_be_visible(timeout=90_000)
    expect(screen).to_have_attribute("role", "alert")
    expect(screen.get_by_role("heading")).to_have_text("Something went wrong")
    expect(tab.page.get_by_test_id("reload")).to_be_focused()
    expect(tab.page.locator(".py-error")).to_have_count(0)
    assert "Traceback" not in tab.page.locator("body").inner_text()
    assert "ModuleNotFoundError" not in tab.page.locator("body").inner_text()
    # MicroPython's missing module is a plain ImportError.
    missing = ("ModuleNotFoundError", "ImportError")
    assert any("could not start" in e and any(m in e for m in missing) for e in tab.console_errors)

    tab.page.unroute_all()
    tab.page.get_by_test_id("reload").click()
    tab.wait_ready()
    expect(tab.route_view()).to_have_attribute("data-route", "login")


def test_a_view_that_raises_shows_the_error_screen_not_a_traceback(tab: BootedPage) -> None:
    tab.boot("#/login")
    tab.run_python(BREAK_NOT_FOUND_VIEW)
    expect(tab.page.locator("body")).to_have_attribute("data-broken", "yes")
    tab.go("#/nowhere")
    screen = tab.page.get_by_test_id("error-screen")
    expect(screen).to_be_visible()
    expect(tab.page.get_by_test_id("reload")).to_be_focused()
    expect(tab.page.locator(".py-error")).to_have_count(0)
    assert "Traceback" not in tab.page.locator("body").inner_text()
    assert any("a bug in a view" in e for e in tab.console_errors)
    tab.go("#/login")  # the app still routes
    expect(tab.route_view()).to_have_attribute("data-route", "login")
