"""The page's side of the page-worker seam (tokensession.relay): what it sends, and which of the
worker's cookie writes it keeps. No network, no requests: runs under MicroPython too."""

from __future__ import annotations

from tokensession.cookies import MemoryCookieJar, TokenGrant, clear_assignments, grant_assignments
from tokensession.relay import apply_result, call_order, describe_source, source_from
from tokensession.sources import ContractSource, OidcSource, SimpleJwtSource

ME = "https://app.test/api/v1/me"
BASE = "https://app.test/api/v1/"


def page_jar(access: str = "a0", refresh: str | None = "r0", *, now: int = 1_000) -> MemoryCookieJar:
    jar = MemoryCookieJar(lambda: now)
    for line in grant_assignments(TokenGrant(access, refresh, 20, 600), received_ms=now, path="/app/"):
        jar.write(line)
    return jar


def rotated(access: str, refresh: str | None = None, *, now: int = 1_000) -> list[str]:
    return grant_assignments(TokenGrant(access, refresh, 20, 600), received_ms=now + 5_000, path="/app/")


def test_the_order_carries_the_pages_cookies_and_settings() -> None:
    jar = page_jar()
    order = call_order(jar.read(), ME, api_base=BASE, timeout_ms=2500, cookie_path="/app/", secure=True)
    assert "access_token=a0" in order["cookie"] and "refresh_token=r0" in order["cookie"]
    assert (order["url"], order["apiBase"], order["timeoutMs"]) == (ME, BASE, 2500)
    assert (order["cookiePath"], order["secure"], order["source"]) == ("/app/", True, {"kind": "contract"})


def test_the_workers_refresh_becomes_the_pages_while_the_page_has_not_moved_on() -> None:
    jar = page_jar()
    order = call_order(jar.read(), ME, api_base=BASE)
    assert apply_result({"assignments": rotated("a1", "r1")}, order, jar)
    assert "access_token=a1" in jar.read() and "refresh_token=r1" in jar.read()


def test_a_page_that_refreshed_meanwhile_keeps_its_own_tokens() -> None:
    jar = page_jar()
    order = call_order(jar.read(), ME, api_base=BASE)
    for line in rotated("a1-page", "r1-page"):  # the page's own R1 (or another tab's) came first
        jar.write(line)
    assert not apply_result({"assignments": rotated("a1-worker", "r1-worker")}, order, jar)
    assert "access_token=a1-page" in jar.read() and "refresh_token=r1-page" in jar.read()


def test_a_page_signed_out_meanwhile_is_not_signed_in_again_by_the_worker() -> None:
    jar = page_jar()
    order = call_order(jar.read(), ME, api_base=BASE)
    for line in clear_assignments(path="/app/"):
        jar.write(line)
    assert not apply_result({"assignments": rotated("a1", "r1")}, order, jar)
    assert jar.read() == ""


def test_a_session_the_worker_ended_ends_in_the_page() -> None:
    jar = page_jar()
    order = call_order(jar.read(), ME, api_base=BASE)
    assert apply_result({"assignments": clear_assignments(path="/app/")}, order, jar)
    assert jar.read() == ""


def test_in_the_httponly_mode_the_marker_tells_sessions_apart() -> None:
    jar = page_jar(refresh=None)  # the API holds the refresh token; the page has the marker
    order = call_order(jar.read(), ME, api_base=BASE, refresh_cookie="httponly")
    for line in rotated("a1-page"):
        jar.write(line)
    assert not apply_result({"assignments": rotated("a1-worker")}, order, jar)
    assert "access_token=a1-page" in jar.read()


def test_every_kind_of_source_makes_the_trip() -> None:
    jwt = source_from(describe_source(SimpleJwtSource("https://a.test/t/", "https://a.test/r/", None)))
    assert isinstance(jwt, SimpleJwtSource)
    assert (jwt.token_url, jwt.refresh_url, jwt.logout_url) == ("https://a.test/t/", "https://a.test/r/", None)
    oidc = source_from(
        describe_source(OidcSource("https://id.test/token", "app", revocation_endpoint="https://id.test/rv"))
    )
    assert isinstance(oidc, OidcSource)
    assert (oidc.token_endpoint, oidc.client_id, oidc.revocation_endpoint) == (
        "https://id.test/token",
        "app",
        "https://id.test/rv",
    )
    contract = source_from(describe_source(ContractSource("httponly")), "httponly")
    assert isinstance(contract, ContractSource) and contract.refresh_cookie == "httponly"
