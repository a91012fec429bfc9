"""The ``fetch`` transport's timeout (R6): whatever delay it is given, a failure is one of the
library's errors, never a bare ``JsException`` out of ``AbortSignal.timeout``."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import BootedPage

SEND = """
import json
from js import document
from tokensession.browser.fetch import FetchTransport
from tokensession.errors import ApiError
from tokensession.http import Request

results = {}
transport = FetchTransport("api/v1")
for label, timeout_ms in [("none", None), ("default", 10000), ("negative", -5), ("huge", 1e300)]:
    try:
        answer = await transport.send(Request.build("GET", "status/418", timeout_ms=timeout_ms))
        results[label] = answer.status
    except ApiError as exc:
        results[label] = type(exc).__name__
    except Exception as exc:
        results[label] = f"escaped: {type(exc).__name__}"
document.body.dataset.fetched = json.dumps(results)
"""


def test_a_delay_the_browser_refuses_is_a_network_error_not_a_js_exception(app: BootedPage) -> None:
    app.run_python(SEND)
    body = app.page.locator("body")
    expect(body).to_have_attribute("data-fetched", re.compile(".+"))
    results = json.loads(body.get_attribute("data-fetched") or "{}")
    app.page.evaluate("() => { delete document.body.dataset.fetched }")
    assert results == {
        "none": 418,
        "default": 418,
        "negative": "NetworkError",
        "huge": "NetworkError",
    }
