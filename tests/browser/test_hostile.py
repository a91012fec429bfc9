"""Text from the URL or the server reaches the DOM only as text.

The page's CSP already blocks inline script, so "nothing ran" alone would prove
little: each test also checks that no element was made from the payload (no
``img``/``script``/``iframe`` in the app) and that the payload shows literally.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from playwright.sync_api import Route, expect

from tests.browser.conftest import BootedPage

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
REDIRECT_PAYLOAD = "/<img/src=x/onerror=window.__pwned=1><script>window.__pwned=2</script>"
MADE_FROM_PAYLOAD = "#app img, #app script, #app iframe, #toasts img, #toasts script"


def assert_inert(app: BootedPage) -> None:
    assert app.page.evaluate("typeof window.__pwned") == "undefined"
    expect(app.page.locator(MADE_FROM_PAYLOAD)).to_have_count(0)


def test_a_payload_in_the_route_shows_as_text(app: BootedPage) -> None:
    app.go("#/" + quote(PAYLOAD, safe=""))
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
    expect(app.route_view().locator("code")).to_have_text("/" + PAYLOAD)
    assert_inert(app)


def test_a_payload_in_the_redirect_lands_as_text(app: BootedPage) -> None:
    # An in-app path (one "/", no blanks, no scheme), so the redirect is followed: to a not-found view.
    app.go("#/login?redirect=" + quote(REDIRECT_PAYLOAD, safe=""))
    expect(app.route_view()).to_have_attribute("data-route", "login")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
    expect(app.route_view().locator("code")).to_have_text(REDIRECT_PAYLOAD)
    assert_inert(app)


def test_a_payload_as_the_username_shows_as_text(app: BootedPage) -> None:
    def hostile_me(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"username": PAYLOAD, "demo": True}))

    app.page.route("**/api/v1/me", hostile_me)
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "home")
    expect(app.page.get_by_test_id("whoami")).to_have_text(PAYLOAD)
    assert_inert(app)


def test_a_payload_in_an_error_answer_gives_the_usual_toast_only(app: BootedPage) -> None:
    def hostile_404(route: Route) -> None:
        route.fulfill(status=404, content_type="text/html", body=PAYLOAD)

    app.page.route("**/api/v1/status/404", hostile_404)
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    app.page.get_by_test_id("status-404").click()
    expect(app.page.get_by_test_id("request-log").get_by_text("GET status/404 → 404")).to_have_count(1)
    expect(app.toasts()).to_have_count(1)
    expect(app.toasts()).to_have_text("Not found: the requested resource does not exist×")
    assert_inert(app)
