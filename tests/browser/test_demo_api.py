"""The in-page demo API (contract section 8, ``demoApi``) in Chromium: no server API, the app still works.

``serve.py`` serves ``"demoApi": false``; these tests answer ``config.json``
themselves (Playwright routes) and make ``api/v1/`` a dead end, as on a static
host. Each test has its own browser context, so the shared page keeps its
normal config, cookies and storage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Route, expect

from tests.browser.conftest import BootedPage
from tests.serverproc import ServerProcess


@dataclass
class StaticHost:
    """A browser context whose ``config.json`` and ``api/v1/`` are answered as a static host would."""

    context: BrowserContext
    api_calls: list[str] = field(default_factory=list)  # "METHOD /path" of every request for api/v1/

    def tab(self, origin: str) -> BootedPage:
        return BootedPage(self.context.new_page(), origin)


HostFactory = Callable[..., StaticHost]


@pytest.fixture
def static_host(browser: Browser, server: ServerProcess) -> Iterator[HostFactory]:
    """``static_host(demo_api, locale)``: a fresh context whose config says ``demoApi`` and
    whose ``api/v1/`` answers 404 pages, as a static host does."""
    contexts: list[BrowserContext] = []

    def make(demo_api: bool | str = "auto", locale: str = "en-US", **more: Any) -> StaticHost:
        ctx = browser.new_context(locale=locale)
        contexts.append(ctx)
        host = StaticHost(ctx)
        config = {"apiBase": "api/v1", "refreshWindowSeconds": 1800, "timeoutMs": 5000, "lang": "auto"}
        body = json.dumps({**config, "demoApi": demo_api, **more})

        def no_api(route: Route) -> None:
            host.api_calls.append(f"{route.request.method} {urlsplit(route.request.url).path}")
            route.fulfill(status=404, content_type="text/html", body="<!doctype html><h1>404 Not Found</h1>")

        ctx.route("**/config.json", lambda route: route.fulfill(content_type="application/json", body=body))
        ctx.route("**/api/v1/**", no_api)
        return host

    yield make
    for ctx in contexts:
        ctx.close()


def test_httponly_refresh_falls_back_to_js_with_the_demo_api_and_says_why(
    static_host: HostFactory, server: ServerProcess
) -> None:
    host = static_host("auto", refreshCookie="httponly")
    tab = host.tab(server.url)
    tab.boot("#/login")
    # One toast and a console line: page scripts cannot set an HttpOnly cookie.
    expect(tab.toasts().filter(has_text="cannot set an HttpOnly cookie")).to_have_count(1)
    tab.sign_in("demo", "demo")
    expect(tab.route_view()).to_have_attribute("data-route", "home")
    jar = {c["name"]: c for c in host.context.cookies()}
    assert jar["refresh_token"]["httpOnly"] is False and "refresh_expires_at" not in jar  # the "js" mode


def stored_state(tab: BootedPage) -> dict[str, Any]:
    """``localStorage`` as the page sees it."""
    return dict(tab.page.evaluate("() => Object.fromEntries(Object.entries(localStorage))"))


def test_auto_without_an_api_signs_in_through_the_page_and_keeps_the_session_on_reload(
    static_host: HostFactory, server: ServerProcess
) -> None:
    host = static_host("auto")
    tab = host.tab(server.url)
    tab.boot("#/playground")
    banner = tab.page.get_by_test_id("demo-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("the API runs inside this page")
    assert tab.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"

    tab.sign_in("demo", "demo")
    expect(tab.route_view()).to_have_attribute("data-route", "playground")
    tab.page.get_by_test_id("call-me").click()
    log = tab.page.get_by_test_id("request-log")
    expect(log).to_contain_text("GET me → 200")
    # ttl 20 s inside an 1800 s window: the success refreshed, and the demo API rotated
    expect(tab.page.get_by_test_id("refresh-count")).to_have_text("1")
    # the boot probe was the only request for api/v1/: login, me and the refresh stayed in the page
    assert host.api_calls == ["GET /api/v1/info"]

    cookies = {c["name"]: c["value"] for c in host.context.cookies()}
    stored = stored_state(tab)
    assert len(json.loads(stored["pyauth-demo-api:/"])["families"]) == 1  # the demo API's state is there ...
    raw = json.dumps(stored)
    assert cookies["access_token"] not in raw and cookies["refresh_token"] not in raw  # ... without a token

    tab.page.reload()
    tab.wait_ready()
    expect(tab.route_view()).to_have_attribute("data-route", "playground")  # still signed in
    expect(banner).to_be_visible()
    tab.page.get_by_test_id("call-me").click()
    expect(log).to_contain_text("GET me → 200")
    assert host.api_calls == ["GET /api/v1/info", "GET /api/v1/info"]
    # a language switch (the page's <html lang>) switches the banner too
    tab.page.evaluate("document.documentElement.lang = 'zh-CN'")
    expect(banner).to_contain_text("API 运行在本页面内")
    expect(banner).to_have_attribute("lang", "zh-CN")
    # Chromium logs each 404 it fetches: the two boot probes, and nothing else
    assert [e for e in tab.console_errors if "status of 404" not in e] == []
    assert len(tab.console_errors) == 2


def test_true_serves_two_tabs_in_chinese_without_probing(static_host: HostFactory, server: ServerProcess) -> None:
    host = static_host(True, locale="zh-CN")
    one, two = host.tab(server.url), host.tab(server.url)
    one.boot("#/login")
    two.boot("#/login")
    expect(one.page.get_by_test_id("demo-banner")).to_contain_text("API 运行在本页面内")

    one.page.get_by_test_id("login-username").fill("demo")
    one.page.get_by_test_id("login-password").fill("demo")
    one.page.get_by_test_id("login-submit").click()
    expect(one.route_view()).to_have_attribute("data-route", "home")
    # Tab two runs its own demo API over the same storage: it accepts tab one's tokens. The
    # sign-in took it home (its login form had nothing left to do), whose GET me succeeded
    # inside the demo's window (ttl 20 s, window 1800 s) and so refreshed (R1).
    expect(two.route_view()).to_have_attribute("data-route", "home")
    expect(two.page.get_by_test_id("whoami")).to_have_text("demo")
    two.go("#/playground")
    expect(two.route_view()).to_have_attribute("data-route", "playground")
    # Which tab's home refresh rotated the sign-in's tokens is a race (R7: one refresh serves
    # both), so tab two's count may be 0 or 1 here, or become 1 a moment later.
    count = two.page.get_by_test_id("refresh-count")
    before = int(count.inner_text())
    two.page.get_by_test_id("call-me").click()
    expect(two.page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
    # One more success, one more rotation (the view redraws every 250 ms).
    two.page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=refresh-count]').textContent) >= n", arg=before + 1
    )
    # and tab one goes on with the token tab two's refresh rotated in
    one.go("#/playground")
    one.page.get_by_test_id("call-me").click()
    expect(one.page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
    expect(one.toasts()).to_have_count(0)
    expect(two.toasts()).to_have_count(0)

    one.page.get_by_test_id("logout").click()  # R7: signing out in one tab signs out the other
    expect(two.route_view()).to_have_attribute("data-route", "login")
    assert host.api_calls == []


REFUSE_STORAGE = """Object.defineProperty(window, "localStorage", {
    get() { throw new DOMException("storage is blocked", "SecurityError"); },
});"""


def test_where_storage_is_refused_the_demo_api_still_serves_from_memory(
    static_host: HostFactory, server: ServerProcess
) -> None:
    host = static_host("auto")
    host.context.add_init_script(REFUSE_STORAGE)
    tab = host.tab(server.url)
    warnings: list[str] = []
    tab.page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    tab.boot("#/playground")
    expect(tab.page.get_by_test_id("demo-banner")).to_be_visible()
    tab.sign_in("demo", "demo")
    expect(tab.route_view()).to_have_attribute("data-route", "playground")
    tab.page.get_by_test_id("call-me").click()
    expect(tab.page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
    assert any("localStorage is not available" in w for w in warnings)
