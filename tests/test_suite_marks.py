"""The suite's own rules (tests/conftest.py): what drives Chromium is marked ``browser``, and
runs after every CPython test of its worker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from tests.conftest import browser_module
from tests.serverproc import ROOT

# pytest-playwright's fixtures: a test that asks for one drives Chromium wherever it lives.
PLAYWRIGHT_FIXTURES = frozenset({"playwright", "browser_type", "browser", "context", "page", "new_context"})


def drives_chromium(item: pytest.Item) -> bool:
    return browser_module(item) is not None or bool(PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ())))


def test_every_test_that_drives_chromium_is_marked_browser(request: pytest.FixtureRequest) -> None:
    # This session's tests: under -m "not browser", any left here that drives Chromium fails.
    unmarked = [i.nodeid for i in request.session.items if drives_chromium(i) and not i.get_closest_marker("browser")]
    assert unmarked == []


def test_browser_tests_come_after_the_others(request: pytest.FixtureRequest) -> None:
    kinds = [browser_module(i) is not None for i in request.session.items]
    assert kinds == sorted(kinds)


def test_the_browser_folders_are_told_apart(request: pytest.FixtureRequest) -> None:  # the checks above can fail
    assert browser_module(request.node) is None and not drives_chromium(request.node)
    for path, module in [
        ("tests/browser/test_tabs.py", "tests/browser/test_tabs.py"),
        ("tests/static/test_site.py", "tests/static/test_site.py"),
        ("tests/unit/test_tabs.py", None),
    ]:
        item = cast(pytest.Item, SimpleNamespace(path=ROOT / path, fixturenames=[]))
        assert browser_module(item) == module
    elsewhere = cast(pytest.Item, SimpleNamespace(path=ROOT / "tests/test_x.py", fixturenames=["app", "page"]))
    assert drives_chromium(elsewhere)
