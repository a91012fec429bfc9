"""The whole UI in the user's language: zh-CN or English, switched at once and remembered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ServerProcess


@pytest.fixture
def switched(app: BootedPage) -> Iterator[BootedPage]:
    """The shared page; whatever the test switched to, English again afterwards."""
    yield app
    app.page.evaluate("localStorage.removeItem('pyauth.lang')")
    if app.page.locator("html").get_attribute("lang") != "en":
        app.page.get_by_test_id("lang-switch").click()
    expect(app.page.locator("html")).to_have_attribute("lang", "en")


def test_lang_switch_translates_the_page_at_once_and_remembers_it(switched: BootedPage) -> None:
    page = switched.page
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_test_id("lang-switch").click()

    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_visible()
    expect(page.get_by_label("密码")).to_be_visible()
    expect(page.get_by_test_id("login-submit")).to_have_text("登录")
    expect(page.get_by_role("navigation")).to_contain_text("首页")
    expect(page).to_have_title("登录 · PyAuth")
    expect(page.get_by_test_id("lang-switch")).to_have_text("English")
    assert page.evaluate("localStorage.getItem('pyauth.lang')") == "zh"
    assert not page.evaluate("Object.keys(localStorage).some(k => /token/i.test(localStorage.getItem(k)))")

    page.reload()
    switched.wait_ready()
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    switched.go("#/nowhere")
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()


def test_a_toast_after_the_switch_is_in_the_new_language(switched: BootedPage) -> None:
    switched.go("#/playground")
    switched.sign_in()
    expect(switched.route_view()).to_have_attribute("data-route", "playground")
    switched.page.get_by_test_id("lang-switch").click()
    expect(switched.page.get_by_role("heading", name="演示")).to_be_visible()
    switched.page.get_by_test_id("status-404").click()
    expect(switched.toasts().filter(has_text="请求错误,未找到该资源")).to_have_count(1)
    expect(switched.toasts().get_by_role("button", name="关闭")).to_have_count(1)


def test_a_chinese_browser_gets_chinese_from_the_boot_screen_on(browser: Browser, server: ServerProcess) -> None:
    ctx = browser.new_context(locale="zh-CN")
    try:
        page = ctx.new_page()
        bp = BootedPage(page, server.url)
        page.goto(server.url + "#/login", wait_until="domcontentloaded")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("#boot-text")).to_have_text(["正在加载 Python 运行时…"], timeout=5000)
        expect(page.get_by_role("navigation")).to_contain_text("首页")
        bp.wait_ready()
        expect(page.get_by_role("heading", name="登录")).to_be_visible()
        expect(page).to_have_title("登录 · PyAuth")
        expect(page.get_by_test_id("lang-switch")).to_have_text("English")
        assert bp.console_errors == []
    finally:
        ctx.close()
