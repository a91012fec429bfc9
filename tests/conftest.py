"""Suite-wide: browser tests run last.

Playwright's sync API keeps an event loop running in this thread from the first
browser test to the end of the session, after which ``asyncio.run`` (and the
anyio tests) cannot start their own loop. Running every CPython test first
keeps both kinds in one pytest run, as the README's test command promises.
"""

from __future__ import annotations

import pytest

# Where the Playwright tests live: tests/browser (serve.py) and tests/static (the static build).
BROWSER_DIRS = ("/tests/browser/", "/tests/static/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: any(d in str(item.path).replace("\\", "/") for d in BROWSER_DIRS))
