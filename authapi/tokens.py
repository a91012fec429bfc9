"""Access tokens: short-lived HS256 JWTs.

The algorithm is pinned on decode, so a token whose header says ``none``,
``RS256`` or anything but ``HS256`` is refused before its signature is even
considered (the classic ``alg`` confusion attacks). Expiry is judged against
the injected clock, not the wall clock, so tests can move time::

    signer = AccessTokens(secret=b"k" * 32, ttl=20)
    token = signer.issue("demo", session_id="f1", now=1000.0)
    signer.verify(token, now=1010.0)["sub"]    # 'demo'
    signer.verify(token, now=1020.0)           # raises InvalidToken (expired)
"""

from __future__ import annotations

import math
import secrets
from typing import Any, Protocol

ALGORITHM = "HS256"
ISSUER = "pyauth-spa"
_REQUIRED = ["exp", "iat", "sub", "jti", "sid", "iss"]


class InvalidToken(Exception):
    """The presented access token is malformed, forged, of another kind or expired."""


class AccessTokenSigner(Protocol):
    """The token-signing seam: what :mod:`authapi.sessions` needs of access tokens.

    :class:`AccessTokens` is the PyJWT implementation; an in-page demo may
    bring its own without importing PyJWT.
    """

    ttl: int

    def issue(self, username: str, session_id: str, now: float) -> str: ...

    def verify(self, token: str, now: float) -> dict[str, Any]: ...


class AccessTokens:
    """Issues and verifies access tokens signed with one per-install secret."""

    def __init__(self, secret: bytes, ttl: int) -> None:
        if len(secret) < 32:
            raise ValueError("the signing secret must be at least 256 bits")
        self._secret = secret
        self.ttl = ttl

    def issue(self, username: str, session_id: str, now: float) -> str:
        """A signed token for ``username`` in refresh family ``session_id``.

        ``exp`` is rounded up: the client computes expiry as its receive time
        plus ``expires_in``, and must never hold a token it thinks is live
        that the server already refuses.
        """
        import jwt  # here, not at the top: the seam above must import without PyJWT

        claims = {
            "iss": ISSUER,
            "sub": username,
            "sid": session_id,
            "jti": secrets.token_urlsafe(12),
            "iat": int(now),
            "exp": math.ceil(now) + self.ttl,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, now: float) -> dict[str, Any]:
        """The token's claims if it is ours and live at ``now``, else :class:`InvalidToken`.

        >>> AccessTokens(b"k" * 32, 20).verify("not.a.jwt", now=0)
        Traceback (most recent call last):
        authapi.tokens.InvalidToken: malformed token
        """
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                # Time claims are checked below against the injected clock.
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("bad signature") from exc
        except jwt.DecodeError as exc:
            raise InvalidToken("malformed token") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(str(exc) or "invalid token") from exc
        return check_claims(claims, now)


def check_claims(claims: dict[str, Any], now: float) -> dict[str, Any]:
    """The claim checks every signer makes once the signature holds (types, expiry).

    >>> check_claims({"exp": 10, "sub": "demo", "sid": "s"}, now=9)["sub"]
    'demo'
    >>> check_claims({"exp": 10, "sub": "demo", "sid": "s"}, now=10)
    Traceback (most recent call last):
    authapi.tokens.InvalidToken: token expired
    """
    exp, sub, sid = claims["exp"], claims["sub"], claims["sid"]
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise InvalidToken("bad exp claim")
    if not isinstance(sub, str) or not isinstance(sid, str):
        raise InvalidToken("bad sub or sid claim")
    # RFC 7519 4.1.4: not accepted "on or after" exp.
    if now >= exp:
        raise InvalidToken("token expired")
    return claims
