"""The worker's side of the page-worker seam (tokensession.relay.run_order): ``requests``
under R1-R4 with the page's cookies, against a real serve.py; what it writes comes back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from tests.serverproc import ServerProcess
from tokensession.cookies import MemoryCookieJar, Session
from tokensession.relay import apply_result, call_order, run_order, run_order_json
from tokensession.requests_auth import SessionAuth


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with ServerProcess(["--access-ttl", "30"]) as srv:
        yield srv.url + "api/v1/"


def signed_in_page(base: str) -> MemoryCookieJar:
    """A page's jar with a session in it, as a sign-in in the page leaves it."""
    jar = MemoryCookieJar(lambda: time.time() * 1000)
    SessionAuth(base, jar).login("demo", "demo")
    return jar


def sent(http: requests.Session) -> list[str]:
    """Every request ``http`` sends, as "METHOD path"."""
    seen: list[str] = []
    http.hooks["response"].append(lambda r, **_kw: seen.append(f"{r.request.method} {r.request.path_url}"))
    return seen


def test_a_call_outside_the_window_answers_and_writes_nothing(base: str) -> None:
    page = signed_in_page(base)
    result = run_order(call_order(page.read(), base + "me", api_base=base, refresh_window_seconds=5))
    assert (result["status"], result["ok"], result["error"]) == (200, True, None)
    assert (result["refreshes"], result["ended"], result["assignments"]) == (0, False, [])


def test_R1_inside_the_window_the_worker_refreshes_once_and_the_page_takes_the_new_tokens(base: str) -> None:
    page = signed_in_page(base)
    before = Session.from_header(page.read())
    order = call_order(page.read(), base + "me", api_base=base, refresh_window_seconds=60)  # 30 s left: inside
    result = run_order(order)
    assert (result["status"], result["refreshes"], result["ended"]) == (200, 1, False)
    assert apply_result(result, order, page)
    after = Session.from_header(page.read())
    assert after.access_token != before.access_token and after.refresh_token != before.refresh_token
    assert (after.util_time_ms or 0) > (before.util_time_ms or 0)


def test_R4_a_rejected_token_is_refreshed_once_and_the_call_sent_again(base: str) -> None:
    page = signed_in_page(base)
    page.write("access_token=garbage; Path=/")
    order = call_order(page.read(), base + "me", api_base=base, refresh_window_seconds=5)
    result = run_order(order)
    assert (result["status"], result["refreshes"], result["ended"]) == (200, 1, False)
    assert apply_result(result, order, page)
    assert Session.from_header(page.read()).access_token not in (None, "garbage")


def test_R3_an_expired_token_ends_the_session_without_sending_the_call(base: str) -> None:
    page = signed_in_page(base)
    page.write(f"utilTime={int(time.time() * 1000) - 1000}; Path=/")
    http = requests.Session()
    seen = sent(http)
    order = call_order(page.read(), base + "me", api_base=base)
    result = run_order(order, http)
    assert (result["status"], result["error"], result["ended"]) == (None, "SessionExpired", True)
    assert seen == []  # the logout call goes through the auth's own session, never this one
    assert apply_result(result, order, page)
    assert Session.from_header(page.read()).is_empty


def test_orders_and_results_cross_as_json_text(base: str) -> None:
    page = signed_in_page(base)
    order = call_order(page.read(), base + "me", api_base=base)
    assert json.loads(run_order_json(json.dumps(order)))["status"] == 200
