"""``./build.sh OUT --api-base URL``: the static site with its API on another origin (CORS)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import BOOT_TIMEOUT_MS, BootedPage
from tests.serverproc import ServerProcess
from tests.static.conftest import Site, build_site

pytestmark = pytest.mark.browser


def test_a_site_whose_api_is_on_another_origin_signs_in_through_cors(cold_context: BrowserContext, site: Site) -> None:
    # The API allows the site's origin (README: "Publish your fork on GitHub Pages").
    # Tokens outlive the worker's start (Pyodide and five wheels, 10-20 s on 2 shared cores).
    with ServerProcess(["--cors-origin", site.origin, "--access-ttl", "300"]) as api:
        out = site.out.parent / "cross-origin"
        build_site(out, "--api-base", api.url + "api/v1", "--demo-api", "false")
        config = json.loads((out / "config.json").read_text())
        assert config["apiBase"] == api.url + "api/v1" and config["crossOriginApi"] is True
        api_origin = api.url.rstrip("/")
        assert f"connect-src 'self' {api_origin};" in (out / "index.html").read_text()

        bp = BootedPage(cold_context.new_page(), site.origin + "/cross-origin/")
        bp.boot("#/")
        assert bp.page.evaluate("location.hash") == "#/login?redirect=%2F"
        bp.sign_in()
        expect(bp.route_view()).to_have_attribute("data-route", "home")
        expect(bp.page.get_by_test_id("whoami")).to_have_text("demo")
        expect(bp.page.get_by_test_id("demo-banner")).to_have_count(0)

        api_calls = [u for u in bp.requests if u.startswith(api.url)]
        assert any(u.endswith("/api/v1/login") for u in api_calls), bp.requests
        # Everything else stayed on the site's origin, under its prefix.
        others = [u for u in bp.requests if urlsplit(u).scheme in ("http", "https") and not u.startswith(api.url)]
        assert all(u.startswith(site.origin + "/cross-origin/") for u in others), others
        cookies = cold_context.cookies()
        assert {c["name"] for c in cookies} == {"access_token", "refresh_token", "utilTime", "expires_in"}
        assert {(c["domain"], c["path"]) for c in cookies} == {("127.0.0.1", "/cross-origin/")}
        assert [e for e in bp.console_errors if "Content Security Policy" in e] == []

        # The playground's requests button on MicroPython (the build's default): a Pyodide worker
        # from the site, whose call goes to the API's origin under the page's session.
        assert [u for u in bp.requests if "pyodide" in u] == []
        bp.go("#/playground")
        expect(bp.route_view()).to_have_attribute("data-route", "playground")
        bp.page.get_by_test_id("call-requests").click()
        log = bp.page.get_by_test_id("request-log")
        expect(log.get_by_text("GET me (requests) → 200")).to_have_count(1, timeout=BOOT_TIMEOUT_MS)
        assert any(u.startswith(site.origin + "/cross-origin/static/vendor/pyodide-") for u in bp.requests)
        assert [e for e in bp.console_errors if "Content Security Policy" in e] == []
