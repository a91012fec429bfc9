"""Which keys of a provider's JWKS may have signed an ID token, and what WebCrypto needs to check
it with them. Pure: the page's adapter (:mod:`tokensession.browser.oidc_page`) awaits
``crypto.subtle.importKey`` / ``crypto.subtle.verify`` itself and hands the verdict to
:func:`tokensession.id_token.check_id_token`::

    for jwk in verification_keys(token.header, jwks):
        import_params, verify_params = WEBCRYPTO_PARAMS[token.header["alg"]]
        key = await crypto.subtle.importKey("jwk", jwk, import_params, False, ["verify"])
        if await crypto.subtle.verify(verify_params, key, token.signature, token.signing_input): ...

JWS signatures go to WebCrypto as they are: an ES256 signature in a JWS is the raw ``r || s``
(RFC 7518 §3.4), which is what WebCrypto's ECDSA expects (not DER).
"""

from __future__ import annotations

from typing import Any

#: Per allowed ``alg`` (:data:`tokensession.id_token.ALLOWED_ALGS`): WebCrypto's ``importKey``
#: algorithm and its ``verify`` algorithm. ``Ed25519`` exists only in newer browsers; where it
#: does not, importing fails and the signature counts as not verified.
WEBCRYPTO_PARAMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "RS256": ({"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"}, {"name": "RSASSA-PKCS1-v1_5"}),
    "PS256": ({"name": "RSA-PSS", "hash": "SHA-256"}, {"name": "RSA-PSS", "saltLength": 32}),
    "ES256": ({"name": "ECDSA", "namedCurve": "P-256"}, {"name": "ECDSA", "hash": "SHA-256"}),
    "EdDSA": ({"name": "Ed25519"}, {"name": "Ed25519"}),
}
# alg -> (kty, crv); the members of a public key of each kty.
_KEY_TYPE: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
}
_PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}


def verification_keys(header: dict[str, Any], jwks: Any) -> list[dict[str, str]]:
    """The public JWKs that may have signed a token with this JOSE ``header``: its ``kid``'s (every
    key when it names none), of the ``alg``'s key type and curve, meant for signatures (``use``
    ``sig`` or absent) and not bound to another ``alg``. Only the public members are kept, so a
    key can be imported as it is.

    >>> jwks = {"keys": [{"kty": "RSA", "kid": "r", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"},
    ...                  {"kty": "EC", "kid": "e", "crv": "P-256", "x": "eA", "y": "eQ", "d": "secret"}]}
    >>> verification_keys({"alg": "ES256", "kid": "e"}, jwks)
    [{'kty': 'EC', 'crv': 'P-256', 'x': 'eA', 'y': 'eQ'}]
    >>> verification_keys({"alg": "PS256", "kid": "r"}, jwks)   # that key is bound to RS256
    []
    >>> [k["kty"] for k in verification_keys({"alg": "RS256"}, jwks)]
    ['RSA']
    """
    alg = header.get("alg")
    if alg not in _KEY_TYPE or not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        return []
    kty, crv = _KEY_TYPE[alg]
    kid = header.get("kid")
    found: list[dict[str, str]] = []
    for key in jwks["keys"]:
        if not isinstance(key, dict) or key.get("kty") != kty or (crv is not None and key.get("crv") != crv):
            continue
        if kid is not None and key.get("kid") != kid:
            continue
        if key.get("use", "sig") != "sig" or key.get("alg", alg) != alg:
            continue
        members = _PUBLIC_MEMBERS[kty]
        if all(isinstance(key.get(name), str) and key[name] for name in members):
            found.append(dict([("kty", kty)] + [(name, key[name]) for name in members]))
    return found
