"""Each piece of ``serve_app`` alone: a tiny Starlette app wrapping just that piece."""

from __future__ import annotations

import asyncio
import gzip
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import zstandard
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

import serve_app
from serve_app import (
    CachedStatic,
    RefuseTokensInUrls,
    SecurityHeaders,
    api_not_found,
    fixed_json,
    not_found,
    package_zip,
    redirect,
    under_base_path,
    wheel_file,
)


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello", headers={"referrer-policy": "same-origin"})


class Client:
    """One request at a time to an ASGI app, in process (httpx's ``ASGITransport``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.get(url, **kwargs)

        return asyncio.run(send())


def wrapped(*middleware: Middleware) -> Client:
    return Client(Starlette(routes=[Route("/", hello)], middleware=list(middleware)))


# --- middleware -------------------------------------------------------------------------------


def test_security_headers_are_added_unless_the_response_sets_its_own() -> None:
    headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
    resp = wrapped(Middleware(SecurityHeaders, headers=headers)).get("/")
    assert resp.text == "hello"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers.get_list("referrer-policy") == ["same-origin"]


@pytest.mark.parametrize(
    "query",
    [
        "access_token=x",
        "next=" + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
        "q=" + "A" * 43,
    ],
)
def test_a_token_in_the_query_is_refused_before_the_app_sees_it(query: str) -> None:
    resp = wrapped(Middleware(RefuseTokensInUrls)).get("/?" + query)
    assert resp.status_code == 400
    assert resp.json()["error"] == "token_in_url"


def test_a_query_without_a_token_reaches_the_app() -> None:
    resp = wrapped(Middleware(RefuseTokensInUrls)).get("/?ms=3500&lang=fr")
    assert resp.status_code == 200 and resp.text == "hello"


# --- static files -----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Client:
    """A vendored runtime file in its three forms, one built here, and an app file."""
    vendor = tmp_path / "vendor" / "rt-1.0"
    vendor.mkdir(parents=True)
    body = b"export const x = 1;\n" * 200
    (vendor / "rt.mjs").write_bytes(body)
    (vendor / "rt.mjs.gz").write_bytes(gzip.compress(body))
    (vendor / "rt.mjs.zst").write_bytes(zstandard.ZstdCompressor().compress(body))
    (vendor / "snapshot.bin").write_bytes(b"\0" * 100)
    (tmp_path / "app.css").write_text("body { color: red }\n")
    return Client(Starlette(routes=[Mount("/", app=CachedStatic(directory=tmp_path))]))


def test_vendored_files_are_cached_for_a_year_and_app_files_revalidate(files: Client) -> None:
    assert files.get("/vendor/rt-1.0/rt.mjs").headers["cache-control"] == "public, max-age=31536000, immutable"
    assert files.get("/vendor/rt-1.0/snapshot.bin").headers["cache-control"] == "no-cache"  # built here
    assert files.get("/app.css").headers["cache-control"] == "no-cache"


def test_the_best_precompressed_form_the_browser_takes_is_sent(files: Client) -> None:
    raw = files.get("/vendor/rt-1.0/rt.mjs", headers={"accept-encoding": "identity"})
    zst = files.get("/vendor/rt-1.0/rt.mjs", headers={"accept-encoding": "gzip, zstd"})
    gz = files.get("/vendor/rt-1.0/rt.mjs", headers={"accept-encoding": "gzip, zstd;q=0"})
    assert "content-encoding" not in raw.headers
    assert zst.headers["content-encoding"] == "zstd" and gz.headers["content-encoding"] == "gzip"
    for resp in (zst, gz):
        assert resp.content == raw.content  # decoded by the client
        assert resp.headers["content-type"].startswith("text/javascript")
        assert resp.headers["x-decoded-length"] == str(len(raw.content))
        assert resp.headers["vary"] == "Accept-Encoding"


def test_a_gz_name_is_its_bytes_or_a_better_coding_never_gzipped_twice(files: Client) -> None:
    gz = files.get("/vendor/rt-1.0/rt.mjs.gz", headers={"accept-encoding": "gzip"})
    assert gz.headers["content-type"] == "application/gzip" and "content-encoding" not in gz.headers
    assert gzip.decompress(gz.content).startswith(b"export const x")
    zst = files.get("/vendor/rt-1.0/rt.mjs.gz", headers={"accept-encoding": "zstd"})
    assert zst.headers["content-encoding"] == "zstd"
    assert zst.content.startswith(b"export const x")


def test_a_precompressed_form_is_revalidated_by_its_etag(files: Client) -> None:
    first = files.get("/vendor/rt-1.0/rt.mjs", headers={"accept-encoding": "zstd"})
    again = files.get(
        "/vendor/rt-1.0/rt.mjs", headers={"accept-encoding": "zstd", "if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_codings_limit_what_is_offered(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "a.js").write_bytes(b"a" * 2000)
    (tmp_path / "vendor" / "a.js.zst").write_bytes(zstandard.ZstdCompressor().compress(b"a" * 2000))
    app = Starlette(routes=[Mount("/", app=CachedStatic(directory=tmp_path, codings=("gzip",)))])
    resp = Client(app).get("/vendor/a.js", headers={"accept-encoding": "zstd"})
    assert "content-encoding" not in resp.headers and resp.content == b"a" * 2000


# --- endpoints --------------------------------------------------------------------------------


def test_fixed_json_answers_its_bytes_revalidated() -> None:
    app = Starlette(routes=[Route("/config.json", partial(fixed_json, body=b'{"lang": "auto"}'))])
    resp = Client(app).get("/config.json")
    assert resp.json() == {"lang": "auto"}
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["cache-control"] == "no-cache"


def test_package_zip_answers_the_current_zip_and_304_for_its_etag() -> None:
    calls: list[int] = []

    def current() -> tuple[bytes, str]:
        calls.append(1)
        return b"PK zip", '"abc"'

    client = Client(Starlette(routes=[Route("/pyapp.zip", partial(package_zip, current=current))]))
    resp = client.get("/pyapp.zip")
    assert (resp.content, resp.headers["etag"], resp.headers["content-type"]) == (b"PK zip", '"abc"', "application/zip")
    assert client.get("/pyapp.zip", headers={"if-none-match": '"abc"'}).status_code == 304
    assert len(calls) == 2  # asked every time: the zip follows edits


class FakeWheels:
    def __init__(self, folder: Path, fail: bool = False) -> None:
        self._folder = folder
        self.fail = fail

    async def folder(self) -> Path:
        if self.fail:
            raise subprocess.CalledProcessError(1, ["build_wheels.py"])
        return self._folder


def wheel_client(wheels: FakeWheels) -> Client:
    route = Route("/wheels/{name}", partial(wheel_file, wheels=wheels))
    return Client(Starlette(routes=[route]))


def test_wheel_file_serves_a_built_wheel_with_an_etag(tmp_path: Path) -> None:
    (tmp_path / "lib-1.0-py3-none-any.whl").write_bytes(b"PK wheel")
    client = wheel_client(FakeWheels(tmp_path))
    resp = client.get("/wheels/lib-1.0-py3-none-any.whl")
    assert resp.status_code == 200 and resp.content == b"PK wheel"
    assert resp.headers["cache-control"] == "no-cache"
    again = client.get("/wheels/lib-1.0-py3-none-any.whl", headers={"if-none-match": resp.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["nope-1.0-py3-none-any.whl", "setup.py", ".hidden.whl"])
def test_wheel_file_is_404_for_anything_but_a_built_wheel(tmp_path: Path, name: str) -> None:
    (tmp_path / "setup.py").write_text("")
    (tmp_path / ".hidden.whl").write_text("")
    assert wheel_client(FakeWheels(tmp_path)).get(f"/wheels/{name}").status_code == 404


def test_wheel_file_says_what_to_run_when_the_build_fails(tmp_path: Path) -> None:
    resp = wheel_client(FakeWheels(tmp_path, fail=True)).get("/wheels/lib-1.0-py3-none-any.whl")
    assert resp.status_code == 500 and "tools/build_wheels.py" in resp.text


def test_api_not_found_is_the_apis_json_404() -> None:
    client = Client(Starlette(routes=[Route("/api/{rest:path}", api_not_found)]))
    resp = client.get("/api/v2/login")
    assert resp.status_code == 404 and resp.json()["error"] == "not_found"


def test_a_path_no_route_takes_is_the_apis_json_404_under_the_api_and_plain_elsewhere() -> None:
    # Routes match up to a newline: "status/\n0" (found by the API fuzz test) reaches no route.
    handler = partial(not_found, api_prefix="/repo/api/")
    app = Starlette(routes=[Mount("/repo/api/v1", app=Starlette(routes=[]))], exception_handlers={404: handler})
    api = Client(app).get("/repo/api/v1/status/%0A0")
    assert (api.status_code, api.json()["error"]) == (404, "not_found")
    page = Client(app).get("/repo/%0Aelse")
    assert (page.status_code, page.text) == (404, "Not Found")


def test_redirect_sends_to_its_location_with_its_status() -> None:
    app = Starlette(routes=[Route("/old", partial(redirect, location="/new/", status_code=308))])
    resp = Client(app).get("/old", follow_redirects=False)
    assert (resp.status_code, resp.headers["location"]) == (308, "/new/")


def test_under_base_path_mounts_the_routes_and_redirects_to_the_base() -> None:
    routes = under_base_path("/repo/", [Route("/", hello)])
    client = Client(Starlette(routes=routes))
    assert client.get("/repo/").text == "hello"
    bare = client.get("/repo", follow_redirects=False)
    root = client.get("/", follow_redirects=False)
    assert (bare.status_code, bare.headers["location"]) == (308, "/repo/")
    assert (root.status_code, root.headers["location"]) == (307, "/repo/")
    assert under_base_path("/", routes) is routes


def test_the_wheel_cache_fingerprint_follows_an_edit(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("x = 1\n")
    cache = serve_app.WheelCache(sources=(tmp_path,))
    try:
        before = cache.fingerprint()
        (tmp_path / "mod.py").write_text("x = 22\n")
        assert cache.fingerprint() != before
    finally:
        cache.close()


def test_the_server_gives_requests_in_flight_1_s_at_shutdown() -> None:
    """Contract section 2 wants an exit within 2 s of SIGTERM, even with a request in flight."""
    config = serve_app.server_config(Starlette())
    assert config.timeout_graceful_shutdown == 1
    assert (config.lifespan, config.proxy_headers, config.server_header) == ("off", False, False)
