"""``requests`` under the session rules, against a real serve.py (R1, R3, R4 over sockets)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.serverproc import ServerProcess
from tokensession.cookies import MemoryCookieJar
from tokensession.errors import SessionExpired
from tokensession.requests_auth import SessionAuth


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with ServerProcess(["--access-ttl", "30"]) as srv:
        yield srv.url + "api/v1/"


class Recorder:
    """Every answer seen on a requests session: (method, path, authorization sent)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []

    def attach(self, http: requests.Session) -> requests.Session:
        http.hooks["response"].append(self.record)
        return http

    def record(self, response: requests.Response, **_kwargs: Any) -> None:
        req = response.request
        path = (req.path_url or "").split("/api/v1/", 1)[-1]
        self.seen.append((req.method or "", path, req.headers.get("Authorization")))

    def paths(self) -> list[str]:
        return [path for _method, path, _auth in self.seen]


class Rig:
    def __init__(self, base: str) -> None:
        self.base = base
        self.offset_ms = 0
        self.direct, self.user = Recorder(), Recorder()
        self.auth = SessionAuth(
            base,
            MemoryCookieJar(self.clock),
            self.clock,
            refresh_window_seconds=20,
            timeout_ms=5000,
            session=self.direct.attach(requests.Session()),
        )
        self.http = self.user.attach(requests.Session())
        self.http.auth = self.auth

    def clock(self) -> float:
        return time.time() * 1000 + self.offset_ms

    def me(self) -> requests.Response:
        return self.http.get(self.base + "me", timeout=5)

    def close(self) -> None:
        self.http.close()
        self.auth.session.close()


@pytest.fixture
def rig(base: str) -> Iterator[Rig]:
    r = Rig(base)
    yield r
    r.close()


def test_R1_one_success_inside_the_window_makes_exactly_one_refresh(rig: Rig) -> None:
    first = rig.auth.login("demo", "demo")
    assert rig.me().json()["username"] == "demo"
    assert rig.direct.paths() == ["login"]  # 30 s left, window 20 s: no refresh
    rig.offset_ms = 11_000  # 19 s left: inside the window
    assert rig.me().status_code == 200
    assert rig.direct.paths() == ["login", "refresh_token"]
    renewed = rig.auth.ctx.read()
    assert renewed.access_token != first.access_token and renewed.refresh_token != first.refresh_token
    assert rig.me().status_code == 200  # the new token has 30 s again: no second refresh
    assert rig.direct.paths().count("refresh_token") == 1
    assert rig.user.seen[-1][2] == f"Bearer {renewed.access_token}"


def test_R3_an_expired_token_is_never_sent_and_the_session_ends(rig: Rig) -> None:
    rig.auth.login("demo", "demo")
    ended: list[str] = []
    rig.auth.hooks.on_session_end.append(ended.append)
    rig.offset_ms = 31_000
    with pytest.raises(SessionExpired):
        rig.me()
    assert rig.user.seen == []  # nothing went out with the expired token
    assert ended == ["expired"]
    assert rig.direct.paths() == ["login", "logout"]
    assert rig.auth.ctx.read().is_empty


def test_R4_a_401_refreshes_once_and_the_retry_succeeds(rig: Rig) -> None:
    rig.auth.login("demo", "demo")
    rig.auth.ctx.jar.write("access_token=garbage; Path=/")
    response = rig.me()
    assert response.status_code == 200
    assert response.json()["username"] == "demo"
    assert [r.status_code for r in response.history] == [401]
    assert rig.direct.paths() == ["login", "refresh_token"]
    assert response.request.headers["Authorization"] == f"Bearer {rig.auth.ctx.read().access_token}"


def test_R4_a_refused_refresh_ends_the_session(rig: Rig) -> None:
    rig.auth.login("demo", "demo")
    rig.auth.ctx.jar.write("access_token=garbage; Path=/")
    rig.auth.ctx.jar.write("refresh_token=revoked-or-unknown; Path=/")
    with pytest.raises(SessionExpired) as info:
        rig.me()
    assert info.value.reason == "refresh_rejected"
    assert rig.direct.paths() == ["login", "refresh_token", "logout"]  # the session ends as in R2
    assert rig.auth.ctx.read().is_empty


def test_other_statuses_stay_ordinary_responses(rig: Rig) -> None:
    rig.auth.login("demo", "demo")
    response = rig.http.get(rig.base + "status/404", timeout=5)
    assert response.status_code == 404
    with pytest.raises(requests.HTTPError):
        response.raise_for_status()


def test_urls_outside_the_api_get_no_token(rig: Rig, base: str) -> None:
    rig.auth.login("demo", "demo")
    response = rig.http.get(base.removesuffix("api/v1/") + "config.json", timeout=5)
    assert response.status_code == 200
    assert "Authorization" not in response.request.headers
