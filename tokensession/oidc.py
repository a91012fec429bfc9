"""Signing in at an OpenID provider: Authorization Code with PKCE, the sans-I/O parts.

The page leaves for the provider and comes back with a ``code``; in between it
keeps a :class:`PendingSignIn` (the PKCE verifier, ``state``, ``nonce`` and the
route to land on)::

    discovery = Discovery.from_json(document, issuer)       # GET discovery_url(issuer)
    pending = PendingSignIn.start(now_ms, redirect_uri, route="/playground")
    storage["pyauth.oidc"] = pending.to_json()               # sessionStorage, see below
    go_to(authorization_url(discovery, client_id, pending, scope="openid offline_access"))
    # ... back at redirect_uri?code=...&state=...&iss=...
    pending = PendingSignIn.from_json(storage.pop("pyauth.oidc"), now_ms)
    got = driver.complete(callback_flow(ctx, source, query, pending, discovery))
    verify_id_token(got.id_token, verifier, jwks, issuer=discovery.issuer, client_id=client_id,
                    nonce=pending.nonce, now_ms=now_ms)      # raises SignInFailed("id_token")
    ctx.store(got.grant, Event.SIGNED_IN)                    # only now: never half signed in

**Where the pending sign-in lives, and why.** The page keeps it in
``sessionStorage``: it must survive the round trip to the provider (a full
navigation, so not in memory); it belongs to the tab that started the sign-in
(``sessionStorage`` is per tab, so two tabs signing in at once do not take each
other's verifier, and another tab's callback fails its ``state`` check); it is
never sent to a server (a cookie would travel with every request to the API);
it is cleared as soon as the callback reads it (a code is good once) and it is
refused after :data:`PENDING_MAX_AGE_MS` (an abandoned sign-in is not replayed
later). The tokens themselves go to the cookies like every kind's (contract §4).

The ID token is checked by :mod:`tokensession.id_token`. Only the standard
library is used, imported where MicroPython lacks it (``os``), and no ``urllib.parse``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tokensession.context import SessionContext
from tokensession.cookies import TokenGrant
from tokensession.errors import ApiError, SignInFailed
from tokensession.flow import Flow, Send
from tokensession.id_token import b64url, same_secret
from tokensession.sources import OidcSource

#: How long a sign-in may stay at the provider (the user typing a password, a second factor).
PENDING_MAX_AGE_MS = 10 * 60 * 1000
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def discovery_url(issuer: str) -> str:
    """Where the provider's discovery document is (OpenID Discovery §4).

    >>> discovery_url("https://id.test/realms/a/")
    'https://id.test/realms/a/.well-known/openid-configuration'
    """
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Discovery:
    """The parts of a provider's discovery document a public client uses, checked.

    >>> doc = {"issuer": "https://id.test", "authorization_endpoint": "https://id.test/auth",
    ...        "token_endpoint": "https://id.test/token", "jwks_uri": "https://id.test/jwks"}
    >>> Discovery.from_json(doc, "https://id.test").token_endpoint
    'https://id.test/token'
    >>> Discovery.from_json(doc, "https://id.test/").issuer   # the issuer must match exactly
    Traceback (most recent call last):
    tokensession.errors.SignInFailed: sign-in failed: discovery: issuer: 'https://id.test' is not 'https://id.test/'
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    revocation_endpoint: str | None = None
    end_session_endpoint: str | None = None
    #: RFC 9207: the provider says it adds ``iss`` to its answers, so one without it is refused.
    iss_parameter_supported: bool = False

    @classmethod
    def from_json(cls, data: Any, issuer: str) -> Discovery:
        """Check a parsed discovery document against the configured ``issuer``; raises
        ``SignInFailed("discovery")`` when it cannot be used."""
        if not isinstance(data, dict):
            raise _bad_discovery("document", "not a JSON object")
        if data.get("issuer") != issuer:
            raise _bad_discovery("issuer", f"{data.get('issuer')!r} is not {issuer!r}")
        methods = data.get("code_challenge_methods_supported")
        if methods is not None and (not isinstance(methods, list) or "S256" not in methods):
            raise _bad_discovery("code_challenge_methods_supported", "no S256")
        return cls(
            issuer,
            _endpoint(data, "authorization_endpoint"),
            _endpoint(data, "token_endpoint"),
            _endpoint(data, "jwks_uri"),
            _optional_endpoint(data, "userinfo_endpoint"),
            _optional_endpoint(data, "revocation_endpoint"),
            _optional_endpoint(data, "end_session_endpoint"),
            iss_parameter_supported=data.get("authorization_response_iss_parameter_supported") is True,
        )

    def source(self, client_id: str) -> OidcSource:
        """The token source for this provider: refresh at the token endpoint, sign-out by revocation."""
        return OidcSource(self.token_endpoint, client_id, revocation_endpoint=self.revocation_endpoint)


def _bad_discovery(field: str, why: str) -> SignInFailed:
    return SignInFailed("discovery", error=field, description=why)


def _optional_endpoint(data: dict[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else _endpoint(data, name)


def _endpoint(data: dict[str, Any], name: str) -> str:
    url = data.get(name)
    if not isinstance(url, str) or not secure_url(url):
        raise _bad_discovery(name, f"{url!r} is not an https URL (or http on loopback)")
    return url


def secure_url(url: str) -> bool:
    """Whether ``url`` may carry tokens: https, or plain http to this machine only.

    >>> secure_url("https://id.test/token"), secure_url("http://127.0.0.1:9/t"), secure_url("http://id.test/t")
    (True, True, False)
    >>> secure_url("http://127.0.0.1.evil.test/t"), secure_url("http://localhost@evil.test/")
    (False, False)
    """
    if url.startswith("https://"):
        return len(url) > len("https://")
    if not url.startswith("http://"):
        return False
    authority = url[len("http://") :].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        return False
    host = authority.rsplit(":", 1)[0] if not authority.endswith("]") else authority
    return host in _LOOPBACK


# -- PKCE, state, nonce ---------------------------------------------------------------------


def random_token(nbytes: int = 32) -> str:
    """A high-entropy url-safe string (32 bytes: 43 characters, a valid PKCE verifier), from the
    system's CSPRNG (on MicroPython, whose ``secrets`` is ``micropython/lib``'s, the JavaScript
    host's ``crypto.getRandomValues``)."""
    import secrets

    return b64url(secrets.token_bytes(nbytes))


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2).

    >>> pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")   # RFC 7636 Appendix B
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class PendingSignIn:
    """What a tab remembers while the user is at the provider (see the module docstring).

    >>> pending = PendingSignIn.start(1_000, "https://app.test/", route="/playground")
    >>> len(pending.verifier), pending.challenge == pkce_challenge(pending.verifier)
    (43, True)
    >>> PendingSignIn.from_json(pending.to_json(), now_ms=2_000) == pending
    True
    >>> PendingSignIn.from_json(pending.to_json(), now_ms=1_000 + PENDING_MAX_AGE_MS + 1)
    Traceback (most recent call last):
    tokensession.errors.SignInFailed: sign-in failed: expired: the sign-in was started too long ago
    """

    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    route: str
    created_ms: int

    @classmethod
    def start(cls, now_ms: float, redirect_uri: str, route: str = "/") -> PendingSignIn:
        return cls(random_token(), random_token(), random_token(), redirect_uri, route, int(now_ms))

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)

    def to_json(self) -> str:
        return json.dumps(dict(asdict(self), v=1), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None, now_ms: float) -> PendingSignIn:
        """The pending sign-in kept by :meth:`to_json`; ``SignInFailed("expired")`` when there is
        none, it is unreadable, or older than :data:`PENDING_MAX_AGE_MS`."""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        fields = ("state", "nonce", "verifier", "redirect_uri", "route")
        if (
            not isinstance(data, dict)
            or data.get("v") != 1
            or not all(isinstance(data.get(name), str) and data[name] for name in fields)
            or not isinstance(data.get("created_ms"), int)
        ):
            raise SignInFailed("expired", description="no sign-in was started in this tab")
        if not 0 <= now_ms - data["created_ms"] <= PENDING_MAX_AGE_MS:
            raise SignInFailed("expired", description="the sign-in was started too long ago")
        return cls(
            data["state"], data["nonce"], data["verifier"], data["redirect_uri"], data["route"], data["created_ms"]
        )


def authorization_url(
    discovery: Discovery,
    client_id: str,
    pending: PendingSignIn,
    scope: str = "openid offline_access",
    extra_params: Mapping[str, str] | None = None,
) -> str:
    """Where to send the browser to sign in (OpenID Core 3.1.2.1, RFC 7636 §4.3).
    ``extra_params`` (config ``authParams``) cannot replace the ones that make it safe.

    >>> pending = PendingSignIn("s", "n", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "https://app.test/", "/", 0)
    >>> doc = Discovery("https://id.test", "https://id.test/auth?x=1", "https://id.test/t", "https://id.test/k")
    >>> print(authorization_url(doc, "spa", pending, "openid", {"prompt": "consent"}))
    https://id.test/auth?x=1&prompt=consent&response_type=code&client_id=spa&redirect_uri=https%3A%2F%2Fapp.test%2F&scope=openid&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256
    """
    params = dict(extra_params or {})
    params.update(
        response_type="code",
        client_id=client_id,
        redirect_uri=pending.redirect_uri,
        scope=scope,
        state=pending.state,
        nonce=pending.nonce,
        code_challenge=pending.challenge,
        code_challenge_method="S256",
    )
    base = discovery.authorization_endpoint
    return base + ("&" if "?" in base else "?") + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())


# -- the callback -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """The provider's answer on the redirect URI's query string.

    >>> Callback.parse("?code=c%2B1&state=s&iss=https%3A%2F%2Fid.test")
    Callback(code='c+1', state='s', iss='https://id.test', error=None, error_description=None)
    """

    code: str | None = None
    state: str | None = None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None

    @classmethod
    def parse(cls, query: str) -> Callback:
        fields = parse_query(query)
        names = ("code", "state", "iss", "error", "error_description")
        return cls(*(fields.get(name) or None for name in names))

    def check(self, pending: PendingSignIn, discovery: Discovery) -> str:
        """The code, once the answer is known to be this tab's and this provider's; else
        ``SignInFailed``. The ``state`` is checked first: an answer that is not ours says nothing."""
        if self.state is None or not same_secret(self.state, pending.state):
            raise SignInFailed("state", description="the answer is not for the sign-in this tab started")
        # RFC 9207 §2.4: an iss that is not our provider's is a mix-up (or an attacker's provider);
        # a provider that promises iss and sends none is refused too.
        iss_expected = self.iss is not None or discovery.iss_parameter_supported
        if iss_expected and self.iss != discovery.issuer:
            raise SignInFailed("issuer", description=f"iss {self.iss!r} is not {discovery.issuer!r}")
        if self.error is not None:
            raise SignInFailed("provider", error=self.error, description=self.error_description)
        if self.code is None:
            raise SignInFailed("provider", error="invalid_request", description="no code in the answer")
        return self.code


#: What a provider's answer adds to the redirect URI's query (``session_state``: OpenID Session
#: Management); the page takes these out of the address bar as soon as it reads them.
CALLBACK_PARAMS = ("code", "state", "iss", "error", "error_description", "session_state")


def is_callback(query: str) -> bool:
    """Whether a page's query string is a provider's answer (it holds ``code``, ``state`` or ``error``).

    >>> is_callback("?code=c&state=s"), is_callback("?error=access_denied"), is_callback("?x=1")
    (True, True, False)
    """
    fields = parse_query(query)
    return any(name in fields for name in ("code", "state", "error"))


def without_callback(query: str) -> str:
    """The query string with the provider's answer taken out (the page's own fields kept as they
    were written), ``""`` when nothing is left.

    >>> without_callback("?lang=zh&code=c&state=s&iss=https%3A%2F%2Fid.test"), without_callback("?code=c")
    ('?lang=zh', '')
    """
    kept = [
        part
        for part in query.lstrip("?").split("&")
        if part and _unquote(part.partition("=")[0]) not in CALLBACK_PARAMS
    ]
    return "?" + "&".join(kept) if kept else ""


def parse_query(query: str) -> dict[str, str]:
    """A query string's fields (the first of each name), decoded; ``urllib.parse`` is not everywhere.

    >>> parse_query("?a=1+2&b=%C3%A9&a=3&c")
    {'a': '1 2', 'b': 'é', 'c': ''}
    """
    fields: dict[str, str] = {}
    for part in query.lstrip("?").split("#", 1)[0].split("&"):
        if part:
            name, _, value = part.partition("=")
            fields.setdefault(_unquote(name), _unquote(value))
    return fields


def _unquote(text: str) -> str:
    raw, i, source = bytearray(), 0, text.replace("+", " ").encode()
    while i < len(source):
        if source[i] == 0x25 and i + 2 < len(source) and _is_hex(source[i + 1 : i + 3]):
            raw.append(int(source[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(source[i])
            i += 1
    return raw.decode("utf-8", "replace")


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(chr(c) in "0123456789abcdefABCDEF" for c in pair)


def _quote(text: str) -> str:
    keep = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    return "".join(chr(c) if c in keep else f"%{c:02X}" for c in text.encode())


# -- the code exchange --------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeGrant:
    """What the code exchange got: the tokens (not stored yet) and the raw ID token to check."""

    grant: TokenGrant
    id_token: str


def code_flow(ctx: SessionContext, source: OidcSource, code: str, verifier: str, redirect_uri: str) -> Flow[CodeGrant]:
    """Exchange the code at the token endpoint. Stores nothing: the caller checks the ID token
    first (:func:`check_id_token`) and only then calls ``ctx.store(result.grant, Event.SIGNED_IN)``.
    Raises ``SignInFailed("code")`` when refused, the ``NetworkError`` met when nothing answered."""
    request = source.code_request(code, verifier, redirect_uri, timeout_ms=ctx.timeout_ms)
    reply = yield Send(request, intercept=False)
    if isinstance(reply, ApiError):
        raise reply
    body = _json_object(reply.body)
    if reply.status >= 400:
        error, description = body.get("error"), body.get("error_description")
        raise SignInFailed(
            "code",
            error=error if isinstance(error, str) else f"HTTP {reply.status}",
            description=description if isinstance(description, str) else None,
            request=request,
            response=reply,
        )
    grant = source.read_grant(reply, now_ms=ctx.now())
    id_token = body.get("id_token")
    if grant is None or not isinstance(id_token, str):
        raise SignInFailed("code", description="the token endpoint answered without usable tokens", response=reply)
    return CodeGrant(grant, id_token)


def callback_flow(
    ctx: SessionContext, source: OidcSource, query: str, pending: PendingSignIn, discovery: Discovery
) -> Flow[CodeGrant]:
    """The callback checked (:meth:`Callback.check`), then the code exchanged (:func:`code_flow`):
    an answer that is not this tab's sends nothing at all."""
    code = Callback.parse(query).check(pending, discovery)
    return (yield from code_flow(ctx, source, code, pending.verifier, pending.redirect_uri))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
