"""ID token checks (tokensession.id_token, OpenID Core 3.1.3.7) and the CPython signature
verifier over PyJWT (tokensession.oidc_jwks), with keys made here for each algorithm."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tokensession.errors import SignInFailed
from tokensession.id_token import LEEWAY_S, check_claims, parse_id_token, verify_id_token
from tokensession.oidc_jwks import JwksVerifier

ISSUER, CLIENT, NONCE, NOW = "https://id.test", "spa", "n0nce", 1_800_000_000
CLAIMS = {"iss": ISSUER, "aud": CLIENT, "sub": "alice", "exp": NOW + 300, "iat": NOW, "nonce": NONCE}


@pytest.mark.parametrize(
    ("change", "claim"),
    [
        ({"iss": ISSUER + "/"}, "iss"),
        ({"aud": "other"}, "aud"),
        ({"aud": ["other", "more"]}, "aud"),
        ({"aud": None}, "aud"),
        ({"aud": [CLIENT, "other"]}, "azp"),  # several audiences: azp must name us
        ({"aud": [CLIENT, "other"], "azp": "other"}, "azp"),
        ({"azp": "other"}, "azp"),
        ({"sub": ""}, "sub"),
        ({"exp": NOW - LEEWAY_S}, "exp"),
        ({"exp": None}, "exp"),
        ({"exp": True}, "exp"),
        ({"exp": "never"}, "exp"),
        ({"iat": None}, "iat"),
        ({"iat": NOW + LEEWAY_S + 1}, "iat"),
        ({"nonce": "other"}, "nonce"),
        ({"nonce": None}, "nonce"),
    ],
)
def test_claims_that_do_not_hold_are_refused_naming_the_claim(change: dict[str, Any], claim: str) -> None:
    claims = {k: v for k, v in {**CLAIMS, **change}.items() if v is not None}
    with pytest.raises(SignInFailed) as refused:
        check_claims(claims, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now_s=NOW)
    assert (refused.value.reason, refused.value.error) == ("id_token", claim)


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"aud": [CLIENT, "other"], "azp": CLIENT},
        {"aud": [CLIENT]},
        {"exp": NOW - LEEWAY_S + 1},  # inside the leeway
        {"iat": NOW + LEEWAY_S},
        {"exp": NOW + 300.5},
    ],
)
def test_claims_that_hold_pass(change: dict[str, Any]) -> None:
    check_claims({**CLAIMS, **change}, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now_s=NOW)


def _keys() -> dict[str, tuple[Any, dict[str, Any]]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    return {
        "RS256": (rsa_key, RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)),
        "PS256": (rsa_key, RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)),
        "ES256": (ec_key, ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)),
        "EdDSA": (ed_key, OKPAlgorithm.to_jwk(ed_key.public_key(), as_dict=True)),
    }


KEYS = _keys()


def _token(alg: str, kid: str = "k1", claims: dict[str, Any] | None = None) -> str:
    return jwt.encode(claims or CLAIMS, KEYS[alg][0], algorithm=alg, headers={"kid": kid})


def _jwks(alg: str, **extra: Any) -> dict[str, Any]:
    return {"keys": [{**KEYS[alg][1], "kid": "k1", **extra}]}


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_a_token_signed_by_the_providers_key_verifies(alg: str) -> None:
    claims = verify_id_token(
        _token(alg), JwksVerifier(), _jwks(alg), issuer=ISSUER, client_id=CLIENT, nonce=NONCE, now_ms=NOW * 1000
    )
    assert claims["sub"] == "alice"


@pytest.mark.parametrize(
    ("token_alg", "jwks"),
    [
        ("RS256", {"keys": []}),
        ("RS256", {"keys": [{**KEYS["RS256"][1], "kid": "k2"}]}),  # another kid
        ("RS256", {"keys": [{**KEYS["RS256"][1], "kid": "k1", "use": "enc"}]}),  # not a signing key
        ("RS256", {"keys": [{**KEYS["RS256"][1], "kid": "k1", "alg": "PS256"}]}),  # the key names another alg
        ("ES256", {"keys": [{**KEYS["RS256"][1], "kid": "k1"}]}),  # a key of another kind
        ("RS256", {"keys": [{**_keys()["RS256"][1], "kid": "k1"}]}),  # someone else's key, same kid
        ("RS256", ["not", "a", "jwks"]),
    ],
)
def test_a_signature_no_key_of_the_jwks_made_is_refused(token_alg: str, jwks: Any) -> None:
    parsed = parse_id_token(_token(token_alg))
    assert JwksVerifier().verify(parsed.header, parsed.signing_input, parsed.signature, jwks) is False


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (jwt.encode(CLAIMS, "secret-of-32-bytes-at-least-xxxxxx", algorithm="HS256"), "alg"),
        (jwt.encode(CLAIMS, None, algorithm="none"), "alg"),  # "none": an empty signature part
        ("eyJhbGciOiJub25lIn0.e30.c2ln", "alg"),  # alg none with something in the signature part
        ("a.b", "malformed"),
        ("e30.W10.c2ln", "malformed"),  # claims not an object
        ("!!!.e30.c2ln", "malformed"),
    ],
)
def test_a_token_that_is_no_allowed_jws_is_refused_before_any_key(token: str, error: str) -> None:
    with pytest.raises(SignInFailed) as refused:
        parse_id_token(token)
    assert (refused.value.reason, refused.value.error) == ("id_token", error)
