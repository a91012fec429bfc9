"""``./build.sh OUT --simplejwt-base URL``: the static site signing in at a real SimpleJWT API.

The app, built once for this module with the simplejwt flags, is served by the
plain file server under ``/demo-repo/``; the API is ``tests/backends/simplejwt_api.py``
(Django, DRF, djangorestframework-simplejwt with rotation and blacklisting,
django-cors-headers) on another port of 127.0.0.1, allowing the file server's
origin. Nothing here is this project's API: R1-R7 hold against views nobody here
wrote (contract section 10). Access tokens live ``ACCESS_TTL`` seconds, well
inside the built ``refreshWindowSeconds`` (1800), so every successful call
starts a refresh (R1). What Django saw is read from its ``GET test/seen`` hook.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.backends.conftest import SCRIPT, SimpleJwtServer
from tests.browser.conftest import BootedPage
from tests.serverproc import ServerProcess
from tests.static.conftest import PREFIX, build_site
from tests.static.plainserver import PlainServer

pytestmark = pytest.mark.browser

#: Django's ACCESS_TOKEN_LIFETIME, seconds: short, so that tokens come and go within a test.
ACCESS_TTL = 8
EXPIRED = "Session expired, please sign in again"


@dataclass(frozen=True)
class Stack:
    url: str  # the app: http://127.0.0.1:PORT/demo-repo/
    config: dict[str, Any]  # the built config.json
    api: SimpleJwtServer  # Django


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The file server first (its origin is what Django allows), then Django (its URL is
    # what the build writes), then the build into the folder already served.
    root = tmp_path_factory.mktemp("simplejwt-site")
    (root / "site").mkdir()
    with PlainServer(root / "site") as files:
        origin = files.url.rstrip("/")
        args = ["--access-ttl", str(ACCESS_TTL), "--cors-origin", origin, "--test-hooks"]
        with ServerProcess(args, db=root / "db.sqlite3", script=SCRIPT, start_timeout=60) as django:
            out = root / "site" / PREFIX
            build_site(out, "--simplejwt-base", django.url + "api")
            config = json.loads((out / "config.json").read_text())
            yield Stack(files.url + PREFIX + "/", config, SimpleJwtServer(django))


@pytest.fixture(scope="module")
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def booted(context: BrowserContext, stack: Stack) -> BootedPage:
    bp = BootedPage(context.new_page(), stack.url)
    bp.boot("#/playground")
    return bp


@pytest.fixture
def tab(booted: BootedPage, context: BrowserContext) -> BootedPage:
    """The booted app, signed out, on the login page, with no toasts."""
    context.clear_cookies()
    booted.go("#/login")
    expect(booted.route_view()).to_have_attribute("data-route", "login")
    booted.settle_toasts()
    booted.console_errors.clear()
    return booted


class Seen:
    """What Django saw from now on (its ``GET test/seen`` hook): ``(method, path, status)`` rows.

    CORS preflights (``OPTIONS``, the browser's own) are left out of every list but :meth:`all`.
    """

    def __init__(self, api: SimpleJwtServer) -> None:
        self.api = api
        self.mark = len(api.seen())

    def all(self) -> list[dict[str, Any]]:
        return self.api.seen()[self.mark :]

    def requests(self) -> list[dict[str, Any]]:
        return [c for c in self.all() if c["method"] != "OPTIONS"]

    def rows(self) -> list[tuple[str, str, int]]:
        return [(c["method"], c["path"], c["status"]) for c in self.requests()]

    def calls(self, name: str) -> list[dict[str, Any]]:
        """The requests to ``api/<name>``."""
        return [c for c in self.requests() if c["path"] == "/api/" + name]

    def wait_for(self, condition: Callable[[list[tuple[str, str, int]]], bool], what: str, page: Page) -> None:
        """Poll Django until its rows satisfy ``condition`` (Playwright's waits keep the page going)."""
        deadline = time.monotonic() + 15
        while not condition(self.rows()):
            if time.monotonic() > deadline:
                pytest.fail(f"Django never saw {what}: {self.rows()}")
            page.wait_for_timeout(100)


def cookies(context: BrowserContext) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies()}


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT (read, not verified: the test only compares times)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def refused(api: SimpleJwtServer, refresh_token: str) -> bool:
    """Django refuses this refresh token now (blacklisted: 401 ``token_not_valid``)."""
    status, body = api.call("POST", "api/token/refresh/", {"refresh": refresh_token})
    return status == 401 and body.get("code") == "token_not_valid"


def sign_in_to(tab: BootedPage, route: str = "playground") -> None:
    tab.go(f"#/login?redirect=%2F{route}")
    expect(tab.route_view()).to_have_attribute("data-route", "login")
    tab.sign_in()
    expect(tab.route_view()).to_have_attribute("data-route", route)


def wait_until_seconds_left(page: Page, seconds: float) -> None:
    """Wait until the access token the cookies hold has at most ``seconds`` left (utilTime)."""
    page.wait_for_function(
        """s => { const m = document.cookie.match(/(?:^|; )utilTime=(\\d+)/);
                  return m !== null && Number(m[1]) - Date.now() <= s * 1000 }""",
        arg=seconds,
        timeout=(ACCESS_TTL + 5) * 1000,
    )


def test_the_build_points_the_page_at_the_simplejwt_views(stack: Stack) -> None:
    base = stack.api.base
    assert stack.config["auth"] == {
        "kind": "simplejwt",
        "tokenUrl": base + "token/",
        "refreshUrl": base + "token/refresh/",
        "logoutUrl": base + "token/blacklist/",
    }
    assert stack.config["apiBase"] == base.rstrip("/") and stack.config["demoApi"] is False
    # R1's window is far longer than a token's life: every successful call refreshes.
    assert stack.config["refreshWindowSeconds"] > ACCESS_TTL


def test_signing_in_lands_on_the_kept_route_with_util_time_from_the_tokens_exp(
    booted: BootedPage, context: BrowserContext, stack: Stack
) -> None:
    # The module's first page asked for #/playground with no session.
    assert booted.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    seen = Seen(stack.api)
    booted.sign_in()
    expect(booted.route_view()).to_have_attribute("data-route", "playground")
    assert booted.page.evaluate("location.hash") == "#/playground"
    expect(booted.page.get_by_test_id("demo-banner")).to_have_count(0)

    jar = cookies(context)
    assert set(jar) == {"access_token", "refresh_token", "utilTime", "expires_in"}
    exp_ms = claims(jar["access_token"])["exp"] * 1000
    # No expires_in from SimpleJWT: utilTime is the token's exp (never later), as the page's clock reads it.
    assert exp_ms - 2000 <= int(jar["utilTime"]) <= exp_ms
    assert 0 < int(jar["expires_in"]) <= ACCESS_TTL
    assert {c["path"] for c in context.cookies()} == {f"/{PREFIX}/"}
    assert seen.rows() == [("POST", "/api/token/", 200)]
    # Another origin: the browser asked Django first (CORS preflight), and Django allowed the site's.
    token_calls = [(c["method"], c["status"]) for c in seen.all() if c["path"] == "/api/token/"]
    assert token_calls == [("OPTIONS", 200), ("POST", 200)]
    expect(booted.page.get_by_test_id("refresh-count")).to_have_text("0")

    # Home asks Django's api/me (apiBase + "me") with the access token.
    booted.go("#/")
    expect(booted.page.get_by_test_id("whoami")).to_have_text("demo")
    me = seen.calls("me")
    assert [c["status"] for c in me] == [200]
    assert me[0]["authorization"] == "Bearer " + jar["access_token"]
    assert [e for e in booted.console_errors if "Content Security Policy" in e] == []


def test_an_active_user_outlives_several_access_tokens_by_rotating_refreshes(
    tab: BootedPage, context: BrowserContext, stack: Stack
) -> None:
    sign_in_to(tab)
    seen = Seen(stack.api)
    first_access = cookies(context)["access_token"]
    started = time.monotonic()
    spent: list[str] = []
    for n in range(1, 4):
        # A click late in each token's life: its success starts one refresh (R1).
        wait_until_seconds_left(tab.page, 3)
        # By now the page asks whether to stay signed in (half a short token's life before expiry).
        expect(tab.page.get_by_test_id("idle-warning")).to_be_visible()
        before = cookies(context)
        tab.page.get_by_test_id("call-me").click()
        expect(tab.page.get_by_test_id("refresh-count")).to_have_text(str(n))
        expect(tab.page.get_by_test_id("idle-warning")).to_have_count(0)  # the token it warned about is gone
        after = cookies(context)
        assert after["refresh_token"] != before["refresh_token"]  # rotated
        assert after["access_token"] != before["access_token"]
        assert int(after["utilTime"]) > int(before["utilTime"])
        spent.append(before["refresh_token"])
    # Three tokens' lives and more, signed in all along.
    assert time.monotonic() - started > 2 * (ACCESS_TTL - 3)
    assert cookies(context)["access_token"] != first_access
    expect(tab.route_view()).to_have_attribute("data-route", "playground")
    # Every refresh Django answered was accepted; nothing was refused; each spent token is dead.
    rows = seen.rows()
    assert [r for r in rows if r[1] == "/api/token/refresh/"] == [("POST", "/api/token/refresh/", 200)] * 3
    assert [r for r in rows if r[2] != 200] == []
    assert all(refused(stack.api, token) for token in spent)
    expect(tab.toasts()).to_have_count(0)

    tab.page.get_by_test_id("logout").click()
    expect(tab.route_view()).to_have_attribute("data-route", "login")


def test_an_idle_session_ends_at_expiry_with_a_toast_and_the_route_kept(
    tab: BootedPage, context: BrowserContext, stack: Stack
) -> None:
    sign_in_to(tab)
    held = cookies(context)
    seen = Seen(stack.api)
    # No call: at utilTime the page ends the session by itself (R2).
    expect(tab.toasts().filter(has_text=EXPIRED)).to_have_count(1, timeout=(ACCESS_TTL + 5) * 1000)
    assert int(time.time() * 1000) >= int(held["utilTime"]) - 1000
    expect(tab.route_view()).to_have_attribute("data-route", "login")
    assert tab.page.evaluate("location.hash") == "#/login?redirect=%2Fplayground"
    assert context.cookies() == []
    # R2 calls logout: the blacklist view, which kills the refresh token.
    seen.wait_for(lambda rows: ("POST", "/api/token/blacklist/", 200) in rows, "the blacklist call", tab.page)
    assert seen.calls("token/refresh/") == []
    assert refused(stack.api, held["refresh_token"])


def test_a_refused_access_token_is_refreshed_once_and_the_call_retried(
    tab: BootedPage, context: BrowserContext, stack: Stack
) -> None:
    sign_in_to(tab)
    tab.page.evaluate(f"document.cookie = 'access_token=not-a-jwt; path=/{PREFIX}/; samesite=strict'")
    # Chromium stores a document.cookie write a moment later: wait until the browser holds it.
    tab.wait_until(lambda: cookies(context).get("access_token") == "not-a-jwt", "the garbage cookie")
    seen = Seen(stack.api)
    tab.page.get_by_test_id("call-me").click()
    # Django said 401 to the garbage token (R4): one refresh, then the same call again, 200. The
    # retried call's success starts R1's refresh (the window is longer than a token's life).
    seen.wait_for(lambda rows: len(rows) >= 4, "the call, its refresh, its retry and R1's refresh", tab.page)
    me = seen.calls("me")
    assert me[0]["authorization"] == "Bearer not-a-jwt"
    retried_with = me[1]["authorization"].removeprefix("Bearer ")
    assert claims(retried_with)["exp"] > time.time()  # the refreshed token, a JWT of Django's
    expect(tab.page.get_by_test_id("request-log")).to_contain_text("200")
    expect(tab.toasts()).to_have_count(0)
    expect(tab.route_view()).to_have_attribute("data-route", "playground")
    # One more call, and its refresh: what came before them is all there was.
    tab.page.get_by_test_id("call-me").click()
    seen.wait_for(lambda rows: len(rows) >= 6, "the next call and its refresh", tab.page)
    assert seen.rows() == [
        ("GET", "/api/me", 401),
        ("POST", "/api/token/refresh/", 200),
        ("GET", "/api/me", 200),
        ("POST", "/api/token/refresh/", 200),
        ("GET", "/api/me", 200),
        ("POST", "/api/token/refresh/", 200),
    ]
    expect(tab.page.get_by_test_id("refresh-count")).to_have_text("3")

    tab.page.get_by_test_id("logout").click()
    expect(tab.route_view()).to_have_attribute("data-route", "login")


def test_a_path_django_does_not_have_is_a_toast_not_the_end_of_the_session(
    tab: BootedPage, context: BrowserContext, stack: Stack
) -> None:
    # The playground's status buttons call this project's status/<code>: Django has no such view.
    sign_in_to(tab)
    held = cookies(context)
    seen = Seen(stack.api)
    tab.page.get_by_test_id("status-500").click()
    expect(tab.toasts().filter(has_text="Not found: the requested resource does not exist")).to_have_count(1)
    assert seen.rows() == [("GET", "/api/status/500", 404)]  # no refresh after a failure (R1)
    expect(tab.route_view()).to_have_attribute("data-route", "playground")
    assert cookies(context) == held

    tab.page.get_by_test_id("logout").click()
    expect(tab.route_view()).to_have_attribute("data-route", "login")


def test_signing_out_blacklists_the_refresh_token_at_django(
    tab: BootedPage, context: BrowserContext, stack: Stack
) -> None:
    sign_in_to(tab)
    held = cookies(context)["refresh_token"]
    seen = Seen(stack.api)
    tab.page.get_by_test_id("logout").click()
    expect(tab.route_view()).to_have_attribute("data-route", "login")
    assert context.cookies() == []
    blacklist = ("POST", "/api/token/blacklist/", 200)
    seen.wait_for(lambda rows: blacklist in rows, "the blacklist call", tab.page)
    # The login view's probe for a demo account (GET info) is Django's 404; nothing else went out.
    assert [r for r in seen.rows() if r != ("GET", "/api/info", 404)] == [blacklist]
    assert refused(stack.api, held)


def test_two_tabs_bursting_share_one_refresh(tab: BootedPage, context: BrowserContext, stack: Stack) -> None:
    # The second tab boots first (a token lives only seconds, less than a boot on a busy
    # machine) and follows the first one's sign-in to the route it kept (R7).
    other = BootedPage(context.new_page(), stack.url)
    other.boot("#/playground")
    expect(other.route_view()).to_have_attribute("data-route", "login")
    sign_in_to(tab)
    expect(other.route_view()).to_have_attribute("data-route", "playground")
    seen = Seen(stack.api)
    # Both bursts in flight at once: Playwright holds each GET me until all 20 are out (so all go
    # with the same access token), then lets them go together. 20 successes inside R1's window,
    # in two tabs; SimpleJWT keeps no grace, so a second refresh with the spent token would be refused.
    me_url = stack.config["apiBase"] + "/me"
    held: list[Route] = []
    released: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)
        tab.wait_until(lambda: len(held) >= 20, "20 GET me in flight", timeout_ms=10_000)
        route.continue_()
        released.append(route)

    context.route(me_url, hold)
    burst = "document.querySelector('[data-testid=call-burst]').click()"
    tab.page.evaluate(burst)
    other.page.evaluate(burst)
    tab.wait_until(lambda: len(released) >= 20, "both bursts let go")
    context.unroute(me_url)
    seen.wait_for(lambda rows: rows.count(("GET", "/api/me", 200)) >= 20, "both bursts (20 GET me)", tab.page)
    seen.wait_for(lambda rows: ("POST", "/api/token/refresh/", 200) in rows, "the refresh", tab.page)
    assert [r for r in seen.rows() if r[2] != 200] == [], seen.rows()
    assert tab.route_view().get_attribute("data-route") == "playground", (seen.rows(), tab.console_errors)
    # A later call's success starts its own refresh (R1): what came before it is all the bursts did.
    tab.page.get_by_test_id("call-me").click()
    seen.wait_for(lambda rows: rows.count(("GET", "/api/me", 200)) == 21, "the next call", tab.page)
    seen.wait_for(lambda rows: rows.count(("POST", "/api/token/refresh/", 200)) >= 2, "its refresh", tab.page)
    rows = seen.rows()
    tokens = [c["authorization"][-6:] for c in seen.calls("me")]
    assert rows[-2:] == [("GET", "/api/me", 200), ("POST", "/api/token/refresh/", 200)], (rows, tokens)
    # The 20 calls of both tabs: one refresh between them, accepted; no 401, nothing refused.
    assert rows[:-2].count(("POST", "/api/token/refresh/", 200)) == 1
    assert [r for r in rows if r[2] != 200] == []
    # The 20 went out with one token; the next call with the one refresh's.
    assert len(set(tokens[:20])) == 1 and tokens[20] != tokens[0]
    expect(tab.toasts()).to_have_count(0)
    expect(other.toasts()).to_have_count(0)
    other.page.close()

    tab.page.get_by_test_id("logout").click()
    expect(tab.route_view()).to_have_attribute("data-route", "login")
