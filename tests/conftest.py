"""Suite-wide: which tests drive Chromium (marked ``browser``), and they run last.

Every test under tests/browser and tests/static drives Chromium: the hook below marks
them ``browser`` by path (a test elsewhere that launches one is marked by hand), so
``pytest -m "not browser"`` runs the rest, with no Chromium.

Playwright's sync API keeps an event loop running in this thread from the first
browser test to the end of the session, after which ``asyncio.run`` (and the
anyio tests) cannot start their own loop. Running every CPython test first
keeps both kinds in one pytest run, as the README's test command promises.

Under pytest-xdist (./test.sh runs ``-n 2``) each worker is a pytest session of its
own, with its own serve.py, Chromium and booted pages (free ports, temporary databases:
nothing shared). Tests go out one by one in collection order (``--dist load``), so a
worker never gets a CPython test after a browser one. (No ``xdist_group``: with pytest
9.2, xdist 3.8.0's ``loadgroup`` cannot rename the tests and groups nothing; one by one
also balances the two workers best, at the price of a boot per worker and mode.)
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
    # Marked as collected: before any pytest_collection_modifyitems (-m) looks.
    if browser_module(item) is not None:
        item.add_marker(pytest.mark.browser)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: browser_module(item) is not None)
