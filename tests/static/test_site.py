"""The built site from a dumb static server under /demo-repo/ (issue 8, contract section 9).

Each test is a first visit in a fresh browser context: what a new user of the
GitHub Pages demo gets. None needs the API: see test_demo_site.py for the
in-page demo API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Response, Route, expect

from tests.browser.conftest import BootedPage
from tests.static.conftest import PREFIX, Site
from tests.static.netlog import NetworkLog
from tests.static.plainserver import PlainServer

pytestmark = pytest.mark.browser

# Issue 8: a first visit from a host that compresses nothing moves at most 1.1x what
# serve.py (gzip) moved: 12.2 MB. Bytes as transferred: a size, not a timing.
FIRST_VISIT_BUDGET = 13_500_000
RUNTIME = "static/vendor/pyodide-314.0.7/"


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


def test_first_visit_boots_under_the_prefix_from_the_snapshot_within_the_byte_budget(
    cold_context: BrowserContext, site: Site
) -> None:
    bp, log = _visit(cold_context, site)
    expect(bp.page.locator("html")).to_have_attribute("data-pyodide-boot", "snapshot")
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    expect(bp.page.locator(".py-error")).to_have_count(0)

    urls = log.urls()
    assert any(u.endswith(RUNTIME + "snapshot.bin.gz") for u in urls)
    assert any(u.endswith(RUNTIME + "pyodide.asm.wasm.gz") for u in urls)
    # The loader answered Pyodide's own requests for the plain files from the gunzipped ones.
    raw = ("pyodide.asm.wasm", "pyodide.asm.mjs", "pyodide-lock.json", "snapshot.bin")
    assert [u for u in urls if u.endswith(tuple(RUNTIME + name for name in raw))] == []
    # Every request on the site's origin, under its prefix: nothing from a CDN, nothing from "/".
    elsewhere = [u for u in urls if not u.startswith(site.url)]
    assert elsewhere == []
    # No 404 but the API probe (there is no API on a static host), and nothing twice.
    failed = [(f.status, f.url) for f in log.fetched if (f.status or 0) >= 400 and not _api_probe(f.url, site)]
    assert failed == []
    assert [u for u in log.fetched_twice() if not _api_probe(u.split()[-1], site)] == []
    assert all(f.finished for f in log.fetched if not _api_probe(f.url, site))
    moved = log.bytes_on_the_wire()
    assert moved <= FIRST_VISIT_BUDGET, f"{moved / 1e6:.2f} MB on a first visit"
    # The meta CSP is in force and the page breaks none of it; no other error either.
    errors = [e for e in bp.console_errors if not e.startswith("Failed to load resource")]
    assert errors == []
    csp = bp.page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content") or ""
    assert "connect-src 'self'" in csp and "frame-ancestors" not in csp


def test_without_the_snapshot_it_boots_the_plain_way_downloading_each_file_once(
    cold_context: BrowserContext, site: Site
) -> None:
    cold_context.route("**/snapshot.bin.gz", lambda route: route.fulfill(status=404, body="not here"))
    bp, log = _visit(cold_context, site)
    expect(bp.page.locator("html")).to_have_attribute("data-pyodide-boot", "plain")
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    expect(bp.page.locator(".py-error")).to_have_count(0)
    # The failed snapshot attempt and the plain boot share the wasm and the stdlib.
    assert [u for u in log.fetched_twice() if not _api_probe(u.split()[-1], site)] == []
    assert [u for u in log.urls() if "/snapshot.bin" in u] == [site.url + RUNTIME + "snapshot.bin.gz"]
    assert log.bytes_on_the_wire() <= FIRST_VISIT_BUDGET - 5_000_000  # no snapshot: ~6.5 MB


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


def test_a_host_without_the_gz_copies_still_boots_from_the_plain_files(
    cold_context: BrowserContext, site: Site
) -> None:
    missing = ("pyodide.asm.wasm.gz", "pyodide.asm.mjs.gz", "pyodide-lock.json.gz")
    for name in missing:
        cold_context.route(f"**/{name}", lambda route: route.fulfill(status=404, body="not here"))
    bp, log = _visit(cold_context, site)
    expect(bp.page.locator("html")).to_have_attribute("data-pyodide-boot", "snapshot")
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    expect(bp.page.locator(".py-error")).to_have_count(0)
    urls = log.urls()
    for name in missing:
        assert urls.count(site.url + RUNTIME + name.removesuffix(".gz")) == 1, name


def test_a_host_that_labels_gz_files_as_gzip_encoded_still_boots_from_the_snapshot(
    cold_context: BrowserContext, site: Site
) -> None:
    # The browser gunzips those before the loader sees them: it must not gunzip them again.
    with PlainServer(site.out.parent, label_gzip=True) as labelling:
        page = cold_context.new_page()
        bp = BootedPage(page, labelling.url + PREFIX + "/")
        responses: list[Response] = []
        page.on("response", lambda r: responses.append(r) if r.url.endswith("snapshot.bin.gz") else None)
        bp.boot("#/login")
        expect(page.locator("html")).to_have_attribute("data-pyodide-boot", "snapshot")
        expect(bp.route_view()).to_have_attribute("data-route", "login")
        expect(page.locator(".py-error")).to_have_count(0)
        assert [r.headers.get("content-encoding") for r in responses] == ["gzip"]
