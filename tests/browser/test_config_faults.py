"""A missing or malformed ``config.json``: the app still starts, on the contract's defaults,
says so in one toast and logs why; never a blank page or a traceback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from tests.browser.conftest import BootedPage

BAD_CONFIGS: dict[str, Callable[[Route], None]] = {
    "missing": lambda route: route.fulfill(status=404, content_type="text/html", body="<h1>Not Found</h1>"),
    "not JSON": lambda route: route.fulfill(status=200, content_type="application/json", body="{oops"),
    "not an object": lambda route: route.fulfill(status=200, content_type="application/json", body="[1, 2]"),
}


@pytest.fixture
def tab(app: BootedPage, shared_context: BrowserContext) -> Iterator[BootedPage]:
    page = BootedPage(shared_context.new_page(), app.origin)
    try:
        yield page
    finally:
        page.page.close()


@pytest.mark.parametrize("fault", list(BAD_CONFIGS))
def test_a_bad_config_json_starts_the_app_on_defaults_with_one_clear_toast(tab: BootedPage, fault: str) -> None:
    warnings: list[str] = []
    tab.page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    tab.page.route("**/config.json", lambda route: BAD_CONFIGS[fault](route))
    tab.boot("#/login")  # waits for ready: the app started
    expect(tab.route_view()).to_have_attribute("data-route", "login")
    expect(tab.toasts()).to_have_count(1)
    expect(tab.toasts().first).to_contain_text("config.json")
    expect(tab.toasts().first).to_contain_text("defaults")
    expect(tab.page.locator(".py-error")).to_have_count(0)  # no traceback in the page
    assert "Traceback" not in tab.page.locator("body").inner_text()
    tab.wait_until(lambda: any("config.json" in w for w in warnings), "the problem logged to the console")
    # Defaults, so the real API still answers: signing in works.
    tab.sign_in()
    expect(tab.route_view()).to_have_attribute("data-route", "home")
