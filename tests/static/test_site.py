"""The built site (the default runtime, MicroPython) from a dumb static server under /demo-repo/
(issue 8, contract section 9); the Pyodide build's own: test_pyodide_site.py.

Each test is a first visit in a fresh browser context: what a new user of the
GitHub Pages demo gets. None needs the API: see test_demo_site.py for the
in-page demo API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from tests.browser.conftest import BootedPage
from tests.static.conftest import Site
from tests.static.netlog import NetworkLog

pytestmark = pytest.mark.browser

# Issue 8: a first visit from a host that compresses nothing moves at most 1.1x what
# serve.py (gzip) moved: 12.2 MB. Bytes as transferred: a size, not a timing.
FIRST_VISIT_BUDGET = 13_500_000


def _visit(ctx: BrowserContext, site: Site, hash_: str = "#/login") -> tuple[BootedPage, NetworkLog]:
    page = ctx.new_page()
    log = NetworkLog(page)
    bp = BootedPage(page, site.url)
    bp.boot(hash_)
    return bp, log


def _config_route(site: Site, **changes: object) -> tuple[str, Callable[[Route], None]]:
    config = {**json.loads((site.out / "config.json").read_text()), **changes}
    return site.url + "config.json", lambda route: route.fulfill(json=config)


def _api_probe(url: str, site: Site) -> bool:
    return url.startswith(site.url + "api/")


def test_cookies_are_scoped_to_the_prefix(cold_context: BrowserContext, site: Site) -> None:
    # An API answering like the reference one (the cookies are the page's doing, not the API's).
    tokens = {
        "access_token": "a.b.c",
        "refresh_token": "r" * 43,
        "token_type": "Bearer",
        "expires_in": 600,
        "refresh_expires_in": 3600,
    }
    answers = {"login": tokens, "me": {"username": "demo", "demo": True}, "info": {"demo": False}}

    def api(route: Route) -> None:
        name = urlsplit(route.request.url).path.rsplit("/", 1)[-1]
        if name in answers:
            route.fulfill(json=answers[name])
        else:
            route.fulfill(status=404, json={"error": "not_found", "message": "No such API path."})

    cold_context.route(*_config_route(site, demoApi=False))
    cold_context.route(site.url + "api/v1/**", api)
    bp, _ = _visit(cold_context, site, "#/")
    assert bp.page.evaluate("location.hash") == "#/login?redirect=%2F"
    bp.sign_in()
    expect(bp.route_view()).to_have_attribute("data-route", "home")
    cookies = cold_context.cookies()
    assert {c["name"] for c in cookies} == {"access_token", "refresh_token", "utilTime", "expires_in"}
    assert {c["path"] for c in cookies} == {"/demo-repo/"}
    assert {c["sameSite"] for c in cookies} == {"Strict"}
    # Another app on the same origin (another repository of the same user) sees none of them.
    other = cold_context.new_page()
    other.goto(site.origin + "/another-repo/")
    assert other.evaluate("document.cookie") == ""


def test_with_the_demo_api_off_and_no_api_sign_in_says_it_cannot_reach_the_server(
    cold_context: BrowserContext, site: Site
) -> None:
    cold_context.route(*_config_route(site, demoApi=False))
    # Nothing answers at apiBase (a dumb server would say 501 to a POST: a response).
    cold_context.route(site.url + "api/**", lambda route: route.abort("connectionrefused"))
    bp, _ = _visit(cold_context, site)
    expect(bp.page.get_by_test_id("demo-banner")).to_have_count(0)
    bp.sign_in()
    # Said where the user looks: the form's own alert (and a toast, if the app shows one).
    expect(bp.page.get_by_role("alert").filter(has_text="Cannot reach the server").first).to_be_visible()
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    assert cold_context.cookies() == []
