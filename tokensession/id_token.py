"""The ID token of an OpenID sign-in: its parts, its signature, its claims (OpenID Core 3.1.3.7).

The signature is checked through a :class:`SignatureVerifier` against the provider's JWKS:
in CPython :class:`tokensession.oidc_jwks.JwksVerifier` (PyJWT's cryptography); in the page
WebCrypto, which is asynchronous, so the page splits the token (:func:`parse_id_token`),
awaits ``crypto.subtle.verify`` itself and hands the verdict to :func:`check_id_token`::

    claims = verify_id_token(raw, JwksVerifier(), jwks, issuer=issuer, client_id="spa",
                             nonce=pending.nonce, now_ms=now_ms)        # or SignInFailed("id_token")

Standard library only; ``hmac`` is imported where it is used (MicroPython has none).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tokensession.errors import SignInFailed

#: The signature algorithms accepted for an ID token (never ``none``, never an HMAC keyed
#: with a public client's absent secret).
ALLOWED_ALGS = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
#: Clock skew forgiven on ``exp`` and ``iat``, in seconds.
LEEWAY_S = 60
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2). (Through plain base64: MicroPython's
    ``base64`` has no urlsafe functions.)

    >>> b64url(bytes([251, 255])), b64url_decode("-_8")
    ('-_8', b'\xfb\xff')
    """
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("+", "-").replace("/", "_")


def b64url_decode(text: str) -> bytes:
    """The bytes of a base64url string with or without padding; ``ValueError`` when it is not one."""
    if not isinstance(text, str) or not all(c in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    return base64.b64decode((text + "=" * (-len(text) % 4)).replace("-", "+").replace("_", "/"))


def same_secret(a: str, b: str) -> bool:
    """Whether two secrets are equal, in time that does not depend on where they differ."""
    try:
        from hmac import compare_digest
    except ImportError:  # MicroPython
        left, right = a.encode(), b.encode()
        diff = len(left) ^ len(right)
        for x, y in zip(left, right):  # noqa: B905 - MicroPython's zip takes no strict=
            diff |= x ^ y
        return diff == 0
    return compare_digest(a.encode(), b.encode())


class SignatureVerifier(Protocol):
    """Checks a JWS signature against the provider's JWKS (CPython: :mod:`tokensession.oidc_jwks`).

    ``header`` is the token's parsed JOSE header (``alg`` already in :data:`ALLOWED_ALGS`,
    ``kid`` when the provider sent one); ``signing_input`` is ``ascii(header "." payload)``;
    ``jwks`` is the parsed ``jwks_uri`` document. The page implements the same shape over
    WebCrypto's ``crypto.subtle.verify`` (asynchronously) and hands its verdict to
    :func:`check_id_token`.
    """

    def verify(self, header: dict[str, Any], signing_input: bytes, signature: bytes, jwks: dict[str, Any]) -> bool: ...


@dataclass(frozen=True)
class IdToken:
    """A compact JWS split into its parts (nothing checked but its shape and ``alg``)."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_id_token(token: str) -> IdToken:
    """Split an ID token; ``SignInFailed("id_token")`` when it is not a JWS or its ``alg`` is
    not allowed (``none`` never is)."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three parts")
        header, claims = json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError:
        raise _bad_token("malformed", "not a compact JWS") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _bad_token("malformed", "header or claims not a JSON object")
    if header.get("alg") not in ALLOWED_ALGS:
        raise _bad_token("alg", f"alg {header.get('alg')!r} is not allowed")
    return IdToken(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def verify_id_token(
    token: str,
    verifier: SignatureVerifier,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now_ms: float,
) -> dict[str, Any]:
    """Parse, verify the signature, check the claims (OpenID Core 3.1.3.7); the claims, or
    ``SignInFailed("id_token")``. Synchronous verifiers; the page calls the two halves itself."""
    parsed = parse_id_token(token)
    verified = verifier.verify(parsed.header, parsed.signing_input, parsed.signature, jwks)
    return check_id_token(parsed, verified, issuer=issuer, client_id=client_id, nonce=nonce, now_ms=now_ms)


def check_id_token(
    token: IdToken, verified: bool, *, issuer: str, client_id: str, nonce: str, now_ms: float
) -> dict[str, Any]:
    """The verifier's verdict, then the claims: ``token.claims`` or ``SignInFailed("id_token")``."""
    if not verified:
        raise _bad_token("signature", "the signature does not match the provider's keys")
    check_claims(token.claims, issuer=issuer, client_id=client_id, nonce=nonce, now_s=now_ms / 1000)
    return token.claims


def check_claims(claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str, now_s: float) -> None:
    """OpenID Core 3.1.3.7 steps 2-4, 9, 10 and 11 on a token's claims; ``SignInFailed("id_token")``
    naming the first that fails (``.error``: the claim).

    >>> ok = {"iss": "https://id.test", "aud": "spa", "sub": "u", "exp": 200, "iat": 100, "nonce": "n"}
    >>> check_claims(ok, issuer="https://id.test", client_id="spa", nonce="n", now_s=150)
    >>> check_claims({**ok, "aud": ["spa", "other"]}, issuer="https://id.test", client_id="spa", nonce="n", now_s=150)
    Traceback (most recent call last):
    tokensession.errors.SignInFailed: sign-in failed: id_token: azp: several audiences and no azp for this client
    """
    if claims.get("iss") != issuer:
        raise _bad_token("iss", f"iss {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise _bad_token("aud", f"this client ({client_id!r}) is not an audience")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise _bad_token("azp", "several audiences and no azp for this client")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _bad_token("sub", "no subject")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or now_s >= exp + LEEWAY_S:
        raise _bad_token("exp", "expired, or no exp")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or iat > now_s + LEEWAY_S:
        raise _bad_token("iat", "issued in the future, or no iat")
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not same_secret(token_nonce, nonce):
        raise _bad_token("nonce", "not the nonce this sign-in sent")


def _bad_token(claim: str, why: str) -> SignInFailed:
    return SignInFailed("id_token", error=claim, description=why)
