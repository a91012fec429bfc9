"""Two drivers (and the requests auth), one behaviour: the same scenarios through each.

The async :class:`ApiClient`, the ``urllib`` :class:`SessionHandler` and the
``requests`` :class:`SessionAuth` all run :mod:`tokensession.flow`; this suite
checks from the outside that they also agree on what the flows leave to them:
the order in which a session ends, what a broken hook does, how many refresh
calls go out. Each talks to the reference API in-process, on a fake clock.
"""

from __future__ import annotations

import asyncio
import email.message
import io
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from authapi.app import AuthApi, Settings
from authapi.inpage import transport_handler
from authapi.messages import ApiRequest, ApiResponse
from tests.unit.conftest import FakeClock, PlainPasswords
from tokensession.client import ApiClient
from tokensession.cookies import MemoryCookieJar, Session
from tokensession.errors import EndReason, HttpStatusError, SessionExpired
from tokensession.flow import Hooks
from tokensession.requests_auth import SessionAuth
from tokensession.transport import InMemoryTransport
from tokensession.urllib_handler import SessionHandler

HOST = "http://api.test/"
BASE = HOST + "api/v1/"
Rewrite = Callable[[ApiRequest], ApiRequest]


class Rig:
    """The reference API on a fake clock, and what reached it: ``seen`` = (path, authorization)."""

    name = "?"

    def __init__(self, access_ttl: int = 60, window: float = 30, rewrite: Rewrite = lambda r: r) -> None:
        self.clock = FakeClock()
        settings = Settings(access_ttl=access_ttl, users=[("demo", "demo")], db_path=":memory:")
        self.api = AuthApi.open(settings, clock=self.clock.seconds, passwords=PlainPasswords({"demo": "demo"}))
        self.loop = asyncio.new_event_loop()
        self.rewrite = rewrite
        self.seen: list[tuple[str, str | None]] = []
        self.jar = MemoryCookieJar(self.clock)
        self.window = window
        self.ended: list[EndReason] = []
        self.refreshed: list[Session] = []

    async def handle(self, call: Any) -> ApiResponse:
        self.seen.append((call.path, dict(call.headers).get("authorization")))
        return await self.api.handle(self.rewrite(call))

    def answer(self, method: str, url: str, headers: dict[str, str], body: bytes) -> ApiResponse:
        path, _, query = url.removeprefix(BASE).partition("?")
        call = ApiRequest(method, path, query, {k.lower(): v for k, v in headers.items()}, body)
        return self.loop.run_until_complete(self.handle(call))

    def calls(self, path: str) -> list[str | None]:
        return [auth for p, auth in self.seen if p == path]

    def wire_hooks(self) -> None:
        self.hooks.on_session_end.append(self.ended.append)
        self.hooks.on_refresh.append(self.refreshed.append)

    def close(self) -> None:
        self.loop.close()
        self.api.close()

    # what each driver implements
    hooks: Hooks

    def login(self) -> Session:
        raise NotImplementedError

    def get(self, path: str) -> int:
        """Status of ``GET path``; ``SessionExpired`` goes through."""
        raise NotImplementedError

    def logout(self) -> bool:
        raise NotImplementedError


class AsyncRig(Rig):
    name = "async"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        settings = type("S", (), {"refresh_window_seconds": self.window, "timeout_ms": 10000})()
        self.client = ApiClient(settings, InMemoryTransport(transport_handler(self.handle)), self.jar, self.clock)
        self.hooks = self.client.hooks
        self.wire_hooks()

    def run(self, coro: Any) -> Any:
        try:
            return self.loop.run_until_complete(coro)
        finally:
            self.loop.run_until_complete(self.client.settle())  # background refresh / logout done

    def login(self) -> Session:
        result: Session = self.run(self.client.login("demo", "demo"))
        return result

    def get(self, path: str) -> int:
        try:
            return int(self.run(self.client.get(path)).status)
        except HttpStatusError as exc:
            return exc.status

    def logout(self) -> bool:
        done = self.client.logout()  # from sync code: the logout call goes to the remembered loop
        self.loop.run_until_complete(self.client.settle())
        return done


class InProcessHTTP(urllib.request.HTTPHandler):
    def __init__(self, rig: Rig) -> None:
        super().__init__()
        self.rig = rig

    def http_open(self, req: urllib.request.Request) -> Any:
        data = req.data if isinstance(req.data, bytes) else b""
        answer = self.rig.answer(req.get_method(), req.full_url, dict(req.header_items()), data)
        msg = email.message.Message()
        for k, v in answer.headers.items():
            msg[k] = v
        response = urllib.response.addinfourl(io.BytesIO(answer.body), msg, req.full_url, answer.status)
        response.msg = "answer"  # type: ignore[attr-defined]  # HTTPErrorProcessor reads it
        return response


class UrllibRig(Rig):
    name = "urllib"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handler = SessionHandler(BASE, self.jar, self.clock, refresh_window_seconds=self.window)
        self.hooks = self.handler.hooks
        self.opener = urllib.request.build_opener(self.handler, InProcessHTTP(self))
        self.wire_hooks()

    def login(self) -> Session:
        return self.handler.login("demo", "demo")

    def get(self, path: str) -> int:
        try:
            with self.opener.open(BASE + path) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def logout(self) -> bool:
        return self.handler.logout()


class InProcessAdapter(requests.adapters.BaseAdapter):
    def __init__(self, rig: Rig) -> None:
        super().__init__()
        self.rig = rig

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body.encode() if isinstance(request.body, str) else request.body or b""
        answer = self.rig.answer(request.method or "GET", request.url or "", dict(request.headers), body)
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response.raw = io.BytesIO(answer.body)
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[attr-defined]  # as HTTPAdapter.build_response does
        return response

    def close(self) -> None:
        pass


def in_process_session(rig: Rig) -> requests.Session:
    http = requests.Session()
    http.mount(HOST, InProcessAdapter(rig))
    return http


class RequestsRig(Rig):
    name = "requests"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auth = SessionAuth(
            BASE, self.jar, self.clock, refresh_window_seconds=self.window, session=in_process_session(self)
        )
        self.hooks = self.auth.hooks
        self.http = in_process_session(self)
        self.http.auth = self.auth
        self.wire_hooks()

    def login(self) -> Session:
        return self.auth.login("demo", "demo")

    def get(self, path: str) -> int:
        return self.http.get(BASE + path).status_code

    def logout(self) -> bool:
        return self.auth.logout()


DRIVERS = [AsyncRig, UrllibRig, RequestsRig]


@pytest.fixture(params=DRIVERS, ids=lambda cls: cls.name)
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def build(**kwargs: Any) -> Rig:
        rig: Rig = request.param(**kwargs)
        made.append(rig)
        return rig

    yield build
    for rig in made:
        rig.close()


@pytest.fixture
def rig(make: Callable[..., Rig]) -> Rig:
    return make()


def test_the_token_goes_out_on_api_calls(rig: Rig) -> None:
    session = rig.login()
    assert rig.get("me") == 200
    assert rig.calls("me") == [f"Bearer {session.access_token}"]
    assert rig.calls("login") == [None]


def test_R1_a_success_inside_the_window_refreshes_exactly_once(rig: Rig) -> None:
    first = rig.login()
    assert rig.get("me") == 200
    assert rig.calls("refresh_token") == []  # 60 s left, window 30 s: no refresh yet
    rig.clock.advance(31)
    assert rig.get("me") == 200
    assert rig.calls("refresh_token") == [None]  # one refresh, with no bearer on it
    assert len(rig.refreshed) == 1
    now = rig.jar.read()
    assert first.access_token is not None and first.access_token not in now
    assert rig.get("me") == 200
    assert rig.calls("me")[-1] == f"Bearer {rig.refreshed[0].access_token}"
    assert len(rig.calls("refresh_token")) == 1  # the fresh token is outside the window again


def test_R3_an_expired_token_is_never_sent(rig: Rig) -> None:
    session = rig.login()
    rig.clock.advance(61)
    with pytest.raises(SessionExpired) as info:
        rig.get("me")
    assert info.value.reason == "expired"
    assert rig.calls("me") == []
    assert rig.ended == ["expired"]
    assert len(rig.calls("logout")) == 1
    assert rig.jar.read() == ""
    assert session.refresh_token is not None


def test_R4_a_401_refreshes_once_and_retries_once(rig: Rig) -> None:
    rig.login()
    rig.jar.write("access_token=garbage; Path=/")
    assert rig.get("me") == 200
    assert rig.calls("me")[0] == "Bearer garbage"
    assert len(rig.calls("me")) == 2
    assert rig.calls("me")[1] == f"Bearer {rig.refreshed[0].access_token}"
    assert len(rig.calls("refresh_token")) == 1
    assert rig.ended == []


def test_R4_a_second_401_ends_the_session_without_a_loop(make: Callable[..., Rig]) -> None:
    rig = make(rewrite=lambda r: ApiRequest("GET", "me") if r.path == "me" else r)  # "me" always 401
    rig.login()
    with pytest.raises(SessionExpired) as info:
        rig.get("me")
    assert info.value.reason == "unauthorized"
    assert len(rig.calls("me")) == 2
    assert len(rig.calls("refresh_token")) == 1
    assert rig.ended == ["unauthorized"]


def test_R4_a_refused_refresh_ends_the_session(rig: Rig) -> None:
    rig.login()
    rig.jar.write("access_token=garbage; Path=/")
    rig.jar.write("refresh_token=unknown; Path=/")
    with pytest.raises(SessionExpired) as info:
        rig.get("me")
    assert info.value.reason == "refresh_rejected"
    assert rig.ended == ["refresh_rejected"]
    assert len(rig.calls("me")) == 1
    assert rig.jar.read() == ""


def test_session_end_order_cookies_then_hooks_then_logout_call(rig: Rig) -> None:
    rig.login()
    at_hook: list[tuple[str, int]] = []
    rig.hooks.on_session_end.insert(0, lambda _reason: at_hook.append((rig.jar.read(), len(rig.calls("logout")))))
    assert rig.logout() is True
    assert at_hook == [("", 0)]  # the hook saw the cookies gone and no logout call yet
    assert len(rig.calls("logout")) == 1
    assert rig.ended == ["logout"]


def test_a_broken_hook_is_logged_and_the_session_still_ends(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.login()

    def broken(_reason: EndReason) -> None:
        raise RuntimeError("a bug in the app's hook")

    rig.hooks.on_session_end.insert(0, broken)
    rig.clock.advance(61)
    with pytest.raises(SessionExpired):
        rig.get("me")
    assert rig.ended == ["expired"]  # the hooks after the broken one still ran
    assert len(rig.calls("logout")) == 1
    assert "a bug in the app's hook" in caplog.text


def test_the_end_is_announced_once_per_session(rig: Rig) -> None:
    rig.login()
    assert rig.logout() is True
    assert rig.logout() is False
    assert rig.ended == ["logout"]
    assert len(rig.calls("logout")) == 1
