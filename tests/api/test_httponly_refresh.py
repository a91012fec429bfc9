"""The HttpOnly refresh mode (contract section 4), through ``AuthApi.handle`` with a fake clock,
on each store (``[sqlite]``, ``[pg]``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from authapi.app import AuthApi
from authapi.asgi import asgi_app
from authapi.messages import ApiRequest, ApiResponse

from .conftest import FakeClock, FakeSleep, SharedBook, make_api

pytestmark = pytest.mark.anyio

ROOT = "/api/v1"
CSRF = {"x-requested-with": "pyauth"}


@pytest.fixture
async def api(
    tmp_path: Path, store_db: Path | str, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> AsyncIterator[AuthApi]:
    """On each store: the rotation, the grace and logout go through it as in the default mode."""
    api = make_api(tmp_path, password_book, clock, fake_sleep, httponly_refresh=True, db_path=store_db)
    yield api
    await api.aclose()


def attributes(set_cookie: str) -> tuple[str, str, dict[str, str]]:
    """``(name, value, {attribute (lower-case): value})`` of a ``Set-Cookie`` value."""
    first, *rest = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    attrs = {}
    for part in rest:
        key, _, arg = part.partition("=")
        attrs[key.lower()] = arg
    return name, value, attrs


def cookie_of(resp: ApiResponse) -> str:
    name, value, _ = attributes(resp.headers["set-cookie"])
    assert name == "refresh_token"
    return value


async def login(api: AuthApi, *, secure: bool = False, root: str = ROOT) -> ApiResponse:
    body = json.dumps({"username": "demo", "password": "demo"}).encode()
    return await api.handle(ApiRequest("POST", "login", body=body, root=root, secure=secure))


async def call(api: AuthApi, path: str, token: str | None, *, csrf: bool = True, body: bytes = b"") -> ApiResponse:
    headers = dict(CSRF) if csrf else {}
    if token is not None:
        headers["cookie"] = f"theme=dark; refresh_token={token}"
    return await api.handle(ApiRequest("POST", path, headers=headers, body=body, root=ROOT))


async def test_login_sets_an_httponly_strict_cookie_on_the_api_path(api: AuthApi) -> None:
    resp = await login(api)
    assert resp.status == 200
    name, value, attrs = attributes(resp.headers["set-cookie"])
    assert name == "refresh_token" and len(value) >= 43
    assert attrs["path"] == "/api/v1"
    assert "httponly" in attrs
    assert attrs["samesite"] == "Strict"
    assert attrs["max-age"] == "3600"  # the family's lifetime, as refresh_expires_in says
    assert "secure" not in attrs  # plain http: a Secure cookie would never come back


async def test_cookie_is_secure_on_https_and_follows_a_base_path(api: AuthApi) -> None:
    resp = await login(api, secure=True, root="/repo/api/v1")
    _, _, attrs = attributes(resp.headers["set-cookie"])
    assert "secure" in attrs
    assert attrs["path"] == "/repo/api/v1"


async def test_login_and_refresh_bodies_carry_no_refresh_token(api: AuthApi, clock: FakeClock) -> None:
    first = await login(api)
    assert set(first.json()) == {"access_token", "token_type", "expires_in", "refresh_expires_in"}
    clock.advance(5)
    second = await call(api, "refresh_token", cookie_of(first))
    assert second.status == 200
    assert "refresh_token" not in second.json()
    assert second.json()["refresh_expires_in"] == 3600 - 5
    assert cookie_of(second) not in ("", cookie_of(first))  # rotated, in the cookie
    assert cookie_of(first) not in second.body.decode()


@pytest.mark.parametrize("path", ["refresh_token", "logout"])
@pytest.mark.parametrize("headers", [{}, {"x-requested-with": "XMLHttpRequest"}])
async def test_refresh_and_logout_without_the_header_are_403(api: AuthApi, path: str, headers: dict[str, str]) -> None:
    token = cookie_of(await login(api))
    resp = await api.handle(
        ApiRequest("POST", path, headers={**headers, "cookie": f"refresh_token={token}"}, root=ROOT)
    )
    assert resp.status == 403
    assert set(resp.json()) == {"error", "message"}
    assert "set-cookie" not in resp.headers  # refused before anything happened
    assert (await call(api, "refresh_token", token)).status == 200  # the token was not spent


async def test_rotation_grace_and_reuse_go_through_the_cookie(api: AuthApi, clock: FakeClock) -> None:
    t0 = cookie_of(await login(api))
    t1 = cookie_of(await call(api, "refresh_token", t0))
    clock.advance(9)
    retry = await call(api, "refresh_token", t0)  # a tab that lost the answer, inside the grace
    assert retry.status == 200
    assert cookie_of(retry) == t1
    clock.advance(2)
    reuse = await call(api, "refresh_token", t0)  # after the grace: a replay revokes the family
    assert reuse.status == 401
    assert reuse.json()["error"] == "invalid_token"
    assert cookie_of(reuse) == ""  # and the dead token is cleared
    assert (await call(api, "refresh_token", t1)).status == 401


async def test_refresh_without_a_cookie_is_401(api: AuthApi) -> None:
    resp = await call(api, "refresh_token", None)
    assert resp.status == 401
    assert resp.json()["error"] == "invalid_token"


async def test_a_body_token_is_not_taken_in_httponly_mode(api: AuthApi) -> None:
    token = cookie_of(await login(api))
    body = json.dumps({"refresh_token": token}).encode()
    assert (await call(api, "refresh_token", None, body=body)).status == 401


async def test_logout_revokes_the_family_and_clears_the_cookie(api: AuthApi) -> None:
    token = cookie_of(await login(api))
    resp = await call(api, "logout", token)
    assert resp.status == 204
    name, value, attrs = attributes(resp.headers["set-cookie"])
    assert (name, value, attrs["max-age"], attrs["path"]) == ("refresh_token", "", "0", "/api/v1")
    assert "httponly" in attrs
    assert (await call(api, "refresh_token", token)).status == 401


async def test_logout_without_a_cookie_is_still_204(api: AuthApi) -> None:
    resp = await call(api, "logout", None)
    assert resp.status == 204
    assert cookie_of(resp) == ""


async def test_the_default_mode_sets_no_cookie(
    tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    plain = make_api(tmp_path / "plain", password_book, clock, fake_sleep)
    try:
        resp = await login(plain)
        assert "set-cookie" not in resp.headers
        assert "refresh_token" in resp.json()
    finally:
        plain.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_the_asgi_adapter_passes_the_mount_path_scheme_and_cookie(api: AuthApi, scheme: str) -> None:
    app = Starlette(routes=[Mount("/repo/api/v1", app=asgi_app(api))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://test/repo/api/v1/") as http:
        resp = await http.post("login", json={"username": "demo", "password": "demo"})
        _, token, attrs = attributes(resp.headers["set-cookie"])
        assert attrs["path"] == "/repo/api/v1"
        assert ("secure" in attrs) is (scheme == "https")
        headers = {"cookie": f"refresh_token={token}", **CSRF}
        refreshed = await http.post("refresh_token", headers=headers)
        assert refreshed.status_code == 200
        assert cookie_of(ApiResponse(200, dict(refreshed.headers))) != token
