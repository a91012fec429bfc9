"""The oidc kind against a real OpenID provider (panva's oidc-provider, access tokens of 6 s):
Authorization Code with PKCE, the ID token checked against the provider's JWKS, and then
the same rules as every kind: R1 refresh with rotation, R3/R4, sign-out by revocation,
``GET me`` as the provider's userinfo. Plain CPython: ``urllib`` through
:class:`SessionHandler` and the synchronous driver; the browser half is tested elsewhere.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.backends.oidc_fixtures import *  # noqa: F403 - the oidc_provider fixture
from tests.backends.oidc_fixtures import CLIENT_ID, REDIRECT_URI, ProviderBrowser
from tests.backends.oidcproc import OidcProviderProcess
from tokensession.cookies import MemoryCookieJar, Session
from tokensession.errors import ApiError, NetworkError, SessionExpired, SignInFailed
from tokensession.flow import refresh_flow, request_flow
from tokensession.hooks import Hooks
from tokensession.http import Request, Response
from tokensession.id_token import verify_id_token
from tokensession.oidc import CodeGrant, Discovery, PendingSignIn, authorization_url, callback_flow, discovery_url
from tokensession.oidc_jwks import JwksVerifier
from tokensession.state import Event
from tokensession.sync import SyncDriver
from tokensession.urllib_handler import SessionHandler

WINDOW_S = 5  # refresh window: 1 s after sign-in (6 s tokens) no refresh is due; 2 s later one is


class MovedClock:
    """The wall clock plus an offset the test moves (the provider keeps real time)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> float:
        return time.time() * 1000 + self.offset_ms


class TokenCalls(urllib.request.BaseHandler):
    """Counts what the handler's opener sends to the token endpoint (refreshes, code exchanges)."""

    def __init__(self, token_endpoint: str) -> None:
        self.token_endpoint, self.count = token_endpoint, 0
        self._lock = threading.Lock()

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        if req.full_url == self.token_endpoint:
            with self._lock:
                self.count += 1
        return req


class App:
    """The app's side of the oidc kind, as the page does it, over urllib instead of fetch."""

    def __init__(self, provider: OidcProviderProcess, *, window_s: float = WINDOW_S) -> None:
        document = httpx.get(discovery_url(provider.issuer)).json()
        self.discovery = Discovery.from_json(document, provider.issuer)
        self.jwks = httpx.get(self.discovery.jwks_uri).json()
        self.source = self.discovery.source(CLIENT_ID)
        self.clock = MovedClock()
        self.handler = SessionHandler(
            provider.issuer + "/",
            MemoryCookieJar(self.clock),
            self.clock,
            refresh_window_seconds=window_s,
            source=self.source,
        )
        self.token_calls = TokenCalls(self.discovery.token_endpoint)
        self.opener = urllib.request.build_opener(self.handler, self.token_calls)
        self.ctx, self.driver = self.handler.ctx, self.handler.driver

    def start(self) -> tuple[PendingSignIn, str]:
        pending = PendingSignIn.start(self.clock(), REDIRECT_URI, route="/playground")
        return pending, authorization_url(self.discovery, CLIENT_ID, pending, "openid offline_access profile")

    def exchange(self, query: str, pending: PendingSignIn) -> CodeGrant:
        return self.driver.complete(callback_flow(self.ctx, self.source, query, pending, self.discovery))

    def check(self, id_token: str, nonce: str, client_id: str = CLIENT_ID) -> dict[str, Any]:
        return verify_id_token(
            id_token,
            JwksVerifier(),
            self.jwks,
            issuer=self.discovery.issuer,
            client_id=client_id,
            nonce=nonce,
            now_ms=self.clock(),
        )

    def sign_in(self, person: ProviderBrowser, login: str = "alice") -> Session:
        pending, url = self.start()
        got = self.exchange(person.sign_in(url, login), pending)
        self.check(got.id_token, pending.nonce)
        return self.ctx.store(got.grant, Event.SIGNED_IN)

    def me(self) -> dict[str, Any]:
        assert self.discovery.userinfo_endpoint is not None
        with self.opener.open(self.discovery.userinfo_endpoint) as answer:
            data: dict[str, Any] = json.load(answer)
            return data

    def refresh_directly(self, refresh_token: str) -> httpx.Response:
        """The token endpoint asked straight, as a second client holding that token would."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID}
        return httpx.post(self.discovery.token_endpoint, data=form)


@pytest.fixture
def person() -> Iterator[ProviderBrowser]:
    someone = ProviderBrowser()
    yield someone
    someone.close()


@pytest.fixture
def app(oidc_provider: OidcProviderProcess) -> App:
    return App(oidc_provider)


def counting_send(sent: list[Request]) -> Any:
    """A direct send over httpx that records what it sent (for the synchronous driver)."""

    def send(request: Request) -> Response | ApiError:
        sent.append(request)
        try:
            answer = httpx.request(request.method, request.path, headers=request.headers, content=request.body)
        except httpx.HTTPError as exc:
            return NetworkError(str(exc), request=request)
        return Response(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content)

    return send


# -- signing in ---------------------------------------------------------------------------------


def test_the_discovery_document_of_the_real_provider_is_accepted(app: App, oidc_provider: OidcProviderProcess) -> None:
    assert app.discovery.issuer == oidc_provider.issuer
    assert app.discovery.revocation_endpoint == oidc_provider.issuer + "/token/revocation"
    assert app.discovery.userinfo_endpoint == oidc_provider.issuer + "/me"
    assert app.discovery.iss_parameter_supported


def test_code_with_pkce_signs_in_and_nothing_is_stored_before_the_id_token_is_checked(
    app: App, person: ProviderBrowser
) -> None:
    pending, url = app.start()
    query = person.sign_in(url, "alice")
    assert "code=" in query and "iss=" in query
    got = app.exchange(query, pending)
    assert app.ctx.read().is_empty  # the exchange alone stores nothing
    claims = app.check(got.id_token, pending.nonce)
    assert claims["sub"] == "alice" and claims["aud"] == CLIENT_ID
    session = app.ctx.store(got.grant, Event.SIGNED_IN)
    assert session.refresh_token and session.access_token == got.grant.access_token
    assert got.grant.expires_in == 6


def test_get_me_is_the_providers_userinfo_with_the_bearer_token(app: App, person: ProviderBrowser) -> None:
    app.sign_in(person, "bob")
    assert app.me() == {"sub": "bob", "preferred_username": "bob"}
    assert app.token_calls.count == 1  # the code exchange; no refresh was due


def test_get_me_as_an_absolute_url_through_the_sync_driver_carries_the_bearer(
    app: App, person: ProviderBrowser
) -> None:
    # As the page does it: the userinfo endpoint is on another origin than the app's API, so
    # the request's path is the whole URL; the flow attaches the token all the same.
    session = app.sign_in(person, "carol")
    sent: list[Request] = []
    driver = SyncDriver(app.ctx, Hooks(), counting_send(sent))
    assert app.discovery.userinfo_endpoint is not None
    answer = driver.complete(request_flow(app.ctx, Request.build("GET", app.discovery.userinfo_endpoint)))
    assert answer.response.json()["preferred_username"] == "carol"
    assert [(r.path, r.headers["authorization"]) for r in sent] == [
        (app.discovery.userinfo_endpoint, f"Bearer {session.access_token}")
    ]


def test_a_forged_state_is_refused_without_any_token_request(app: App, person: ProviderBrowser) -> None:
    pending, url = app.start()
    query = person.sign_in(url)
    forged = query.replace(f"state={pending.state}", "state=" + "A" * len(pending.state))
    sent: list[Request] = []
    driver = SyncDriver(app.ctx, Hooks(), counting_send(sent))
    with pytest.raises(SignInFailed) as refused:
        driver.complete(callback_flow(app.ctx, app.source, forged, pending, app.discovery))
    assert refused.value.reason == "state"
    assert sent == [] and app.ctx.read().is_empty
    # The code was not spent: the real answer still signs in.
    assert driver.complete(callback_flow(app.ctx, app.source, query, pending, app.discovery)).id_token
    assert len(sent) == 1


def test_access_denied_at_the_provider_is_sign_in_failed_and_nothing_is_sent(app: App, person: ProviderBrowser) -> None:
    pending, url = app.start()
    query = person.sign_in(url, abort=True)
    with pytest.raises(SignInFailed) as refused:
        app.exchange(query, pending)
    assert (refused.value.reason, refused.value.error) == ("provider", "access_denied")
    assert app.token_calls.count == 0 and app.ctx.read().is_empty


def test_a_code_presented_twice_is_refused_as_sign_in_failed(app: App, person: ProviderBrowser) -> None:
    pending, url = app.start()
    query = person.sign_in(url)
    app.exchange(query, pending)
    with pytest.raises(SignInFailed) as refused:
        app.exchange(query, pending)
    assert (refused.value.reason, refused.value.error) == ("code", "invalid_grant")


@pytest.fixture(scope="module")
def real_id_token(oidc_provider: OidcProviderProcess) -> tuple[App, str, str]:
    person = ProviderBrowser()
    app = App(oidc_provider)
    pending, url = app.start()
    got = app.exchange(person.sign_in(url), pending)
    person.close()
    return app, got.id_token, pending.nonce


def _tamper(token: str, part: int, change: Any) -> str:
    parts = token.split(".")
    if part == 2:
        raw = bytearray(base64.urlsafe_b64decode(parts[2] + "=="))
        raw[10] ^= 1
        parts[2] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    else:
        data = json.loads(base64.urlsafe_b64decode(parts[part] + "=" * (-len(parts[part]) % 4)))
        change(data)
        parts[part] = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return ".".join(parts)


@pytest.mark.parametrize(
    ("case", "claim"),
    [
        ("wrong nonce", "nonce"),
        ("wrong audience", "aud"),
        ("tampered signature", "signature"),
        ("tampered claims", "signature"),
        ("alg none", "alg"),
        ("another key's kid", "signature"),
    ],
)
def test_a_bad_id_token_is_refused(real_id_token: tuple[App, str, str], case: str, claim: str) -> None:
    app, token, nonce = real_id_token
    client_id = CLIENT_ID
    if case == "wrong nonce":
        nonce = "not-" + nonce
    elif case == "wrong audience":
        client_id = "another-client"
    elif case == "tampered signature":
        token = _tamper(token, 2, None)
    elif case == "tampered claims":
        token = _tamper(token, 1, lambda claims: claims.update(sub="mallory"))
    elif case == "alg none":
        token = _tamper(token, 0, lambda header: header.update(alg="none"))
    else:  # the RS256 signature presented as made by the provider's ES256 key
        es_kid = next(key["kid"] for key in app.jwks["keys"] if key["kty"] == "EC")
        token = _tamper(token, 0, lambda header: header.update(alg="ES256", kid=es_kid))
    with pytest.raises(SignInFailed) as refused:
        app.check(token, nonce, client_id)
    assert (refused.value.reason, refused.value.error) == ("id_token", claim)


def test_the_untouched_id_token_passes(real_id_token: tuple[App, str, str]) -> None:  # the table above can fail
    app, token, nonce = real_id_token
    assert app.check(token, nonce)["sub"] == "alice"


# -- the session ---------------------------------------------------------------------------------


def test_r1_refresh_rotates_and_the_old_refresh_token_is_refused(app: App, person: ProviderBrowser) -> None:
    first = app.sign_in(person)
    app.clock.offset_ms += 2000  # 4 s left: inside the 5 s window
    assert app.me()["sub"] == "alice"  # answered; the R1 refresh ran inline after it
    second = app.ctx.read()
    assert app.token_calls.count == 2  # the code exchange and one refresh
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    refused = app.refresh_directly(first.refresh_token or "")
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_an_active_user_outlives_several_access_tokens_without_a_refusal(app: App, person: ProviderBrowser) -> None:
    session = app.sign_in(person)
    tokens = {session.access_token}
    for _ in range(5):  # 10 s of activity on 6 s tokens
        app.clock.offset_ms += 2000
        assert app.me()["sub"] == "alice"
        tokens.add(app.ctx.read().access_token)
    assert len(tokens) == 6 and app.token_calls.count == 6
    assert not app.ctx.read().is_empty


def test_sign_out_revokes_the_refresh_token(app: App, person: ProviderBrowser) -> None:
    session = app.sign_in(person)
    assert app.handler.logout() is True
    assert app.ctx.read().is_empty
    refused = app.refresh_directly(session.refresh_token or "")
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_an_expired_token_is_never_sent_the_session_ends_and_is_revoked(app: App, person: ProviderBrowser) -> None:
    session = app.sign_in(person)
    app.clock.offset_ms += 7000  # past utilTime, no refresh happened (R2/R3)
    with pytest.raises(SessionExpired) as ended:
        app.me()
    assert ended.value.reason == "expired" and app.ctx.read().is_empty
    assert app.refresh_directly(session.refresh_token or "").status_code == 400  # revoked at the end


def test_a_spent_refresh_token_presented_again_kills_the_whole_grant(app: App, person: ProviderBrowser) -> None:
    # The provider keeps no grace for a spent token: presenting it again revokes the grant,
    # newest tokens included. So a second refresh with the old token (two tabs or two threads
    # refreshing at once) would sign the user out: why R7's single flight matters.
    first = app.sign_in(person)
    rotated = app.driver.complete(refresh_flow(app.ctx, first))
    assert rotated.refresh_token != first.refresh_token
    assert app.refresh_directly(first.refresh_token or "").json()["error"] == "invalid_grant"
    with pytest.raises(SessionExpired) as ended:
        app.driver.complete(refresh_flow(app.ctx, rotated))
    assert ended.value.reason == "refresh_rejected" and app.ctx.read().is_empty
    assert app.discovery.userinfo_endpoint is not None  # the newest access token is dead too
    headers = {"authorization": f"Bearer {rotated.access_token}"}
    assert httpx.get(app.discovery.userinfo_endpoint, headers=headers).status_code == 401


def test_concurrent_requests_share_one_refresh_so_the_grant_survives(app: App, person: ProviderBrowser) -> None:
    app.sign_in(person)
    app.clock.offset_ms += 2000  # every request below finds the token inside the window
    start = threading.Barrier(4)
    answers: list[str] = []

    def call() -> None:
        start.wait()
        answers.append(app.me()["sub"])

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == ["alice"] * 4
    assert app.token_calls.count == 2  # the code exchange and ONE refresh for four requests
    current = app.ctx.read()
    assert app.driver.complete(refresh_flow(app.ctx, current)).refresh_token != current.refresh_token
