"""axe-core as a guard (issue 18): 0 violations in the app's 7 states, in Chromium.

axe-core (npm, pinned) is served from the page's own origin: the CSP (``script-src 'self'``)
refuses inline scripts, so the test routes one same-origin URL to ``node_modules/axe-core/axe.min.js``
and adds a ``<script src>`` for it. Nothing of serve.py or the app changes.
tests/browser/engines/test_axe_firefox.py runs the same states in Firefox ESR.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ROOT

pytestmark = pytest.mark.browser

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "__test-only__/axe.min.js"
# Every rule axe runs by default (WCAG 2.0-2.2 A/AA and best practices), on the whole document.
RUN_AXE = """async () => {
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary })) }));
}"""


def violations(app: BootedPage) -> list[dict[str, Any]]:
    """axe-core's violations in the page as it is now (axe added from our origin once per page)."""
    page = app.page
    if not page.evaluate("typeof window.axe === 'object'"):
        source = AXE_JS.read_text()
        url = app.origin + AXE_PATH
        page.route(url, lambda route: route.fulfill(status=200, content_type="text/javascript", body=source))
        page.add_script_tag(url=url)
    return list(page.evaluate(RUN_AXE))


def assert_no_violations(app: BootedPage, state: str) -> None:
    found = violations(app)
    assert found == [], f"axe-core in {state}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}: " + "; ".join(n["target"] for n in v["nodes"]) for v in found
    )


@pytest.fixture
def axe_app(app: BootedPage) -> Iterator[BootedPage]:
    if not AXE_JS.is_file():
        pytest.skip("npm axe-core missing: run scripts/setup.sh test")
    yield app
    app.page.evaluate("localStorage.removeItem('pyauth.lang')")
    if app.page.locator("html").get_attribute("lang") != "en":
        app.page.get_by_test_id("lang-switch").click()
    expect(app.page.locator("html")).to_have_attribute("lang", "en")


def to_playground(app: BootedPage) -> None:
    app.go("#/playground")
    expect(app.route_view()).to_have_attribute("data-route", "login")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")


def test_axe_login(axe_app: BootedPage) -> None:
    assert_no_violations(axe_app, "login")


def test_axe_login_with_an_error_toast(axe_app: BootedPage) -> None:
    axe_app.sign_in("demo", "wrong")  # an alert inside the form, not a toast
    expect(axe_app.page.get_by_role("alert").filter(has_text="Wrong username or password")).to_be_visible()
    assert_no_violations(axe_app, "login with the wrong-password alert")
    # A toast on the login view: a 401 ends the session (R4), which lands there with its toast.
    to_playground(axe_app)
    axe_app.page.get_by_test_id("status-401").click()
    expect(axe_app.route_view()).to_have_attribute("data-route", "login")
    expect(axe_app.toasts().filter(has_text="Session expired, please sign in again")).to_have_count(1)
    assert_no_violations(axe_app, "login with an error toast")


def test_axe_playground_its_toast_and_the_idle_warning(axe_app: BootedPage) -> None:
    to_playground(axe_app)
    assert_no_violations(axe_app, "playground")
    axe_app.page.get_by_test_id("status-404").click()
    expect(axe_app.toasts()).to_have_count(1)
    assert_no_violations(axe_app, "playground with a toast")
    expect(axe_app.page.get_by_test_id("idle-warning")).to_be_visible(timeout=10_000)
    assert_no_violations(axe_app, "the idle warning dialog")


def test_axe_playground_in_chinese(axe_app: BootedPage) -> None:
    to_playground(axe_app)
    axe_app.page.get_by_test_id("lang-switch").click()
    expect(axe_app.page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert_no_violations(axe_app, "the playground in Chinese")


def test_axe_not_found(axe_app: BootedPage) -> None:
    axe_app.go("#/nowhere")
    expect(axe_app.route_view()).to_have_attribute("data-route", "not-found")
    assert_no_violations(axe_app, "not-found")


def test_axe_is_a_real_guard_it_names_a_violation_when_there_is_one(axe_app: BootedPage) -> None:
    axe_app.page.evaluate("document.querySelector('main').append(Object.assign(new Image(), {id: 'no-alt'}))")
    try:
        assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations(axe_app)] == [
            ("image-alt", ["#no-alt"])
        ]
    finally:
        axe_app.page.evaluate("document.getElementById('no-alt').remove()")
