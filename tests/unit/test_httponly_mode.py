"""The HttpOnly refresh mode in the session library (contract section 4, ``"refreshCookie": "httponly"``).

The R1-R4 behaviour runs in both modes in test_client.py, test_tabs.py,
test_refresh_failures.py and test_idle_warning.py; here: what differs, and
why the policy need not know.
"""

from __future__ import annotations

import logging

import pytest

from authapi.messages import ApiRequest
from tests.unit.conftest import World, WorldFactory
from tokensession.config import NO_HTTPONLY_IN_PAGE, Config
from tokensession.cookies import (
    REFRESH_MARKER,
    MemoryCookieJar,
    RefreshCookie,
    Session,
    TokenGrant,
    grant_assignments,
    parse_cookie_header,
)
from tokensession.flow import SessionContext, login_flow
from tokensession.http import Response
from tokensession.policy import Action, SessionPolicy

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000_000


@pytest.fixture
def refresh_cookie() -> str:
    return "httponly"


def attributes(line: str) -> dict[str, str]:
    first, *rest = (part.strip() for part in line.split(";"))
    name, _, value = first.partition("=")
    found = {k.lower(): v for k, _, v in (p.partition("=") for p in rest)}
    found.update(name=name, value=value)
    return found


# -- cookies: the marker stands for the token the page cannot see -------------------------------


def test_the_marker_is_read_only_in_httponly_mode_and_a_readable_token_is_ignored() -> None:
    header = "access_token=a; utilTime=5000; refresh_token=leftover; refresh_expires_at=9000"
    httponly = Session.from_header(header, refresh_cookie="httponly")
    assert (httponly.refresh_token, httponly.refresh_marker, httponly.has_refresh_token) == (None, "9000", True)
    js = Session.from_header(header)
    assert (js.refresh_token, js.refresh_marker) == ("leftover", None)
    garbage = Session.from_header("refresh_expires_at=<script>", refresh_cookie="httponly")
    assert garbage.is_empty


def test_a_grant_without_refresh_token_writes_the_marker_and_clears_a_readable_token() -> None:
    grant = TokenGrant.from_json(
        {"access_token": "a", "expires_in": 20, "refresh_expires_in": 600}, refresh_cookie="httponly"
    )
    assert grant is not None and grant.refresh_token is None
    lines = {
        attributes(x)["name"]: attributes(x) for x in grant_assignments(grant, received_ms=T0, path="/r/", secure=True)
    }
    marker = lines[REFRESH_MARKER]
    assert marker["value"] == str(T0 + 600_000)  # when the API's cookie expires: no secret
    assert marker["max-age"] == "600" and marker["path"] == "/r/" and "secure" in marker
    assert marker["samesite"] == "Strict"
    assert lines["refresh_token"]["max-age"] == "0"  # a leftover of the js mode goes
    assert grant.session(T0) == Session("a", None, T0 + 20_000, 20, str(T0 + 600_000))


def test_js_mode_still_requires_the_refresh_token_in_the_body() -> None:
    assert TokenGrant.from_json({"access_token": "a", "expires_in": 20}) is None
    assert TokenGrant.from_json({"access_token": "a", "expires_in": 20}, refresh_cookie="httponly") is not None


# -- the policy answers the same for a token and for a marker ----------------------------------


def pair(util: int | None = T0 + 20_000) -> tuple[Session, Session]:
    return Session("acc", "ref", util, 20), Session("acc", None, util, 20, "9000")


@pytest.mark.parametrize("now", [T0, T0 + 15_000, T0 + 25_000])
@pytest.mark.parametrize("status", [200, 401, 403, 500])
def test_every_policy_row_reads_the_marker_as_a_held_refresh_token(now: int, status: int) -> None:
    policy = SessionPolicy(refresh_window_ms=10_000, idle_warning_ms=5_000)
    js, httponly = pair()
    for refreshing in (False, True):
        assert policy.before_send(now, js, "api", refreshing=refreshing) == policy.before_send(
            now, httponly, "api", refreshing=refreshing
        )
        assert policy.on_activity(now, js, refreshing=refreshing) == policy.on_activity(
            now, httponly, refreshing=refreshing
        )
        assert policy.on_tick(now, js, seen=True, refreshing=refreshing, warned=False) == policy.on_tick(
            now, httponly, seen=True, refreshing=refreshing, warned=False
        )
        kw = {"refreshing": refreshing, "retried": False}
        assert policy.after_response(now, status, "api", sent=js, current=js, **kw) == policy.after_response(
            now, status, "api", sent=httponly, current=httponly, **kw
        )
    assert policy.refresh_turn(js, js) == policy.refresh_turn(httponly, httponly) == Action.REFRESH
    gone = Session("acc", None, T0 + 20_000, 20)
    assert policy.refresh_turn(httponly, gone) == Action.END_SESSION  # marker gone: signed out meanwhile


def test_after_expiry_the_marker_keeps_it_an_r2_expiry_not_a_sign_out() -> None:
    # The access cookies vanish at utilTime; the marker lives on with the API's cookie.
    policy = SessionPolicy()
    after = Session(None, None, None, None, "9000")
    assert not after.is_empty
    assert policy.on_tick(T0 + 21_000, after, seen=True, refreshing=False, warned=False) == Action.END_SESSION


# -- the context builds the two credential calls for its mode ----------------------------------


def test_credential_calls_in_each_mode() -> None:
    jar = MemoryCookieJar(lambda: T0)
    httponly = SessionContext(jar, lambda: T0, SessionPolicy(), refresh_cookie="httponly")
    request = httponly.source.refresh_request(Session(refresh_marker="session"), timeout_ms=1000)
    assert (request.body, request.headers["x-requested-with"]) == (b"", "pyauth")
    assert "content-type" not in request.headers
    js = SessionContext(jar, lambda: T0, SessionPolicy()).source.logout_request("tok", timeout_ms=1000)
    assert js is not None
    assert js.body == b'{"refresh_token":"tok"}' and "x-requested-with" not in js.headers


@pytest.mark.parametrize(("mode", "commands"), [("js", ["Send"]), ("httponly", ["Acquire", "Send", "Release"])])
def test_a_sign_in_in_httponly_mode_holds_the_refresh_lock(mode: RefreshCookie, commands: list[str]) -> None:
    # The browser keeps the last refresh cookie set: no other tab's refresh answer may land on a sign-in.
    ctx = SessionContext(MemoryCookieJar(lambda: T0), lambda: T0, SessionPolicy(), refresh_cookie=mode)
    flow = login_flow(ctx, "demo", "demo")
    seen = [type(next(flow)).__name__]
    answer = Response(200, body=b'{"access_token":"a","refresh_token":"r","expires_in":20}')
    try:
        while True:
            command = flow.send(answer if seen[-1] == "Send" else None)
            seen.append(type(command).__name__)
    except StopIteration:
        pass
    assert seen == commands


def test_a_body_token_in_httponly_mode_is_not_kept_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    jar = MemoryCookieJar(lambda: T0)
    ctx = SessionContext(jar, lambda: T0, SessionPolicy(), refresh_cookie="httponly")
    body = b'{"access_token":"a","refresh_token":"r","expires_in":20}'
    with caplog.at_level(logging.WARNING, logger="tokensession"):
        grant = ctx.grant(Response(200, body=body))
    assert grant is not None and grant.refresh_token is None
    ctx.store(grant)
    assert "refresh_token" not in parse_cookie_header(jar.read())
    assert "not kept" in caplog.text


# -- end to end over the in-memory transport ---------------------------------------------------


async def test_refresh_rotates_the_api_cookie_and_the_page_never_holds_it(world: World) -> None:
    await world.login()
    assert world.transport.cookies is not None
    first = parse_cookie_header(world.transport.cookies.read())["refresh_token"]
    await world.client.refresh()
    second = parse_cookie_header(world.transport.cookies.read())["refresh_token"]
    assert second != first
    page = world.jar.read()
    assert first not in page and second not in page
    assert all(first not in r.body.decode() for r in world.transport.sent)  # never in a body


async def test_r2_expiry_logs_out_with_the_cookie_and_the_api_clears_it(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=1)
    await world.login()
    assert world.transport.cookies is not None
    token = parse_cookie_header(world.transport.cookies.read())["refresh_token"]
    world.clock.advance(21)
    assert world.client.check_expiry() is True
    await world.client.settle()
    assert world.ended == ["expired"]
    [logout] = world.sent("logout")
    assert logout.headers["x-requested-with"] == "pyauth" and logout.body == b""
    assert "refresh_token" not in parse_cookie_header(world.transport.cookies.read())
    assert world.jar.read() == ""  # marker cleared with the rest
    replay = ApiRequest(
        "POST", "refresh_token", headers={"x-requested-with": "pyauth", "cookie": f"refresh_token={token}"}
    )
    assert (await world.api.handle(replay)).status == 401  # the family is revoked


async def test_every_tab_knows_the_refresh_tokens_expiry_from_the_marker(world: World) -> None:
    from tokensession.client import ApiClient

    await world.login()
    expected = world.clock() + 86_400_000  # refresh_ttl of make_world
    other_tab = ApiClient(world.client.config, world.transport, world.jar, world.clock, refresh_cookie="httponly")
    assert other_tab.refresh_expires_at_ms() == world.client.refresh_expires_at_ms() == expected


# -- the in-page demo API cannot do it ---------------------------------------------------------


def test_an_api_in_the_page_falls_back_to_js_and_says_why() -> None:
    config, why = Config(refresh_cookie="httponly").for_api_in_page()
    assert config.refresh_cookie == "js" and why == NO_HTTPONLY_IN_PAGE
    assert "cannot set an HttpOnly cookie" in why
    assert Config().for_api_in_page() == (Config(), None)


@pytest.mark.parametrize(
    ("value", "mode", "problems"),
    [("httponly", "httponly", 0), ("js", "js", 0), ("HttpOnly", "js", 1), (True, "js", 1)],
)
def test_config_refresh_cookie(value: object, mode: str, problems: int) -> None:
    config, found = Config.from_dict({"refreshCookie": value})
    assert config.refresh_cookie == mode
    assert len(found) == problems
