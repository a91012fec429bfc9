"""The session timeline in the playground, live against the real server (6 s tokens, 4 s window)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import BootedPage

IN_WINDOW = """() => {
    const m = document.cookie.match(/(?:^|; )utilTime=(\\d+)/);
    return m !== null && Number(m[1]) - Date.now() < 3500;
}"""


def test_the_timeline_moves_marks_refreshes_and_has_a_text_equivalent(app: BootedPage) -> None:
    app.go("#/playground")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    timeline = app.page.get_by_test_id("session-timeline")
    expect(timeline).to_be_visible()
    expect(timeline.get_by_role("heading")).to_have_text("Session timeline")
    text = app.page.get_by_test_id("session-timeline-text")
    expect(text).to_contain_text("of 6 s left.")
    expect(text).to_contain_text("Idle warning: 3 s before expiry.")
    expect(text).to_contain_text("Refresh token:")
    now = app.page.locator(".timeline-now")
    expect(now).to_have_attribute("style", re.compile(r"translateX\((5\d|6\d)\.\d\d%\)"))
    first = now.get_attribute("style")
    expect(now).not_to_have_attribute("style", first or "")  # "now" moves

    app.page.wait_for_function(IN_WINDOW)
    expect(text).to_contain_text("now inside it")
    app.page.get_by_test_id("call-me").click()
    expect(text).to_contain_text("Refreshes so far: 1.")
    expect(app.page.locator(".timeline-marks")).to_have_attribute("style", re.compile("linear-gradient"))
