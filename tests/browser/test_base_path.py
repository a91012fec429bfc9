"""Contract section 5: the app works under any base path (as on GitHub Pages, /<repo>/)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import SERVER_ARGS, BootedPage
from tests.serverproc import ServerProcess


@pytest.fixture
def under_repo(browser: Browser) -> Iterator[BootedPage]:
    with ServerProcess([*SERVER_ARGS, "--base-path", "/repo/"]) as srv:
        assert srv.url.endswith("/repo/")
        ctx = browser.new_context()
        try:
            yield BootedPage(ctx.new_page(), srv.url)
        finally:
            ctx.close()


def test_app_under_a_base_path_routes_signs_in_and_keeps_its_cookies_there(under_repo: BootedPage) -> None:
    app = under_repo
    app.boot("#/playground")
    assert app.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    app.page.get_by_test_id("call-me").click()
    expect(app.page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
    cookies = app.page.context.cookies()
    assert {c["name"] for c in cookies} == {"access_token", "refresh_token", "utilTime", "expires_in"}
    assert {c["path"] for c in cookies} == {"/repo/"}
    paths = [urlsplit(u).path for u in app.requests if urlsplit(u).scheme in ("http", "https")]
    assert paths and all(p.startswith("/repo/") for p in paths), [p for p in paths if not p.startswith("/repo/")]
    assert app.console_errors == []
