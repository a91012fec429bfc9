"""A Chinese-locale browser against a server that goes away: the seed's texts, and an app that still routes.

Its own serve.py (it is stopped mid-test) and its own browser context (locale
zh-CN), so it pays one cold boot.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import SERVER_ARGS, BootedPage
from tests.serverproc import ServerProcess


@pytest.fixture
def zh_page(browser: Browser) -> Iterator[tuple[BootedPage, ServerProcess]]:
    with ServerProcess(SERVER_ARGS) as srv:
        ctx = browser.new_context(locale="zh-CN")
        try:
            bp = BootedPage(ctx.new_page(), srv.url)
            bp.boot("#/playground")
            yield bp, srv
        finally:
            ctx.close()


def test_zh_toasts_and_server_stopped_shows_cannot_reach_and_the_app_still_routes(
    zh_page: tuple[BootedPage, ServerProcess],
) -> None:
    app, server = zh_page
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    app.page.get_by_test_id("status-404").click()
    expect(app.toasts().filter(has_text="请求错误,未找到该资源")).to_have_count(1)
    app.page.get_by_test_id("status-505").click()
    expect(app.toasts().filter(has_text="http版本不支持该请求")).to_have_count(1)

    assert server.stop() == 0  # SIGTERM: a clean exit
    app.page.get_by_test_id("call-me").click()
    expect(app.toasts().filter(has_text="连接服务器失败")).to_have_count(1)
    assert app.page.evaluate("location.hash") == "#/playground"  # a network failure ends no session

    app.go("#/nowhere")
    expect(app.route_view()).to_have_attribute("data-route", "not-found")
    app.go("#/playground")
    expect(app.route_view()).to_have_attribute("data-route", "playground")
