"""examples/minimal/: a few lines of PyScript that install the tokensession wheel with micropip,
from our origin, sign in and show ``GET me`` (contract section 9)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import BOOT_TIMEOUT_MS
from tests.serverproc import ROOT, ServerProcess


def wheel_urls(origin: str) -> list[str]:
    toml = (ROOT / "examples" / "minimal" / "pyscript.toml").read_text(encoding="utf-8")
    return [origin + "/" + name.removeprefix("../../") for name in re.findall(r'"(\.\./\.\./wheels/[^"]+)"', toml)]


@pytest.fixture
def fresh_page(browser: Browser) -> Iterator[Page]:
    # A context of its own: an empty cache, so every file comes over the wire and is seen.
    ctx = browser.new_context(locale="en-US")
    yield ctx.new_page()
    ctx.close()


def open_example(page: Page, server: ServerProcess) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(server.url + "examples/minimal/")
    expect(page.locator("html")).to_have_attribute("data-app-state", "ready", timeout=BOOT_TIMEOUT_MS)
    return seen


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_minimal_example_installs_the_wheel_from_our_origin_and_shows_me(
    fresh_page: Page, server: ServerProcess
) -> None:
    seen = open_example(fresh_page, server)
    expect(fresh_page.get_by_test_id("me")).to_contain_text("'username': 'demo'")
    expect(fresh_page.get_by_test_id("me")).to_contain_text("answered by the API")
    origin = origin_of(server.url)
    for wheel in wheel_urls(origin):
        assert wheel in seen, f"{wheel} was not fetched"
    assert any(url.endswith("/api/v1/me") for url in seen)
    foreign = [url for url in seen if not url.startswith((origin + "/", "data:", "blob:"))]
    assert foreign == []  # no CDN, no PyPI: every request stays on our origin


def test_minimal_example_falls_back_to_the_in_page_demo_api_when_no_api_answers(
    fresh_page: Page, server: ServerProcess
) -> None:
    def static_host(route: Route) -> None:
        route.fulfill(status=404, content_type="text/html", body="<h1>404</h1>")  # as GitHub Pages answers

    api_calls: list[str] = []
    fresh_page.on("request", lambda r: api_calls.append(r.url) if "/api/v1/" in r.url else None)
    fresh_page.route("**/api/v1/**", static_host)
    open_example(fresh_page, server)
    expect(fresh_page.get_by_test_id("me")).to_contain_text("'username': 'demo'")
    expect(fresh_page.get_by_test_id("me")).to_contain_text("answered by the in-page demo API")
    assert [url.rsplit("/", 1)[-1] for url in api_calls] == ["info"]  # one probe, then the page answers
