"""Suite-wide: which tests drive Chromium (marked ``browser``), and they run last.

Every test under tests/browser and tests/static drives Chromium: the hook below marks
them ``browser`` by path (a test elsewhere that launches one is marked by hand), so
``pytest -m "not browser"`` runs the rest in a minute or two.

Playwright's sync API keeps an event loop running in this thread from the first
browser test to the end of the session, after which ``asyncio.run`` (and the
anyio tests) cannot start their own loop. Running every CPython test first
keeps both kinds in one pytest run, as the README's test command promises.

Under pytest-xdist (./test.sh runs ``-n 2 --dist loadgroup --no-loadscope-reorder``)
each worker is a pytest session of its own, with its own serve.py, Chromium and
booted page (free ports, temporary databases: nothing shared). A browser module is
one ``xdist_group``, so its tests run on one worker, in order, over that worker's
booted page; the other tests are handed out one by one. Without the reordering,
work goes out in collection order: a worker never gets a CPython test after a
browser one.
"""

from __future__ import annotations

import pytest

# Where the Playwright tests live: tests/browser (serve.py) and tests/static (the static build).
BROWSER_DIRS = ("/tests/browser/", "/tests/static/")


def browser_module(item: pytest.Item) -> str | None:
    """The test's module path from tests/ on when it lives in a browser folder, else None."""
    path = str(item.path).replace("\\", "/")
    for folder in BROWSER_DIRS:
        if folder in path:
            return "tests/" + path.rsplit("/tests/", 1)[1]
    return None


def pytest_itemcollected(item: pytest.Item) -> None:
    # Marked as collected: before any pytest_collection_modifyitems (-m, xdist's groups) looks.
    module = browser_module(item)
    if module is not None:
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.xdist_group(module))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: browser_module(item) is not None)
