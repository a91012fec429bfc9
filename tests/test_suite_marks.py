"""The suite's own rules (tests/conftest.py): what drives Chromium is marked ``browser``, and
runs after every CPython test of its worker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from tests.conftest import browser_module
from tests.serverproc import ROOT


def uses_playwright(item: pytest.Item) -> bool:
    """Whether a fixture this test asks for (or one they ask for...) is pytest-playwright's.
    By definition, not by name: the unit tests have a ``page`` fixture of their own."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # a doctest
        return False
    seen: set[str] = set()
    todo = list(info.argnames)
    while todo:
        name = todo.pop()
        defs = info.name2fixturedefs.get(name)
        if name in seen or not defs:
            continue
        seen.add(name)
        fixture = defs[-1]  # the one that applies to this test
        if getattr(fixture.func, "__module__", "").startswith("pytest_playwright"):
            return True
        todo.extend(fixture.argnames)
    return False


def drives_chromium(item: pytest.Item) -> bool:
    return browser_module(item) is not None or uses_playwright(item)


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
    assert not uses_playwright(request.node)


def test_a_playwright_fixture_is_told_from_one_of_the_same_name(request: pytest.FixtureRequest) -> None:
    # tests/unit/test_app.py has a ``page`` of its own; a test here asking for Playwright's would count.
    unit = [i for i in request.session.items if i.nodeid.startswith("tests/unit/test_app.py::")]
    browser = [i for i in request.session.items if i.nodeid.startswith("tests/browser/test_boot.py::")]
    if not unit or not browser:
        pytest.skip("needs tests/unit/test_app.py and tests/browser/test_boot.py in this session")
    assert not any(uses_playwright(i) for i in unit)
    assert all(uses_playwright(i) for i in browser)
