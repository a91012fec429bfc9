"""Firefox ESR and WebKitGTK: one real serve.py and one booted page per engine.

``engine`` is parametrized at module scope, so pytest runs every test of a module in Firefox,
then every one in WebKit, and starts each browser and its server once. ``ff_wk`` resets what the
tests rely on (cookies, route, toasts) without reloading, like tests/browser/conftest.py's ``app``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import SERVER_ARGS
from tests.browser.engines.drivers import EnginePage, launch
from tests.serverproc import ServerProcess

ENGINES = ["firefox", "webkit"]


@pytest.fixture(scope="module", params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def engine_server(engine_name: str) -> Iterator[ServerProcess]:
    # 127.0.0.1 and plain http: serve.py's default (WebKit refuses Secure cookies on http://localhost).
    with ServerProcess(SERVER_ARGS) as srv:
        yield srv


@pytest.fixture(scope="module")
def engine_browser(engine_name: str) -> Iterator[EnginePage]:
    """The engine's browser, a fresh profile, on no page yet."""
    page = launch(engine_name)
    try:
        yield page
    finally:
        page.close()


#: What the first visit of the module's browser did: ``<html data-pyodide-*>`` and Resource
#: Timing's sizes of the snapshot's download (before anything else can load another page).
FIRST_VISIT_JS = """({
  boot: document.documentElement.dataset.pyodideBoot,
  snapshotFrom: document.documentElement.dataset.pyodideSnapshotFrom,
  snapshot: performance.getEntriesByType('resource').filter(r => r.name.endsWith('/snapshot.bin.gz'))
    .map(r => ({encoded: r.encodedBodySize, decoded: r.decodedBodySize})),
})"""


def assert_the_first_visit_restored_the_snapshot(page: EnginePage) -> None:
    """On loopback the first visit to the Pyodide page restores the snapshot in every engine.
    Firefox 153 takes zstd, so serve.py sends the snapshot zstd-encoded and the browser decodes
    it (the page cannot see how much has come); WebKitGTK 2.50 does not, and the page gunzips
    the .gz bytes itself, counted as they come."""
    first = page.first_visit
    assert first["boot"] == "snapshot", first
    assert first["snapshotFrom"] == "download"  # a first visit: nothing in Cache Storage yet
    [snapshot] = first["snapshot"]
    if page.name == "firefox":
        assert snapshot["decoded"] > 5 * snapshot["encoded"]  # zstd, decoded by the browser
    else:
        assert snapshot["decoded"] == snapshot["encoded"]  # gzip bytes, gunzipped by the page


def refresh_once_by_a_call(page: EnginePage) -> None:
    """On the playground, signed in: wait for the refresh window (tokens live 6 s; 4 s or less
    left), press "call me", and see R1's one refresh and the call's 200, on the same route."""
    assert page.text("refresh-count") == "0"
    page.wait_for(
        "Number((document.cookie.match(/utilTime=(\\d+)/) || [0, 0])[1]) - Date.now() < 3500", "the refresh window"
    )
    page.click("call-me")
    page.wait_for("document.querySelector('[data-testid=refresh-count]').textContent === '1'", "one refresh")
    page.wait_for(
        "document.querySelector('[data-testid=request-log]').textContent.includes('GET me → 200')", "GET me → 200"
    )
    assert page.eval("location.hash") == "#/playground"


@pytest.fixture(scope="module")
def engine(engine_browser: EnginePage, engine_server: ServerProcess) -> EnginePage:
    """The engine's browser with the app booted on ``#/login`` in its first tab (a first
    visit: what it did is in ``first_visit``)."""
    engine_browser.boot(engine_server.url + "#/login")
    engine_browser.first_visit = engine_browser.eval(FIRST_VISIT_JS)
    return engine_browser


@pytest.fixture
def ff_wk(engine: EnginePage) -> EnginePage:
    """The booted app in its first tab, signed out, on the login page, with no toasts (a test
    that waits for a toast's text calls ``settle_toasts`` first) and no Resource Timing entries."""
    engine.tab = 0
    engine.clear_cookies()
    engine.go("#/login")
    engine.wait_route("login")
    engine.clear_toasts()
    engine.eval("(performance.clearResourceTimings(), null)")
    return engine
