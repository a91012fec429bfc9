"""Signing in at an OpenID provider from the page: the browser half of :mod:`tokensession.oidc`.

The one place the OpenID sign-in touches the browser (``location``, ``history``,
``sessionStorage``, WebCrypto); the decisions are the pure modules'::

    oidc = await OidcPage.discover(config.auth, FetchTransport(config.api_base), config.timeout_ms)
    api = ApiClient(..., source=oidc.source)          # page_client does both
    await oidc.start_sign_in("/playground")            # leaves for the provider
    # ... back at this page's URL with ?code=...&state=...
    if oidc.is_callback():
        route = await oidc.finish_sign_in(api)         # the cookies hold the session, or it raised

**Where the pending sign-in lives**: ``sessionStorage["pyauth.oidc"]`` (the PKCE verifier,
``state``, ``nonce``, the route to land on), for the reasons in :mod:`tokensession.oidc`: it
outlives the trip to the provider, belongs to this tab, never travels to a server, and is
deleted the moment the callback reads it.

**Never half signed in**: :meth:`OidcPage.finish_sign_in` takes the pending record and cleans
the address bar first, exchanges the code (storing nothing), fetches the JWKS, verifies the ID
token's signature with WebCrypto and checks its claims, and only then writes the cookies. Any
failure raises (``SignInFailed``, or the ``NetworkError`` met) with nothing stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyscript import window  # type: ignore[import-not-found]
from pyscript.ffi import to_js  # type: ignore[import-not-found]

from tokensession.browser.runtime import JsException, js_call, js_global, now_ms, uint8array
from tokensession.config import AuthConfig
from tokensession.context import SessionContext
from tokensession.errors import ApiError, SignInFailed, SignInReason
from tokensession.flow import Flow
from tokensession.http import Request, Response
from tokensession.id_token import IdToken, check_id_token, parse_id_token
from tokensession.oidc import (
    CodeGrant,
    Discovery,
    PendingSignIn,
    authorization_url,
    callback_flow,
    discovery_url,
    is_callback,
    without_callback,
)
from tokensession.sources import OidcSource
from tokensession.transport import Transport
from tokensession.webcrypto_keys import WEBCRYPTO_PARAMS, verification_keys

if TYPE_CHECKING:
    from tokensession.client import ApiClient

#: The ``sessionStorage`` key of the pending sign-in.
PENDING_KEY = "pyauth.oidc"


@dataclass
class OidcPage:
    """The provider this page signs in at. ``discovery`` is ``None`` when the provider's discovery
    document could not be fetched or used at boot (``problem`` says why): signing in then fails
    with a toast until the page is loaded again."""

    auth: AuthConfig
    transport: Transport
    timeout_ms: int
    discovery: Discovery | None
    problem: str | None = None

    @classmethod
    async def discover(cls, auth: AuthConfig, transport: Transport, timeout_ms: int) -> OidcPage:
        """Fetch and check the provider's discovery document; never raises."""
        try:
            document = await _get_json(transport, discovery_url(auth.issuer), timeout_ms, "discovery")
            return cls(auth, transport, timeout_ms, Discovery.from_json(document, auth.issuer))
        except ApiError as exc:
            why = f"the OpenID provider's discovery document could not be used ({exc}); signing in will fail"
            return cls(auth, transport, timeout_ms, None, why)

    @property
    def source(self) -> OidcSource:
        """The client's token source: refresh at the token endpoint, sign-out by revocation.
        Without discovery no sign-in can happen in this tab; a session another tab made would
        then refresh at a URL of the issuer that is no token endpoint, and end (R1's rule)."""
        if self.discovery is None:
            return OidcSource(discovery_url(self.auth.issuer), self.auth.client_id)
        return self.discovery.source(self.auth.client_id)

    @property
    def userinfo_endpoint(self) -> str | None:
        """Where ``GET me`` goes (an absolute URL), when the provider has one."""
        return self.discovery.userinfo_endpoint if self.discovery is not None else None

    def is_callback(self) -> bool:
        """Whether this page load is the provider's answer (``code``/``state``/``error`` in the query)."""
        return is_callback(str(window.location.search))

    async def start_sign_in(self, route: str) -> None:
        """Leave for the provider; back at this page's URL, :meth:`finish_sign_in` lands on ``route``.
        ``SignInFailed`` when there is no usable provider or this tab cannot keep the pending record."""
        discovery = self._discovered()
        location = window.location
        redirect_uri = str(location.origin) + str(location.pathname)  # contract §10: no query, no fragment
        pending = PendingSignIn.start(_now_ms(), redirect_uri, route=route)
        try:
            js_call(js_global("sessionStorage"), "setItem", PENDING_KEY, pending.to_json())
        except JsException as exc:  # storage refused (some private modes): no round trip can work
            raise SignInFailed("expired", description=f"sessionStorage is not available ({exc})") from None
        params = dict(self.auth.auth_params)
        location.assign(authorization_url(discovery, self.auth.client_id, pending, self.auth.scope, params))

    async def finish_sign_in(self, api: ApiClient) -> str:
        """Complete the sign-in this page load answers; returns the route kept at the start (check
        it is a safe in-app route before going there). Raises with nothing stored."""
        query = str(window.location.search)
        raw = self._take_pending()
        # At once, before anything can fail: a code is good once, and a reload must not replay it.
        location = window.location
        clean = str(location.pathname) + without_callback(query) + str(location.hash)
        window.history.replaceState(window.history.state, "", clean)
        pending = PendingSignIn.from_json(raw, _now_ms())
        discovery = self._discovered()
        source = self.source

        def exchange(ctx: SessionContext) -> Flow[CodeGrant]:
            return callback_flow(ctx, source, query, pending, discovery)

        got = await api.run(exchange)
        token = parse_id_token(got.id_token)
        jwks = await _get_json(self.transport, discovery.jwks_uri, self.timeout_ms, "id_token")
        verified = await verify_signature(token, jwks)
        client_id, nonce = self.auth.client_id, pending.nonce
        check_id_token(token, verified, issuer=discovery.issuer, client_id=client_id, nonce=nonce, now_ms=_now_ms())
        api.sign_in_with(got.grant)
        return pending.route

    def _discovered(self) -> Discovery:
        if self.discovery is None:
            raise SignInFailed("discovery", description=self.problem)
        return self.discovery

    @staticmethod
    def _take_pending() -> str | None:
        try:
            storage = js_global("sessionStorage")
            raw = js_call(storage, "getItem", PENDING_KEY)
            js_call(storage, "removeItem", PENDING_KEY)
        except JsException:
            return None
        return raw if isinstance(raw, str) else None  # a missing key is JS null


async def verify_signature(token: IdToken, jwks: Any) -> bool:
    """Whether one of the provider's keys (:func:`verification_keys`) verifies ``token``'s
    signature, by WebCrypto. A key the browser cannot import (Ed25519 in an older browser)
    verifies nothing."""
    alg = str(token.header.get("alg"))
    if alg not in WEBCRYPTO_PARAMS:
        return False
    import_params, verify_params = WEBCRYPTO_PARAMS[alg]
    subtle = window.crypto.subtle
    signature, signed = _bytes(token.signature), _bytes(token.signing_input)
    for jwk in verification_keys(token.header, jwks):
        try:
            key = await subtle.importKey("jwk", to_js(jwk), to_js(import_params), False, to_js(["verify"]))
            if bool(await subtle.verify(to_js(verify_params), key, signature, signed)):
                return True
        except JsException as exc:
            window.console.warn(f"ID token key {jwk.get('kty')} not usable here: {exc}")
    return False


def _bytes(data: bytes) -> Any:
    return uint8array(data)


async def _get_json(transport: Transport, url: str, timeout_ms: int, reason: SignInReason) -> Any:
    """``GET url`` (an absolute URL) as JSON; ``SignInFailed(reason)`` unless a 200 JSON answer."""
    reply: Response = await transport.send(Request.build("GET", url, timeout_ms=timeout_ms))
    if reply.status != 200:
        raise SignInFailed(reason, error=f"HTTP {reply.status}", description=url, response=reply)
    try:
        return json.loads(reply.body)
    except ValueError:
        raise SignInFailed(reason, error="not JSON", description=url, response=reply) from None


def _now_ms() -> float:
    return now_ms()  # the page's clock, as the client's
