"""``serve.py --httponly-refresh`` end to end over real HTTP (contract sections 2, 4 and 8)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.serverproc import ServerProcess

CSRF = {"X-Requested-With": "pyauth"}


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    with ServerProcess(["--httponly-refresh", "--base-path", "/repo/"]) as s:
        yield s


def test_config_json_says_httponly(srv: ServerProcess) -> None:
    assert httpx.get(srv.url + "config.json").json()["refreshCookie"] == "httponly"


def test_a_cookie_client_signs_in_refreshes_and_signs_out(srv: ServerProcess) -> None:
    # httpx's cookie jar behaves as a browser's here: it keeps the HttpOnly cookie and
    # sends it back only under its Path.
    with httpx.Client(base_url=srv.url + "api/v1/", timeout=10) as http:
        login = http.post("login", json={"username": "demo", "password": "demo"})
        assert login.status_code == 200
        assert "refresh_token" not in login.json()
        raw = login.headers["set-cookie"]
        assert "HttpOnly" in raw and "SameSite=Strict" in raw and "Path=/repo/api/v1" in raw
        assert "Secure" not in raw
        first = http.cookies["refresh_token"]

        assert http.post("refresh_token").status_code == 403  # no CSRF header
        refreshed = http.post("refresh_token", headers=CSRF)
        assert refreshed.status_code == 200
        assert "refresh_token" not in refreshed.json()
        assert http.cookies["refresh_token"] != first

        assert http.post("logout", headers=CSRF).status_code == 204
        assert "refresh_token" not in http.cookies
        assert http.post("refresh_token", headers=CSRF).status_code == 401


def test_the_page_path_never_gets_the_cookie(srv: ServerProcess) -> None:
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        http.post("api/v1/login", json={"username": "demo", "password": "demo"})
        request = http.build_request("GET", "config.json")
        assert "cookie" not in request.headers
