"""The app on MicroPython (``serve.py --runtime micropython``, contract section 11) in Firefox ESR
and WebKitGTK: boot, keyboard sign-in to the kept route, and one R1 refresh. The full subset
runs on the default runtime (test_subset.py); these are the paths every engine must keep on the
other one too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import SERVER_ARGS
from tests.browser.engines.drivers import EnginePage
from tests.serverproc import ServerProcess

pytestmark = [
    pytest.mark.browser,
    # Selenium 4.51 warns about its own WebKitGTK driver setup.
    pytest.mark.filterwarnings("ignore:setting remote_server_addr:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def mpy_server(engine_name: str) -> Iterator[ServerProcess]:
    with ServerProcess([*SERVER_ARGS, "--runtime", "micropython"]) as srv:
        yield srv


def test_the_micropython_app_signs_in_and_refreshes_once_in_every_engine(
    engine_browser: EnginePage, mpy_server: ServerProcess
) -> None:
    page = engine_browser
    page.boot(mpy_server.url + "#/playground")
    assert page.eval("document.documentElement.dataset.runtime") == "micropython"
    page.wait_route("login")
    assert page.eval("location.hash") == "#/login?redirect=%2Fplayground"
    assert page.eval("performance.getEntriesByType('resource').filter(r => r.name.includes('pyodide')).length") == 0
    page.sign_in()
    page.wait_route("playground")
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
