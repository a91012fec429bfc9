"""The Pyodide build (``./build.sh OUT --runtime pyodide``, contract sections 9 and 11) from a dumb
static server under /demo-repo/: what only the Pyodide page has, the memory snapshot and the
gzipped runtime files, on a first visit in a fresh browser context each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Response, expect

from tests.browser.conftest import BootedPage
from tests.static.conftest import PREFIX, Site, build_site
from tests.static.plainserver import PlainServer
from tests.static.test_site import FIRST_VISIT_BUDGET, _api_probe, _visit

pytestmark = pytest.mark.browser

RUNTIME = "static/vendor/pyodide-314.0.7/"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    out: Path = tmp_path_factory.mktemp("pages-pyodide") / PREFIX
    build_site(out, "--runtime", "pyodide")
    with PlainServer(out.parent) as srv:
        yield Site(out, srv.url + PREFIX + "/", srv.url.rstrip("/"))


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
