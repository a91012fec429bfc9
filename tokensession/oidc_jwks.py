"""An ID token's signature checked in CPython, against the provider's JWKS, by PyJWT's crypto.

Optional: ``pip install "tokensession[oidc]"`` (PyJWT with ``cryptography``); nothing else in
the library imports this module, and the page checks signatures with WebCrypto instead::

    jwks = httpx.get(discovery.jwks_uri).json()
    claims = verify_id_token(raw, JwksVerifier(), jwks, issuer=discovery.issuer, client_id="spa",
                             nonce=pending.nonce, now_ms=time.time() * 1000)
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from tokensession.id_token import ALLOWED_ALGS, SignatureVerifier

__all__ = ["JwksVerifier"]


class JwksVerifier(SignatureVerifier):
    """:class:`~tokensession.id_token.SignatureVerifier` over PyJWT: the key is picked from the
    JWKS by ``kid`` (when the header has one), must be a signing key, must not name another
    ``alg``, and must be of the header's ``alg``'s kind (an RSA key never checks an ES256 token).

    >>> JwksVerifier().verify({"alg": "none"}, b"a.b", b"", {"keys": []})
    False
    """

    def verify(self, header: dict[str, Any], signing_input: bytes, signature: bytes, jwks: dict[str, Any]) -> bool:
        alg = header.get("alg")
        if alg not in ALLOWED_ALGS:
            return False
        algorithm = get_default_algorithms()[alg]
        for key in self.candidates(header, jwks):
            try:
                public = jwt.PyJWK(key, algorithm=alg).key
            except (jwt.PyJWTError, ValueError, TypeError):
                continue  # a key of another kind, or malformed
            if algorithm.verify(signing_input, public, signature):
                return True
        return False

    @staticmethod
    def candidates(header: dict[str, Any], jwks: dict[str, Any]) -> list[dict[str, Any]]:
        """The JWKS's keys that may have signed a token with this ``header``."""
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list):
            return []
        kid = header.get("kid")
        return [
            key
            for key in keys
            if isinstance(key, dict)
            and (kid is None or key.get("kid") == kid)
            and key.get("use", "sig") == "sig"
            and key.get("alg", header.get("alg")) == header.get("alg")
        ]
