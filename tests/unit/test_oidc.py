"""The sans-I/O parts of signing in at an OpenID provider (tokensession.oidc): PKCE, the
discovery document, the authorization URL, the pending sign-in, the callback, the code
exchange stepped by hand. The real provider is in tests/backends/test_oidc.py."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from tokensession.context import SessionContext
from tokensession.cookies import MemoryCookieJar
from tokensession.errors import NetworkError, SignInFailed
from tokensession.flow import Send
from tokensession.http import Response
from tokensession.oidc import (
    PENDING_MAX_AGE_MS,
    Callback,
    CodeGrant,
    Discovery,
    PendingSignIn,
    authorization_url,
    code_flow,
    parse_query,
    pkce_challenge,
    random_token,
    secure_url,
)
from tokensession.policy import SessionPolicy
from tokensession.sources import OidcSource

ISSUER = "https://id.test/realms/app"
DOC = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/jwks",
    "userinfo_endpoint": f"{ISSUER}/me",
    "revocation_endpoint": f"{ISSUER}/revoke",
    "code_challenge_methods_supported": ["plain", "S256"],
    "authorization_response_iss_parameter_supported": True,
}
PENDING = PendingSignIn("st4te", "n0nce", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "https://app.test/", "/", 0)


def test_pkce_s256_matches_the_rfc_7636_appendix_b_vector() -> None:
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_random_tokens_are_url_safe_pkce_verifiers_and_never_repeat() -> None:
    tokens = {random_token() for _ in range(50)}
    assert len(tokens) == 50
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert all(len(t) == 43 and set(t) <= allowed for t in tokens)  # RFC 7636 §4.1: 43..128 unreserved


# -- discovery ----------------------------------------------------------------------------------


def test_a_good_discovery_document_gives_the_endpoints_and_the_token_source() -> None:
    found = Discovery.from_json(DOC, ISSUER)
    assert (found.token_endpoint, found.revocation_endpoint, found.iss_parameter_supported) == (
        f"{ISSUER}/token",
        f"{ISSUER}/revoke",
        True,
    )
    source = found.source("spa")
    assert (source.token_endpoint, source.revocation_endpoint, source.client_id) == (
        f"{ISSUER}/token",
        f"{ISSUER}/revoke",
        "spa",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issuer": ISSUER + "/"}, "issuer"),  # exact match, not "the same after normalising"
        ({"issuer": "https://evil.test/realms/app"}, "issuer"),
        ({"token_endpoint": "http://id.test/token"}, "token_endpoint"),  # tokens in clear text
        ({"jwks_uri": None}, "jwks_uri"),
        ({"authorization_endpoint": 5}, "authorization_endpoint"),
        ({"userinfo_endpoint": "http://id.test/me"}, "userinfo_endpoint"),
        ({"code_challenge_methods_supported": ["plain"]}, "code_challenge_methods_supported"),
    ],
)
def test_an_unusable_discovery_document_is_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(SignInFailed) as refused:
        Discovery.from_json(dict(DOC, **change), ISSUER)
    assert (refused.value.reason, refused.value.error) == ("discovery", field)


def test_optional_endpoints_and_the_challenge_methods_may_be_absent() -> None:
    doc = {k: v for k, v in DOC.items() if k not in ("revocation_endpoint", "code_challenge_methods_supported")}
    found = Discovery.from_json(doc, ISSUER)
    assert found.revocation_endpoint is None and found.source("spa").logout_request("r", timeout_ms=1) is None


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://id.test/t", True),
        ("http://127.0.0.1:8080/t", True),
        ("http://localhost/t", True),
        ("http://[::1]:9/t", True),
        ("http://id.test/t", False),
        ("http://127.0.0.1.nip.io/t", False),
        ("http://localhost@evil.test/t", False),
        ("ftp://id.test/t", False),
        ("https://", False),
    ],
)
def test_only_https_or_loopback_http_carries_tokens(url: str, ok: bool) -> None:
    assert secure_url(url) is ok


# -- the authorization request -------------------------------------------------------------------


def test_the_authorization_url_carries_pkce_state_nonce_and_the_app_cannot_override_them() -> None:
    extra = {"state": "mine", "code_challenge_method": "plain", "prompt": "consent", "ui_locales": "zh é"}
    url = authorization_url(Discovery.from_json(DOC, ISSUER), "spa", PENDING, "openid offline_access", extra)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/auth"
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "response_type": "code",
        "client_id": "spa",
        "redirect_uri": "https://app.test/",
        "scope": "openid offline_access",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "prompt": "consent",
        "ui_locales": "zh é",
    }


@pytest.mark.parametrize("query", ["a=1&b=2", "?x=%E4%BD%A0%E5%A5%BD+y&x=2", "code=a%2Bb%3D&state=%", "e=&f=1=2", ""])
def test_the_query_parser_agrees_with_the_standard_librarys(query: str) -> None:
    expected: dict[str, str] = {}
    for name, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        expected.setdefault(name, value)
    assert parse_query(query) == expected


# -- the pending sign-in --------------------------------------------------------------------------


def test_the_pending_sign_in_survives_the_round_trip_as_json() -> None:
    pending = PendingSignIn.start(5_000, "https://app.test/", route="/playground")
    assert PendingSignIn.from_json(pending.to_json(), 5_000 + PENDING_MAX_AGE_MS) == pending
    assert len({pending.state, pending.nonce, pending.verifier}) == 3


@pytest.mark.parametrize(
    ("text", "now_ms"),
    [
        (None, 0),  # nothing kept: the callback came to a tab that did not start a sign-in
        ("", 0),
        ("{not json", 0),
        (json.dumps({"v": 1, "state": "s"}), 0),
        (PENDING.to_json().replace('"v":1', '"v":2'), 0),
        (PENDING.to_json(), PENDING_MAX_AGE_MS + 1),  # abandoned long ago
        (PENDING.to_json(), -1),  # from the future: a clock moved back, or forged
    ],
)
def test_a_missing_unreadable_or_old_pending_sign_in_is_refused(text: str | None, now_ms: int) -> None:
    with pytest.raises(SignInFailed) as refused:
        PendingSignIn.from_json(text, now_ms)
    assert refused.value.reason == "expired"


# -- the callback --------------------------------------------------------------------------------

GOOD = f"code=c0de&state=st4te&iss={ISSUER}"


@pytest.mark.parametrize(
    ("query", "iss_supported", "reason", "error"),
    [
        ("state=forged&code=c0de&iss=" + ISSUER, True, "state", None),
        ("code=c0de&iss=" + ISSUER, True, "state", None),
        ("error=access_denied&iss=" + ISSUER, True, "state", None),  # an error that is not ours says nothing
        ("code=c0de&state=st4te&iss=https://evil.test", True, "issuer", None),  # mix-up (RFC 9207)
        ("code=c0de&state=st4te", True, "issuer", None),  # the provider promised iss
        ("code=c0de&state=st4te&iss=https://evil.test", False, "issuer", None),  # sent, so checked
        (
            "error=access_denied&error_description=No+thanks&state=st4te&iss=" + ISSUER,
            True,
            "provider",
            "access_denied",
        ),
        ("state=st4te&iss=" + ISSUER, True, "provider", "invalid_request"),
    ],
)
def test_a_callback_that_is_not_this_tabs_good_answer_is_refused(
    query: str, iss_supported: bool, reason: str, error: str | None
) -> None:
    discovery = Discovery.from_json(dict(DOC, authorization_response_iss_parameter_supported=iss_supported), ISSUER)
    with pytest.raises(SignInFailed) as refused:
        Callback.parse(query).check(PENDING, discovery)
    assert (refused.value.reason, refused.value.error) == (reason, error)


def test_a_good_callback_gives_the_code_with_or_without_iss_when_not_promised() -> None:
    assert Callback.parse("?" + GOOD).check(PENDING, Discovery.from_json(DOC, ISSUER)) == "c0de"
    quiet = Discovery.from_json(dict(DOC, authorization_response_iss_parameter_supported=False), ISSUER)
    assert Callback.parse("code=c0de&state=st4te").check(PENDING, quiet) == "c0de"


def test_the_description_of_a_provider_error_is_kept_for_the_toast() -> None:
    query = f"error=access_denied&error_description=End-User+aborted&state=st4te&iss={ISSUER}"
    with pytest.raises(SignInFailed) as refused:
        Callback.parse(query).check(PENDING, Discovery.from_json(DOC, ISSUER))
    assert refused.value.description == "End-User aborted"


# -- the code exchange, stepped by hand ----------------------------------------------------------


def _ctx() -> tuple[SessionContext, OidcSource]:
    clock = lambda: 1_000_000.0  # noqa: E731
    source = OidcSource(f"{ISSUER}/token", "spa", revocation_endpoint=f"{ISSUER}/revoke")
    return SessionContext(MemoryCookieJar(clock), clock, SessionPolicy(), source=source), source


def _json(status: int, data: dict[str, object]) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps(data).encode())


def test_the_code_exchange_posts_the_verifier_and_returns_the_grant_without_storing_it() -> None:
    ctx, source = _ctx()
    flow = code_flow(ctx, source, "c0de", PENDING.verifier, PENDING.redirect_uri)
    send = next(flow)
    assert isinstance(send, Send) and not send.intercept
    assert (send.request.method, send.request.path) == ("POST", f"{ISSUER}/token")
    assert dict(parse_qsl(send.request.body.decode())) == {
        "grant_type": "authorization_code",
        "code": "c0de",
        "redirect_uri": "https://app.test/",
        "code_verifier": PENDING.verifier,
        "client_id": "spa",
    }
    tokens = {"access_token": "a", "refresh_token": "r", "expires_in": 300, "id_token": "h.c.s", "token_type": "Bearer"}
    with pytest.raises(StopIteration) as done:
        flow.send(_json(200, tokens))
    got = done.value.value
    assert isinstance(got, CodeGrant) and (got.grant.access_token, got.id_token) == ("a", "h.c.s")
    assert ctx.read().is_empty  # stored only once the ID token is checked


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (_json(400, {"error": "invalid_grant", "error_description": "grant request is invalid"}), "invalid_grant"),
        (Response(502, {}, b"<html>bad gateway</html>"), "HTTP 502"),
        (_json(200, {"access_token": "a", "refresh_token": "r", "expires_in": 300}), None),  # no id_token
        (_json(200, {"id_token": "h.c.s"}), None),  # no access token
    ],
)
def test_a_refused_or_unusable_code_exchange_is_sign_in_failed(reply: Response, error: str | None) -> None:
    ctx, source = _ctx()
    flow = code_flow(ctx, source, "c0de", PENDING.verifier, PENDING.redirect_uri)
    next(flow)
    with pytest.raises(SignInFailed) as refused:
        flow.send(reply)
    assert (refused.value.reason, refused.value.error) == ("code", error)
    assert ctx.read().is_empty


def test_a_code_exchange_that_met_no_answer_raises_the_network_error() -> None:
    ctx, source = _ctx()
    flow = code_flow(ctx, source, "c0de", PENDING.verifier, PENDING.redirect_uri)
    next(flow)
    with pytest.raises(NetworkError):
        flow.send(NetworkError("offline"))
