"""Where the tokens come from: each kind of API as data plus a small adapter.

The flows, the policy, the cookies and the rules R1-R7 are the same for every
kind; a :class:`TokenSource` only knows the shape of the three calls that carry
credentials (sign-in, refresh, sign-out) and of their answers::

    source = SimpleJwtSource("https://api.example.org/api/token/", "https://api.example.org/api/token/refresh/")
    request = source.refresh_request(session, timeout_ms=10000)   # POST .../refresh/ {"refresh": ...}
    grant = source.read_grant(response, now_ms=now, held=session)  # expiry from the access token's exp

Kinds (README, "Any backend"):

* :class:`ContractSource`: this project's API (``login``, ``refresh_token``, ``logout``),
  with the refresh token in a readable cookie or in the API's HttpOnly one;
* :class:`SimpleJwtSource`: djangorestframework-simplejwt (``{"access", "refresh"}``, no
  ``expires_in``: the lifetime is read from the access token's ``exp``);
* :class:`OidcSource`: an OpenID provider's token endpoint (``grant_type=refresh_token``)
  and revocation endpoint; signing in is a redirect, see :mod:`tokensession.oidc`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tokensession.cookies import MAX_EXPIRES_IN, RefreshCookie, Session, TokenGrant, valid_token
from tokensession.http import Request, Response
from tokensession.id_token import b64url, b64url_decode
from tokensession.policy import Call, call_kind

log = logging.getLogger("tokensession")

#: The header ``refresh_token`` and ``logout`` carry in the HttpOnly refresh mode (the API
#: answers 403 without it): a cross-site form cannot send it, so the cookie alone is not enough.
CSRF_HEADER = ("x-requested-with", "pyauth")


class TokenSource:
    """The shape of the credential calls of one kind of API. Subclasses override the calls.

    ``kind`` names it (config ``auth.kind``); ``signs_in_with_password``: the login form
    posts a name and a password (an OpenID provider signs in by a redirect instead).
    """

    kind = "contract"
    signs_in_with_password = True
    refresh_cookie: RefreshCookie = "js"

    def call_kind(self, path: str) -> Call:
        """Which of the source's calls ``path`` is (``"api"``: none): those never start a refresh (R1)."""
        return call_kind(path)

    def login_request(self, username: str, password: str, *, timeout_ms: int) -> Request:
        raise NotImplementedError

    def refresh_request(self, held: Session, *, timeout_ms: int) -> Request:
        raise NotImplementedError

    def logout_request(self, refresh_id: str | None, *, timeout_ms: int) -> Request | None:
        """The sign-out call for the refresh token held (``None`` in the HttpOnly mode, where the
        browser sends it); ``None`` back: this API has no such call."""
        raise NotImplementedError

    def read_grant(self, response: Response | None, *, now_ms: int, held: Session | None = None) -> TokenGrant | None:
        """The tokens of a sign-in or refresh answer, checked; ``None`` when unusable. ``held``:
        the session being refreshed (an API that does not rotate keeps its refresh token)."""
        raise NotImplementedError


class ContractSource(TokenSource):
    """This project's API (the reference ``serve.py``): ``login``, ``refresh_token``, ``logout``.

    >>> source = ContractSource()
    >>> request = source.refresh_request(Session("a", "r1", 0, 20), timeout_ms=5000)
    >>> request.path, request.body
    ('refresh_token', b'{"refresh_token":"r1"}')
    >>> source.read_grant(Response(200, body=b'{"access_token":"a","refresh_token":"r2","expires_in":20}'), now_ms=0)
    TokenGrant(access_token='a', refresh_token='r2', expires_in=20, refresh_expires_in=None)
    """

    def __init__(self, refresh_cookie: RefreshCookie = "js") -> None:
        self.refresh_cookie = refresh_cookie

    def login_request(self, username: str, password: str, *, timeout_ms: int) -> Request:
        return Request.build("POST", "login", json={"username": username, "password": password}, timeout_ms=timeout_ms)

    def refresh_request(self, held: Session, *, timeout_ms: int) -> Request:
        return self._credential("refresh_token", held.refresh_token, timeout_ms)

    def logout_request(self, refresh_id: str | None, *, timeout_ms: int) -> Request | None:
        return self._credential("logout", refresh_id, timeout_ms)

    def _credential(self, path: str, refresh_token: str | None, timeout_ms: int) -> Request:
        # The token in the JSON body, or in the HttpOnly mode an empty body and the CSRF
        # header (the browser adds the API's cookie itself).
        if self.refresh_cookie == "httponly":
            return Request.build("POST", path, headers=dict([CSRF_HEADER]), timeout_ms=timeout_ms)
        return Request.build("POST", path, json={"refresh_token": refresh_token}, timeout_ms=timeout_ms)

    def read_grant(self, response: Response | None, *, now_ms: int, held: Session | None = None) -> TokenGrant | None:
        data = _json(response)
        if self.refresh_cookie == "httponly" and isinstance(data, dict) and "refresh_token" in data:
            # The API is not in the HttpOnly mode: its token is not kept where scripts read it.
            log.warning('refreshCookie is "httponly" but the API sent a refresh token in the body; not kept')
        return TokenGrant.from_json(data, refresh_cookie=self.refresh_cookie)


class SimpleJwtSource(TokenSource):
    """A djangorestframework-simplejwt API: ``POST token_url {"username", "password"}`` answers
    ``{"access", "refresh"}``; ``POST refresh_url {"refresh"}`` answers ``{"access"}`` plus
    ``"refresh"`` when it rotates; ``logout_url`` (its blacklist view) gets ``{"refresh"}``.
    Lifetimes come from the tokens' ``exp`` claims, read and not verified (the API verifies).

    >>> source = SimpleJwtSource("https://api.test/token/", "https://api.test/token/refresh/")
    >>> source.call_kind("https://api.test/token/"), source.call_kind("https://api.test/me")
    ('login', 'api')
    >>> access = jwt_for({"exp": 1_000_020})
    >>> source.read_grant(Response(200, body=json.dumps({"access": access, "refresh": "r"}).encode()),
    ...                   now_ms=1_000_000_500).expires_in
    19
    """

    kind = "simplejwt"

    def __init__(self, token_url: str, refresh_url: str, logout_url: str | None = None) -> None:
        self.token_url, self.refresh_url, self.logout_url = token_url, refresh_url, logout_url

    def call_kind(self, path: str) -> Call:
        base = path.partition("?")[0]
        if base == self.token_url:
            return "login"
        if base == self.refresh_url:
            return "refresh"
        if base == self.logout_url:
            return "logout"
        return "api"

    def login_request(self, username: str, password: str, *, timeout_ms: int) -> Request:
        body = {"username": username, "password": password}
        return Request.build("POST", self.token_url, json=body, timeout_ms=timeout_ms)

    def refresh_request(self, held: Session, *, timeout_ms: int) -> Request:
        return Request.build("POST", self.refresh_url, json={"refresh": held.refresh_token}, timeout_ms=timeout_ms)

    def logout_request(self, refresh_id: str | None, *, timeout_ms: int) -> Request | None:
        if self.logout_url is None or refresh_id is None:
            return None
        return Request.build("POST", self.logout_url, json={"refresh": refresh_id}, timeout_ms=timeout_ms)

    def read_grant(self, response: Response | None, *, now_ms: int, held: Session | None = None) -> TokenGrant | None:
        data = _json(response)
        if not isinstance(data, dict):
            return None
        access = valid_token(data.get("access"))
        refresh = valid_token(data.get("refresh")) or (held.refresh_token if held is not None else None)
        if access is None or refresh is None:
            return None
        expires_in = _seconds_left(access, now_ms)
        if expires_in is None:
            return None
        return TokenGrant(access, refresh, expires_in, _seconds_left(refresh, now_ms))


class OidcSource(TokenSource):
    """An OpenID provider's refresh and revocation (RFC 6749 §6, RFC 7009), for a public client.

    ``token_endpoint`` and ``revocation_endpoint`` come from the provider's discovery document.
    Signing in is the Authorization Code flow with PKCE (:mod:`tokensession.oidc`), which
    stores its grant through :meth:`read_grant` too.

    >>> source = OidcSource("https://id.test/token", "spa", revocation_endpoint="https://id.test/revoke")
    >>> request = source.refresh_request(Session("a", "r1", 0, 20), timeout_ms=5000)
    >>> request.path, request.body.decode()
    ('https://id.test/token', 'grant_type=refresh_token&refresh_token=r1&client_id=spa')
    """

    kind = "oidc"
    signs_in_with_password = False

    def __init__(self, token_endpoint: str, client_id: str, *, revocation_endpoint: str | None = None) -> None:
        self.token_endpoint, self.client_id, self.revocation_endpoint = token_endpoint, client_id, revocation_endpoint

    def call_kind(self, path: str) -> Call:
        base = path.partition("?")[0]
        if base == self.token_endpoint:
            return "refresh"  # the code exchange too: a credential call that never starts a refresh
        if base == self.revocation_endpoint:
            return "logout"
        return "api"

    def login_request(self, username: str, password: str, *, timeout_ms: int) -> Request:
        raise ValueError("an OpenID provider signs in by a redirect (tokensession.oidc), not with a password")

    def code_request(self, code: str, verifier: str, redirect_uri: str, *, timeout_ms: int) -> Request:
        """The code exchange that ends a sign-in (RFC 7636: with the PKCE verifier)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": self.client_id,
        }
        return Request.build("POST", self.token_endpoint, form=form, timeout_ms=timeout_ms)

    def refresh_request(self, held: Session, *, timeout_ms: int) -> Request:
        form = {"grant_type": "refresh_token", "refresh_token": held.refresh_token or "", "client_id": self.client_id}
        return Request.build("POST", self.token_endpoint, form=form, timeout_ms=timeout_ms)

    def logout_request(self, refresh_id: str | None, *, timeout_ms: int) -> Request | None:
        if self.revocation_endpoint is None or refresh_id is None:
            return None
        form = {"token": refresh_id, "token_type_hint": "refresh_token", "client_id": self.client_id}
        return Request.build("POST", self.revocation_endpoint, form=form, timeout_ms=timeout_ms)

    def read_grant(self, response: Response | None, *, now_ms: int, held: Session | None = None) -> TokenGrant | None:
        data = _json(response)
        if not isinstance(data, dict):
            return None
        access = valid_token(data.get("access_token"))
        refresh = valid_token(data.get("refresh_token")) or (held.refresh_token if held is not None else None)
        expires_in = data.get("expires_in")
        if access is None or refresh is None or not isinstance(expires_in, int) or not _positive_int(expires_in):
            return None
        return TokenGrant(access, refresh, expires_in) if expires_in <= MAX_EXPIRES_IN else None


def _json(response: Response | None) -> Any:
    try:
        return response.json() if response is not None else None
    except ValueError:
        return None


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, read without checking its signature (the API checks it); ``None``
    when ``token`` is not a JWT.

    >>> jwt_claims(jwt_for({"exp": 5})), jwt_claims("opaque")
    ({'exp': 5}, None)
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _seconds_left(token: str, now_ms: int) -> int | None:
    # Whole seconds from now to the token's exp, rounded down, so that utilTime (now +
    # expires_in) is never later than the real expiry. None: no usable exp, or already past.
    claims = jwt_claims(token) or {}
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return None
    left = int(exp - now_ms / 1000)
    if isinstance(iat, (int, float)) and not isinstance(iat, bool) and iat < exp:
        # A clock behind the server's would count past the real expiry (and send expired
        # tokens, against R3): never more than the lifetime the server granted.
        left = min(left, int(exp - iat))
    return left if 0 < left <= MAX_EXPIRES_IN else None


def jwt_for(claims: dict[str, Any]) -> str:
    """An unsigned JWT holding ``claims`` (for examples and tests: no API accepts it).

    >>> jwt_for({"exp": 5}).count(".")
    2
    """

    def part(data: dict[str, Any]) -> str:
        return b64url(json.dumps(data).encode())

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"
