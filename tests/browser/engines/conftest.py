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
def engine(engine_name: str, engine_server: ServerProcess) -> Iterator[EnginePage]:
    """The engine's browser with the app booted on ``#/login`` in its first tab."""
    page = launch(engine_name)
    try:
        page.boot(engine_server.url + "#/login")
        yield page
    finally:
        page.close()


@pytest.fixture
def ff_wk(engine: EnginePage) -> EnginePage:
    """The booted app in its first tab, signed out, on the login page, with no toasts."""
    engine.tab = 0
    engine.clear_cookies()
    engine.go("#/login")
    engine.wait_route("login")
    engine.eval("(document.getElementById('toasts').replaceChildren(), null)")
    return engine
