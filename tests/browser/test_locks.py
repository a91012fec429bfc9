"""The cross-tab refresh lock (``tokensession.browser.locks.WebLock``) when the lock manager
fails: every wait ends, and the app keeps refreshing.

``navigator.locks.request`` is replaced in the page for a few lock names: one that is
refused at once (a rejected promise, as in a sandboxed or opaque origin) and one that
never answers. The rest of the page's locks are untouched, and the original comes back
after each test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, expect

from tests.browser.conftest import BootedPage

FAULTY_LOCKS = """names => {
    const request = LockManager.prototype.request;
    navigator.locks.request = function (name, ...rest) {
        if (names.refused.includes(name))
            return Promise.reject(new DOMException('refused by the test', 'SecurityError'));
        if (names.silent.includes(name)) return new Promise(() => {});
        return request.call(this, name, ...rest);
    };
}"""

DRIVE_LOCKS = """
import asyncio, json
from js import document
from tokensession.browser.locks import WebLock
from tokensession.errors import RequestTimeout

results = {}

async def enter(lock, key):
    async def hold():
        async with lock:
            results[key] = "held"
    try:
        await asyncio.wait_for(hold(), 5)  # a hang fails the test instead of the page
    except RequestTimeout as exc:
        results[key] = f"RequestTimeout: {exc}"
    except TimeoutError:
        results[key] = "hung"

async def idle(lock, key):
    try:
        await asyncio.wait_for(lock.wait_idle(), 5)
        results[key] = "returned"
    except TimeoutError:
        results[key] = "hung"

refused = WebLock("test-refused", grant_timeout_ms=2000)
await enter(refused, "refused")
await enter(refused, "refused again")      # the local lock was given back
await idle(refused, "refused idle")
silent = WebLock("test-silent", grant_timeout_ms=300)
await enter(silent, "silent")
await enter(silent, "silent again")
await idle(silent, "silent idle")
working = WebLock("test-working", grant_timeout_ms=2000)
await enter(working, "working")
await idle(working, "working idle")
document.body.dataset.locks = json.dumps(results)
"""


@pytest.fixture
def faulty_locks(app: BootedPage) -> Iterator[list[str]]:
    """Installs the faulty ``navigator.locks.request``; yields the page's console warnings."""
    warnings: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if message.type == "warning":
            warnings.append(message.text)

    app.page.on("console", heard)
    names: dict[str, Any] = {"refused": ["test-refused", "pyapp-refresh"], "silent": ["test-silent"]}
    app.page.evaluate(FAULTY_LOCKS, names)
    yield warnings
    app.page.evaluate("() => { delete navigator.locks.request; delete document.body.dataset.locks }")
    app.page.remove_listener("console", heard)


def test_a_refused_or_silent_lock_request_never_hangs(app: BootedPage, faulty_locks: list[str]) -> None:
    app.run_python(DRIVE_LOCKS)
    expect(app.page.locator("body")).to_have_attribute("data-locks", re.compile(".+"), timeout=20_000)
    results = json.loads(app.page.locator("body").get_attribute("data-locks") or "{}")
    assert results == {
        "refused": "held",  # the in-process lock alone, this time
        "refused again": "held",
        "refused idle": "returned",
        "silent": "RequestTimeout: refresh lock not granted within 300 ms",
        "silent again": "RequestTimeout: refresh lock not granted within 300 ms",
        "silent idle": "returned",
        "working": "held",
        "working idle": "returned",
    }
    refused = [w for w in faulty_locks if "test-refused" in w]
    assert len(refused) == 1 and "refused" in refused[0]  # one warning, however often it happens
    assert not [w for w in faulty_locks if "test-working" in w]


def test_the_app_still_refreshes_when_the_lock_manager_refuses(app: BootedPage, faulty_locks: list[str]) -> None:
    app.go("#/playground")
    expect(app.route_view()).to_have_attribute("data-route", "login")
    app.sign_in()
    expect(app.route_view()).to_have_attribute("data-route", "playground")
    # Inside the refresh window (4 s of a 6 s token): a successful call refreshes (R1).
    app.page.wait_for_function(
        "() => Number((document.cookie.match(/utilTime=(\\d+)/) || [0, 0])[1]) - Date.now() < 3500",
        timeout=10_000,
    )
    app.page.get_by_test_id("call-me").click()
    expect(app.page.get_by_test_id("refresh-count")).to_have_text("1")
    expect(app.page.get_by_test_id("request-log").get_by_text("GET me → 200")).to_have_count(1)
    expect(app.toasts()).to_have_count(0)
    assert len([w for w in faulty_locks if "pyapp-refresh" in w]) == 1
