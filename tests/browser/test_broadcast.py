"""Tabs agree at once: a BroadcastChannel carries sign-in, refresh and sign-out to every tab."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import BootedPage

SESSION_EXPIRED = "Session expired, please sign in again"
LISTEN = """() => {
    // What the app's channel carries, seen from this tab (the channel is named after the cookie path).
    window.__heard = [];
    new BroadcastChannel("pyauth-session:/").onmessage = (e) => window.__heard.push(e.data);
}"""


@pytest.fixture
def second_tab(app: BootedPage, shared_context: BrowserContext) -> Iterator[BootedPage]:
    tab = BootedPage(shared_context.new_page(), app.origin)
    try:
        tab.boot("#/login")  # booted before signing in: a boot takes seconds, tokens live 6 s
        yield tab
    finally:
        tab.page.close()


def test_sign_out_reaches_the_other_tab_through_the_channel_with_no_token(
    app: BootedPage, second_tab: BootedPage
) -> None:
    app.go("#/")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "home")
    second_tab.go("#/playground")
    expect(second_tab.route_view()).to_have_attribute("data-route", "playground")
    second_tab.page.evaluate(LISTEN)
    cookies = {c["name"]: c["value"] for c in second_tab.page.context.cookies()}

    app.page.get_by_test_id("logout").click()

    # R7's "within 1 s" comes from the channel: the message below, not the watchdog's cookie check
    # (how many ms it took depends on this machine's load; bench/tabs_bench.py measures it).
    expect(second_tab.route_view()).to_have_attribute("data-route", "login")
    assert second_tab.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    heard = [json.loads(m) for m in second_tab.page.evaluate("window.__heard")]
    assert {"type": "signed-out", "reason": "logout"} in heard
    for message in heard:
        assert not any(v in json.dumps(message) for v in cookies.values() if len(v) > 12)
    expect(second_tab.toasts()).to_have_count(0)


def test_a_sign_in_takes_a_waiting_login_tab_to_its_redirect(app: BootedPage, second_tab: BootedPage) -> None:
    second_tab.go("#/login?redirect=%2Fplayground")
    expect(second_tab.route_view()).to_have_attribute("data-route", "login")
    app.go("#/login")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "home")
    expect(second_tab.route_view()).to_have_attribute("data-route", "playground")


def test_an_idle_session_ends_with_its_toast_in_every_tab(app: BootedPage, second_tab: BootedPage) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    second_tab.go("#/")
    expect(second_tab.route_view()).to_have_attribute("data-route", "home")
    # Nobody does anything: the 6 s token expires; whichever tab sees it first, both say so.
    for tab, route in ((app, "%2Fplayground"), (second_tab, "%2F")):
        expect(tab.route_view()).to_have_attribute("data-route", "login", timeout=20_000)
        expect(tab.toasts().filter(has_text=SESSION_EXPIRED)).to_have_count(1)
        assert tab.page.evaluate("location.hash") == f"#/login?redirect={route}"
