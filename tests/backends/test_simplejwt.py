"""The simplejwt kind against a real djangorestframework-simplejwt API (tests/backends/simplejwt_api.py),
through the library's drivers: the ``urllib`` handler, the ``requests`` auth and the async client.

The API rotates refresh tokens and blacklists the spent ones; its access tokens live
``ACCESS_TTL`` seconds. Each test moves the client's clock and the server's together
(``world.advance``) instead of sleeping, and reads what the server saw (``world.calls``).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import pytest

pytest.importorskip("rest_framework_simplejwt", reason="pip install -r requirements-dev.txt (Django, simplejwt)")

import httpx
import requests

from tests.backends.conftest import ACCESS_TTL, PAGE_ORIGIN, SimpleJwtServer, World
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.cookies import MemoryCookieJar, Session, parse_cookie_header
from tokensession.errors import NetworkError, RequestTimeout, SessionExpired, UnauthorizedError
from tokensession.http import Request, Response
from tokensession.requests_auth import SessionAuth
from tokensession.sources import SimpleJwtSource, jwt_claims
from tokensession.urllib_handler import SessionHandler

#: Refresh when at most this much of an access token is left (R1): half its life.
WINDOW = ACCESS_TTL / 2
#: A step of an active user: brings a fresh token inside the window, never past its end.
STEP = ACCESS_TTL * 0.6


class Driver(Protocol):
    """One synchronous front end of the library, as these tests use it."""

    jar: MemoryCookieJar
    ended: list[str]

    def login(self, username: str, password: str) -> Session: ...
    def me(self) -> Any: ...
    def logout(self) -> bool: ...
    def session(self) -> Session: ...


class UrllibDriver:
    def __init__(self, server: SimpleJwtServer, world: World) -> None:
        self.base = server.base
        self.jar = MemoryCookieJar(world.clock_ms)
        source = SimpleJwtSource(*server.token_urls)
        self.handler = SessionHandler(
            server.base, self.jar, world.clock_ms, refresh_window_seconds=WINDOW, timeout_ms=10000, source=source
        )
        self.ended: list[str] = []
        self.handler.hooks.on_session_end.append(self.ended.append)
        self.opener = urllib.request.build_opener(self.handler)

    def login(self, username: str, password: str) -> Session:
        return self.handler.login(username, password)

    def me(self) -> Any:
        with self.opener.open(self.base + "me") as answer:
            return json.load(answer)

    def logout(self) -> bool:
        return self.handler.logout()

    def session(self) -> Session:
        return self.handler.ctx.read()


class RequestsDriver:
    def __init__(self, server: SimpleJwtServer, world: World) -> None:
        self.base = server.base
        self.jar = MemoryCookieJar(world.clock_ms)
        source = SimpleJwtSource(*server.token_urls)
        self.auth = SessionAuth(
            server.base, self.jar, world.clock_ms, refresh_window_seconds=WINDOW, timeout_ms=10000, source=source
        )
        self.ended: list[str] = []
        self.auth.hooks.on_session_end.append(self.ended.append)
        self.http = requests.Session()
        self.http.auth = self.auth

    def login(self, username: str, password: str) -> Session:
        return self.auth.login(username, password)

    def me(self) -> Any:
        answer = self.http.get(self.base + "me", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def logout(self) -> bool:
        return self.auth.logout()

    def session(self) -> Session:
        return self.auth.ctx.read()

    def close(self) -> None:
        self.http.close()
        self.auth.session.close()


@pytest.fixture(params=["urllib", "requests"])
def driver(request: pytest.FixtureRequest, simplejwt: SimpleJwtServer, world: World) -> Iterator[Driver]:
    if request.param == "urllib":
        yield UrllibDriver(simplejwt, world)
    else:
        made = RequestsDriver(simplejwt, world)
        yield made
        made.close()


def refused_refresh(server: SimpleJwtServer, refresh_token: str | None) -> Any:
    """What the API answers when ``refresh_token`` is presented at its refresh view."""
    status, body = server.call("POST", "api/token/refresh/", {"refresh": refresh_token})
    assert status == 401, body
    return body


# -- the synchronous drivers --------------------------------------------------------------------


def test_sign_in_stores_the_four_cookies_with_util_time_from_the_access_tokens_exp(driver: Driver) -> None:
    session = driver.login("demo", "demo")
    cookies = parse_cookie_header(driver.jar.read())
    assert set(cookies) == {"access_token", "refresh_token", "utilTime", "expires_in"}
    assert (cookies["access_token"], cookies["refresh_token"]) == (session.access_token, session.refresh_token)
    claims = jwt_claims(cookies["access_token"])
    assert claims is not None and claims["token_type"] == "access"
    # The server's lifetime (SimpleJWT counts it from the refresh token's whole second)...
    assert ACCESS_TTL - 1 <= claims["exp"] - claims["iat"] <= ACCESS_TTL
    util_time, expires_in = int(cookies["utilTime"]), int(cookies["expires_in"])
    assert 0 <= claims["exp"] * 1000 - util_time < 1000  # ...read from exp, never after it
    assert ACCESS_TTL - 3 <= expires_in < ACCESS_TTL  # whole seconds left when the answer came


def test_a_wrong_password_is_refused_and_stores_nothing(driver: Driver, world: World) -> None:
    with pytest.raises(UnauthorizedError):
        driver.login("demo", "wrong")
    assert driver.jar.read() == "" and driver.ended == []
    assert [call["status"] for call in world.calls("token/")] == [401]


def test_a_success_inside_the_window_refreshes_once_and_the_spent_refresh_token_is_blacklisted(
    driver: Driver, simplejwt: SimpleJwtServer, world: World
) -> None:
    first = driver.login("demo", "demo")
    assert driver.me() == {"username": "demo"}
    assert world.calls("token/refresh/") == []  # outside the window: no refresh
    world.advance(STEP)
    assert driver.me() == {"username": "demo"}
    refreshes = world.calls("token/refresh/")
    assert [(call["status"], call["authorization"]) for call in refreshes] == [(200, None)]  # once (R1)
    second = driver.session()
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token  # rotated
    assert driver.me() == {"username": "demo"}  # the new token is the one sent now...
    assert world.calls("me")[-1]["authorization"] == f"Bearer {second.access_token}"
    assert len(world.calls("token/refresh/")) == 1  # ...a fresh one, outside the window again
    assert driver.ended == []
    assert refused_refresh(simplejwt, first.refresh_token) == {
        "detail": "Token is blacklisted",
        "code": "token_not_valid",
    }


def test_an_active_user_outlives_several_access_tokens_with_no_refresh_refused(
    driver: Driver, simplejwt: SimpleJwtServer, world: World
) -> None:
    first = driver.login("demo", "demo")
    steps = 6
    for _ in range(steps):
        world.advance(STEP)
        assert driver.me() == {"username": "demo"}
    assert steps * STEP > 3 * ACCESS_TTL  # at least three lifetimes went by, for both clocks
    assert [call["status"] for call in world.calls("token/refresh/")] == [200] * steps
    assert {call["status"] for call in world.seen()} == {200}  # no 401 anywhere: nothing refused
    assert driver.ended == []
    # The server's clock moved too: the first access token is now refused as expired.
    status, body = simplejwt.call("GET", "api/me", headers={"authorization": f"Bearer {first.access_token}"})
    assert (status, body["messages"][0]["message"]) == (401, "Token is expired")


def test_threads_bursting_inside_the_window_share_one_refresh_and_none_is_refused(driver: Driver, world: World) -> None:
    # SimpleJWT blacklists a spent refresh token at once, with no grace: a second refresh
    # with the same token would be refused and end the session. Single flight prevents it.
    driver.login("demo", "demo")
    world.advance(STEP)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: driver.me(), range(12)))
    assert answers == [{"username": "demo"}] * 12
    assert [call["status"] for call in world.calls("token/refresh/")] == [200]
    assert {call["status"] for call in world.seen()} == {200}
    assert driver.ended == []


def test_r3_a_request_with_an_expired_token_is_never_sent(driver: Driver, world: World) -> None:
    driver.login("demo", "demo")
    world.advance(ACCESS_TTL + 1)
    with pytest.raises(SessionExpired) as info:
        driver.me()
    assert info.value.reason == "expired"
    assert world.calls("me") == []  # nothing reached the server
    assert [call["status"] for call in world.calls("token/blacklist/")] == [200]  # R2: signed out there
    assert driver.ended == ["expired"]
    assert driver.jar.read() == ""


def test_r3_holds_when_the_clients_clock_is_behind_the_servers(driver: Driver, world: World) -> None:
    world.skew_s = -30  # exp read against this clock alone would promise 30 s too many
    session = driver.login("demo", "demo")
    assert session.expires_in <= ACCESS_TTL  # never more than the server granted
    world.advance(ACCESS_TTL + 1)
    with pytest.raises(SessionExpired) as info:
        driver.me()
    assert info.value.reason == "expired"
    assert world.calls("me") == []


def test_r4_token_not_valid_refreshes_once_and_retries_once(driver: Driver, world: World) -> None:
    driver.login("demo", "demo")
    driver.jar.write("access_token=garbage; Path=/")
    assert driver.me() == {"username": "demo"}
    new = driver.session().access_token
    assert [(c["status"], c["authorization"]) for c in world.calls("me")] == [
        (401, "Bearer garbage"),  # {"code": "token_not_valid"}
        (200, f"Bearer {new}"),
    ]
    assert [call["status"] for call in world.calls("token/refresh/")] == [200]
    assert driver.ended == []


def test_sign_out_posts_the_refresh_token_to_the_blacklist_view_which_then_refuses_it(
    driver: Driver, simplejwt: SimpleJwtServer, world: World
) -> None:
    session = driver.login("demo", "demo")
    assert driver.logout() is True
    assert [call["status"] for call in world.calls("token/blacklist/")] == [200]
    assert driver.jar.read() == "" and driver.ended == ["logout"]
    assert refused_refresh(simplejwt, session.refresh_token)["code"] == "token_not_valid"


def test_a_refresh_token_blacklisted_behind_the_clients_back_ends_the_session_at_the_r1_refresh(
    driver: Driver, simplejwt: SimpleJwtServer, world: World
) -> None:
    session = driver.login("demo", "demo")
    assert simplejwt.call("POST", "api/token/blacklist/", {"refresh": session.refresh_token})[0] == 200
    world.advance(STEP)
    assert driver.me() == {"username": "demo"}  # the access token is still good: that answer stands
    assert [call["status"] for call in world.calls("token/refresh/")] == [401]  # then R1's refresh is refused
    assert driver.ended == ["refresh_rejected"]
    assert driver.jar.read() == ""
    with pytest.raises(SessionExpired):  # signed out now: the call goes out bare, and is refused
        driver.me()
    assert [call["authorization"] for call in world.calls("me")] == [f"Bearer {session.access_token}", None]


def test_a_refresh_token_blacklisted_behind_the_clients_back_ends_the_session_at_the_r4_refresh(
    driver: Driver, simplejwt: SimpleJwtServer, world: World
) -> None:
    session = driver.login("demo", "demo")
    assert simplejwt.call("POST", "api/token/blacklist/", {"refresh": session.refresh_token})[0] == 200
    driver.jar.write("access_token=garbage; Path=/")
    with pytest.raises(SessionExpired) as info:
        driver.me()
    assert info.value.reason == "refresh_rejected"
    assert [call["status"] for call in world.calls("me")] == [401]  # no retry without a new token
    assert [call["status"] for call in world.calls("token/refresh/")] == [401]
    assert driver.ended == ["refresh_rejected"] and driver.jar.read() == ""


# -- the async client over httpx --------------------------------------------------------------


class HttpxTransport:
    """The library's ``Transport`` over an ``httpx.AsyncClient``: any status is a Response."""

    def __init__(self, base: str, client: httpx.AsyncClient) -> None:
        self.base, self.client = base, client

    async def send(self, request: Request) -> Response:
        timeout = request.timeout_ms / 1000 if request.timeout_ms is not None else None
        try:
            answer = await self.client.request(
                request.method,
                request.url(self.base),
                content=request.body or None,
                headers=request.headers,
                timeout=timeout,
            )
        except httpx.TimeoutException as exc:
            raise RequestTimeout(f"no answer within {timeout} s", request=request) from exc
        except httpx.HTTPError as exc:
            raise NetworkError(str(exc), request=request) from exc
        return Response(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content)


def run_client(
    server: SimpleJwtServer, world: World, scenario: Callable[[ApiClient, MemoryCookieJar], Any]
) -> list[str]:
    """Run ``scenario(client, jar)`` on a fresh loop; returns the session ends the hooks saw."""
    ended: list[str] = []
    jar = MemoryCookieJar(world.clock_ms)

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            client = ApiClient(
                Config(refresh_window_seconds=WINDOW),
                HttpxTransport(server.base, http),
                jar,
                world.clock_ms,
                source=SimpleJwtSource(*server.token_urls),
            )
            client.hooks.on_session_end.append(ended.append)
            await scenario(client, jar)
            await client.settle()

    asyncio.run(main())
    return ended


def test_the_async_client_signs_in_refreshes_recovers_and_signs_out(simplejwt: SimpleJwtServer, world: World) -> None:
    held: dict[str, Session] = {}

    async def scenario(client: ApiClient, jar: MemoryCookieJar) -> None:
        first = held["first"] = await client.login("demo", "demo")
        claims = jwt_claims(first.access_token or "")
        assert claims is not None and 0 <= claims["exp"] * 1000 - first.util_time_ms < 1000
        for _ in range(4):  # R1 in the background, rotation, across more than two lifetimes
            world.advance(STEP)
            assert (await client.get("me")).json() == {"username": "demo"}
            await client.settle()
        jar.write("access_token=garbage; Path=/")  # R4
        assert (await client.get("me")).json() == {"username": "demo"}
        held["last"] = client.session()
        assert client.logout() is True

    assert run_client(simplejwt, world, scenario) == ["logout"]
    assert [call["status"] for call in world.calls("token/refresh/")] == [200] * 5
    assert [call["status"] for call in world.calls("me")] == [200] * 4 + [401, 200]
    assert [call["status"] for call in world.calls("token/blacklist/")] == [200]
    assert refused_refresh(simplejwt, held["first"].refresh_token)["detail"] == "Token is blacklisted"
    assert refused_refresh(simplejwt, held["last"].refresh_token)["detail"] == "Token is blacklisted"


def test_the_async_client_never_sends_an_expired_token_and_ends_on_a_blacklisted_refresh(
    simplejwt: SimpleJwtServer, world: World
) -> None:
    async def expired(client: ApiClient, jar: MemoryCookieJar) -> None:
        await client.login("demo", "demo")
        world.advance(ACCESS_TTL + 1)
        with pytest.raises(SessionExpired) as info:
            await client.get("me")
        assert info.value.reason == "expired"

    async def blacklisted(client: ApiClient, jar: MemoryCookieJar) -> None:
        session = await client.login("demo", "demo")
        assert simplejwt.call("POST", "api/token/blacklist/", {"refresh": session.refresh_token})[0] == 200
        jar.write("access_token=garbage; Path=/")
        with pytest.raises(SessionExpired) as info:
            await client.get("me")
        assert info.value.reason == "refresh_rejected"
        assert client.session().is_empty

    assert run_client(simplejwt, world, expired) == ["expired"]
    assert world.calls("me") == []
    assert run_client(simplejwt, world, blacklisted) == ["refresh_rejected"]
    assert [call["status"] for call in world.calls("me")] == [401]


# -- what a page on another origin needs ---------------------------------------------------------


def test_cors_lets_the_configured_page_send_authorization_and_json(simplejwt: SimpleJwtServer) -> None:
    def preflight(origin: str) -> httpx.Response:
        headers = {
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        }
        return httpx.options(simplejwt.base + "token/refresh/", headers=headers, timeout=10)

    allowed = preflight(PAGE_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == PAGE_ORIGIN
    assert set(allowed.headers["access-control-allow-headers"].split(", ")) >= {"authorization", "content-type"}
    assert "access-control-allow-origin" not in preflight("http://elsewhere.test").headers
