"""The same policy through urllib's handler chain: in-process first, then against a real serve.py."""

from __future__ import annotations

import asyncio
import email.message
import io
import json
import time
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authapi.app import AuthApi, Settings
from authapi.messages import ApiRequest
from tests.unit.conftest import FakeClock, PlainPasswords
from tokensession.cookies import MemoryCookieJar
from tokensession.errors import SessionExpired, UnauthorizedError
from tokensession.urllib_handler import SessionHandler

BASE = "http://api.test/api/v1/"


class InProcessHTTP(urllib.request.HTTPHandler):
    """Answers ``http://api.test/api/v1/...`` from an AuthApi, without a socket."""

    def __init__(self, api: AuthApi, rewrite: Callable[[ApiRequest], ApiRequest] = lambda r: r) -> None:
        super().__init__()
        self.api, self.rewrite = api, rewrite
        self.loop = asyncio.new_event_loop()
        self.seen: list[tuple[str, str | None]] = []  # (path, authorization)

    def http_open(self, req: urllib.request.Request) -> Any:
        path, _, query = req.full_url.removeprefix(BASE).partition("?")
        headers = {k.lower(): v for k, v in req.header_items()}
        self.seen.append((path, headers.get("authorization")))
        call = self.rewrite(ApiRequest(req.get_method(), path, query, headers, req.data or b""))  # type: ignore[arg-type]
        answer = self.loop.run_until_complete(self.api.handle(call))
        msg = email.message.Message()
        for k, v in answer.headers.items():
            msg[k] = v
        response = urllib.response.addinfourl(io.BytesIO(answer.body), msg, req.full_url, answer.status)
        response.msg = "answer"  # type: ignore[attr-defined]  # HTTPErrorProcessor reads it
        return response

    def calls(self, path: str) -> list[str | None]:
        return [auth for p, auth in self.seen if p == path]


class Rig:
    def __init__(self, access_ttl: int = 60, window: float = 30, rewrite: Any = None) -> None:
        self.clock = FakeClock()
        settings = Settings(access_ttl=access_ttl, users=[("demo", "demo")], db_path=":memory:")
        self.api = AuthApi.open(settings, clock=self.clock.seconds, passwords=PlainPasswords({"demo": "demo"}))
        self.http = InProcessHTTP(self.api, rewrite or (lambda r: r))
        self.jar = MemoryCookieJar(self.clock)
        self.handler = SessionHandler(BASE, self.jar, self.clock, refresh_window_seconds=window)
        self.ended: list[str] = []
        self.handler.hooks.on_session_end.append(self.ended.append)
        self.opener = urllib.request.build_opener(self.handler, self.http)

    def get(self, path: str) -> Any:
        with self.opener.open(BASE + path) as response:
            return json.loads(response.read() or b"null")

    def close(self) -> None:
        self.http.loop.close()
        self.api.close()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


def test_token_attached_under_the_api_base_only(rig: Rig) -> None:
    session = rig.handler.login("demo", "demo")
    assert rig.get("me")["username"] == "demo"
    assert rig.http.calls("me") == [f"Bearer {session.access_token}"]
    req = rig.handler.http_request(urllib.request.Request("http://elsewhere.test/api/v1/me"))
    assert not req.has_header("Authorization")


def test_r1_refresh_inside_the_window_none_outside(rig: Rig) -> None:
    first = rig.handler.login("demo", "demo")
    rig.get("me")
    assert rig.http.calls("refresh_token") == []
    rig.clock.advance(31)
    rig.get("me")
    assert rig.http.calls("refresh_token") == [None]  # no bearer on the refresh call
    assert rig.handler.ctx.read().access_token != first.access_token


def test_r3_expired_token_is_never_sent(rig: Rig) -> None:
    rig.handler.login("demo", "demo")
    rig.clock.advance(60)
    with pytest.raises(SessionExpired):
        rig.get("me")
    assert rig.http.calls("me") == []
    assert rig.ended == ["expired"]
    assert len(rig.http.calls("logout")) == 1
    assert rig.handler.ctx.read().is_empty


def test_r4_garbage_token_refreshes_and_retries_once(rig: Rig) -> None:
    rig.handler.login("demo", "demo")
    rig.jar.write("access_token=garbage; Path=/")
    assert rig.get("me")["username"] == "demo"
    assert rig.http.calls("me")[0] == "Bearer garbage"
    assert len(rig.http.calls("me")) == 2
    assert len(rig.http.calls("refresh_token")) == 1


def test_r4_second_401_ends_the_session_without_a_loop() -> None:
    rig = Rig(rewrite=lambda r: ApiRequest("GET", "me") if r.path == "me" else r)  # "me" always 401
    try:
        rig.handler.login("demo", "demo")
        with pytest.raises(SessionExpired) as info:
            rig.get("me")
        assert info.value.reason == "unauthorized"
        assert len(rig.http.calls("me")) == 2
        assert len(rig.http.calls("refresh_token")) == 1
        assert rig.ended == ["unauthorized"]
    finally:
        rig.close()


def test_other_errors_stay_stdlib_shaped(rig: Rig) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        rig.get("status/404")
    assert info.value.code == 404


def test_bad_credentials(rig: Rig) -> None:
    with pytest.raises(UnauthorizedError):
        rig.handler.login("demo", "nope")
    assert rig.ended == []


# --- against the real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not (Path(__file__).resolve().parents[2] / "authapi" / "app.py").exists():
        pytest.skip("authapi/app.py is not there yet: no serve.py API to talk to")
    from tests.serverproc import ServerProcess

    with ServerProcess(["--access-ttl", "30"]) as srv:
        yield srv.url + "api/v1/"


def real_rig(
    base: str, offset_ms: list[int], timeout_ms: int = 2000
) -> tuple[SessionHandler, urllib.request.OpenerDirector]:
    def clock() -> float:
        return time.time() * 1000 + offset_ms[0]

    handler = SessionHandler(base, MemoryCookieJar(clock), clock, timeout_ms=timeout_ms)
    return handler, urllib.request.build_opener(handler)


def test_real_server_sign_in_refresh_and_recover(server: str) -> None:
    offset = [0]
    handler, opener = real_rig(server, offset)
    first = handler.login("demo", "demo")
    with opener.open(server + "me") as response:
        assert json.load(response)["username"] == "demo"
    second = handler.ctx.read()  # ttl 30 s < window 1800 s: that success refreshed (R1)
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    handler.ctx.jar.write("access_token=garbage; Path=/")  # R4 recovers
    with opener.open(server + "me") as response:
        assert response.status == 200
    offset[0] = 31_000  # R3: past utilTime, nothing is sent
    with pytest.raises(SessionExpired):
        opener.open(server + "me")
    assert handler.ctx.read().is_empty


def test_real_server_client_timeout(server: str) -> None:
    _, opener = real_rig(server, [0], timeout_ms=300)
    # The server would answer 200 after a minute (its cap): only the client's timeout (R6) can
    # end the call with an error, whatever the machine's load.
    with pytest.raises((TimeoutError, urllib.error.URLError)) as info:
        opener.open(server + "slow?ms=60000")
    error = info.value
    assert isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError)


def test_real_server_in_httponly_mode_with_a_cookie_processor() -> None:
    """``serve.py --httponly-refresh``: urllib's cookie jar plays the browser's part."""
    import http.cookiejar

    from tests.serverproc import ServerProcess

    with ServerProcess(["--access-ttl", "30", "--httponly-refresh"]) as srv:
        base = srv.url + "api/v1/"
        cookies = http.cookiejar.CookieJar()
        handler = SessionHandler(base, MemoryCookieJar(lambda: time.time() * 1000), refresh_cookie="httponly")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), handler)
        first = handler.login("demo", "demo")
        assert first.refresh_token is None and first.has_refresh_token
        held = {c.name: c for c in cookies}["refresh_token"]
        assert held.has_nonstandard_attr("HttpOnly") and held.path == "/api/v1"
        with opener.open(base + "me") as response:  # inside the window: R1 refreshes through the cookie
            assert json.load(response)["username"] == "demo"
        assert handler.ctx.read().access_token != first.access_token
        assert {c.name: c for c in cookies}["refresh_token"].value != held.value  # rotated
        assert handler.logout() is True
        assert "refresh_token" not in {c.name for c in cookies}  # the API cleared it
