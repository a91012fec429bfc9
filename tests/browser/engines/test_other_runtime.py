"""The runtime that is not the run's (``serve.py --runtime``, contract section 11) in Firefox ESR
and WebKitGTK: boot, keyboard sign-in to the kept route, one R1 refresh, and on Pyodide the
snapshot's first visit. The full subset runs on the run's runtime (test_subset.py); these are the
paths every engine must keep on the other one too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import OTHER_RUNTIME, SERVER_ARGS
from tests.browser.engines.conftest import (
    FIRST_VISIT_JS,
    assert_the_first_visit_restored_the_snapshot,
    refresh_once_by_a_call,
)
from tests.browser.engines.drivers import EnginePage
from tests.serverproc import ServerProcess

pytestmark = [
    pytest.mark.browser,
    # Selenium 4.51 warns about its own WebKitGTK driver setup.
    pytest.mark.filterwarnings("ignore:setting remote_server_addr:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def other_server(engine_name: str) -> Iterator[ServerProcess]:
    with ServerProcess([*SERVER_ARGS, "--runtime", OTHER_RUNTIME]) as srv:
        yield srv


@pytest.fixture(scope="module")
def other(engine_browser: EnginePage, other_server: ServerProcess) -> EnginePage:
    """The engine's browser with the other runtime's app booted on ``#/playground``: its first
    visit (what it did is in ``first_visit``)."""
    engine_browser.boot(other_server.url + "#/playground")
    engine_browser.first_visit = engine_browser.eval(FIRST_VISIT_JS)
    return engine_browser


def test_the_other_runtime_signs_in_and_refreshes_once_in_every_engine(other: EnginePage) -> None:
    page = other
    assert page.eval("document.documentElement.dataset.runtime") == OTHER_RUNTIME
    page.wait_route("login")
    assert page.eval("location.hash") == "#/login?redirect=%2Fplayground"
    if OTHER_RUNTIME == "micropython":  # nothing of Pyodide on a MicroPython page
        pyodide = "performance.getEntriesByType('resource').filter(r => r.name.includes('pyodide')).length"
        assert page.eval(pyodide) == 0
    page.sign_in()
    page.wait_route("playground")
    refresh_once_by_a_call(page)


@pytest.mark.skipif(OTHER_RUNTIME != "pyodide", reason="the snapshot is Pyodide's: test_subset.py has it")
def test_first_visit_to_the_pyodide_page_on_loopback_restores_the_snapshot(other: EnginePage) -> None:
    assert_the_first_visit_restored_the_snapshot(other)
