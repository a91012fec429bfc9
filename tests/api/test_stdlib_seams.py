"""The demo API's standard-library signer and password check."""

from __future__ import annotations

import asyncio
import base64
import doctest
import json

import pytest

from authapi import stdlib_seams
from authapi.stdlib_seams import HmacAccessTokens, PlainPasswords
from authapi.tokens import AccessTokens, InvalidToken

SECRET = b"s" * 32


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tokens_are_interchangeable_with_pyjwts() -> None:
    ours, pyjwt = HmacAccessTokens(SECRET, ttl=20), AccessTokens(SECRET, ttl=20)
    assert pyjwt.verify(ours.issue("demo", "f1", now=1000.0), now=1010.0)["sid"] == "f1"
    assert ours.verify(pyjwt.issue("demo", "f1", now=1000.0), now=1010.0)["sub"] == "demo"


def test_expiry_is_judged_against_the_given_clock() -> None:
    signer = HmacAccessTokens(SECRET, ttl=20)
    token = signer.issue("demo", "f1", now=1000.5)
    assert signer.verify(token, now=1020.9)["exp"] == 1021  # rounded up
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(token, now=1021.0)


def test_another_key_or_a_changed_claim_is_refused() -> None:
    token = HmacAccessTokens(SECRET, ttl=20).issue("demo", "f1", now=1000.0)
    with pytest.raises(InvalidToken, match="signature"):
        HmacAccessTokens(b"t" * 32, ttl=20).verify(token, now=1000.0)
    header, _, signature = token.split(".")
    forged = f"{header}.{b64({'iss': 'pyauth-spa', 'sub': 'root', 'sid': 'f1', 'jti': 'x', 'iat': 1, 'exp': 9e9})}.{signature}"
    with pytest.raises(InvalidToken, match="signature"):
        HmacAccessTokens(SECRET, ttl=20).verify(forged, now=1000.0)


@pytest.mark.parametrize("alg", ["none", "HS512", "RS256", None])
def test_only_hs256_is_accepted(alg: str | None) -> None:
    claims = {"iss": "pyauth-spa", "sub": "demo", "sid": "f1", "jti": "x", "iat": 1, "exp": 9e9}
    with pytest.raises(InvalidToken, match="algorithm"):
        HmacAccessTokens(SECRET, ttl=20).verify(f"{b64({'alg': alg})}.{b64(claims)}.", now=1000.0)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "not.a.jwt", "é.é.é", "e30.e30.e30"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        HmacAccessTokens(SECRET, ttl=20).verify(token, now=1000.0)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="256 bits"):
        HmacAccessTokens(b"short", ttl=20)


def test_passwords_match_only_their_own_account() -> None:
    book = PlainPasswords([("demo", "demo"), ("ann", "s3cret")])

    async def checks() -> list[bool]:
        pairs = [("demo", "demo"), ("ann", "s3cret"), ("ann", "demo"), ("nobody", "demo"), ("demo", "")]
        return [await book.check(name, password) for name, password in pairs]

    assert asyncio.run(checks()) == [True, True, False, False, False]


def test_docstring_examples_run() -> None:
    assert doctest.testmod(stdlib_seams).failed == 0
