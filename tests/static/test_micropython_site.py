"""``./build.sh OUT``, on MicroPython by default (contract sections 9 and 11), from a plain file server
under ``/demo-repo/``: the app on MicroPython with the in-page demo API, and
``examples/minimal-mpy/``, which installs the library from its MicroPython zips.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import BOOT_TIMEOUT_MS, BootedPage
from tests.static.conftest import Site
from tests.static.netlog import NetworkLog

pytestmark = pytest.mark.browser

#: Issue 17's target for a first visit from a host that compresses nothing. Bytes as
#: transferred: a size, not a timing.
FIRST_VISIT_BUDGET = 1_500_000


@pytest.fixture(scope="module")
def mpy_site(site: Site) -> Site:
    """The default build: the app on MicroPython (contract section 11)."""
    assert 'data-runtime="micropython"' in (site.out / "index.html").read_text()
    return site


def test_the_app_boots_on_micropython_under_the_prefix_within_the_byte_budget(
    cold_context: BrowserContext, mpy_site: Site
) -> None:
    page = cold_context.new_page()
    log = NetworkLog(page)
    bp = BootedPage(page, mpy_site.url)
    bp.boot("#/playground")
    html = page.locator("html")
    expect(html).to_have_attribute("data-runtime", "micropython")
    expect(bp.route_view()).to_have_attribute("data-route", "login")
    assert page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    urls = log.urls()
    assert [u for u in urls if "pyodide" in u] == []  # nothing of Pyodide before it is asked for
    assert [u for u in urls if not u.startswith(mpy_site.url)] == []  # under the prefix, our origin
    moved = log.bytes_on_the_wire()
    print(f"first visit on MicroPython from a plain file server: {moved / 1e6:.2f} MB")
    assert moved <= FIRST_VISIT_BUDGET, f"{moved / 1e6:.2f} MB on a first visit"

    # No API on a static host: the in-page demo API answers, and the kept route is reached.
    bp.sign_in()
    expect(bp.route_view()).to_have_attribute("data-route", "playground")
    page.get_by_test_id("call-me").click()
    expect(page.get_by_test_id("request-log")).to_contain_text("GET me → 200")
    assert {c["name"] for c in cold_context.cookies()} == {"access_token", "refresh_token", "utilTime", "expires_in"}
    assert [e for e in bp.console_errors if not e.startswith("Failed to load resource")] == []


def test_the_requests_button_says_it_needs_a_real_api_and_starts_nothing(
    cold_context: BrowserContext, mpy_site: Site
) -> None:
    page = cold_context.new_page()
    bp = BootedPage(page, mpy_site.url)
    bp.boot("#/playground")
    bp.sign_in()
    expect(bp.route_view()).to_have_attribute("data-route", "playground")
    page.get_by_test_id("call-requests").click()
    needs = "requests needs a real API over HTTP: the demo API runs inside this page"
    expect(page.get_by_test_id("request-log")).to_contain_text(f"GET me (requests) → {needs}")
    expect(bp.toasts().filter(has_text=needs)).to_have_count(1)
    assert [u for u in bp.requests if "pyodide" in u or "requests" in u] == []  # no worker started
    expect(bp.route_view()).to_have_attribute("data-route", "playground")  # the session goes on


def test_the_minimal_micropython_example_installs_the_zips_and_shows_me(
    cold_context: BrowserContext, mpy_site: Site
) -> None:
    page = cold_context.new_page()
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(mpy_site.url + "examples/minimal-mpy/")
    expect(page.locator("html")).to_have_attribute("data-app-state", "ready", timeout=BOOT_TIMEOUT_MS)
    expect(page.get_by_test_id("me")).to_contain_text("'username': 'demo'")
    expect(page.get_by_test_id("me")).to_contain_text("answered by the in-page demo API")
    zips = [u for u in seen if u.endswith("-micropython.zip")]
    assert [u.rsplit("/", 1)[1].split("-")[0] for u in zips] == ["tokensession", "authapi"]
    assert [u for u in seen if "pyodide" in u or not u.startswith((mpy_site.url, "blob:"))] == []
