"""Access tokens: HS256 pinned, required claims, expiry by the injected clock."""

from __future__ import annotations

import jwt
import pytest

from authapi.tokens import AccessTokens, InvalidToken

SECRET = b"s" * 32


def claims(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"iss": "pyauth-spa", "sub": "demo", "sid": "f", "jti": "j", "iat": 1000, "exp": 1020}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_issued_token_carries_the_claims() -> None:
    token = AccessTokens(SECRET, 20).issue("demo", "fam", now=1000.25)
    got = AccessTokens(SECRET, 20).verify(token, now=1000.25)
    assert (got["sub"], got["sid"], got["iat"]) == ("demo", "fam", 1000)
    assert got["exp"] == 1021  # rounded up: never earlier than receive time + expires_in
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_two_tokens_have_distinct_ids() -> None:
    signer = AccessTokens(SECRET, 20)
    a, b = (signer.verify(signer.issue("demo", "f", 0), now=1) for _ in range(2))
    assert a["jti"] != b["jti"]


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "jti", "sid", "iss"])
def test_a_missing_claim_is_refused(missing: str) -> None:
    token = jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        AccessTokens(SECRET, 20).verify(token, now=1010)


@pytest.mark.parametrize("bad", [{"iss": "other"}, {"exp": "1020"}, {"sub": 5}, {"exp": True}])
def test_a_wrong_claim_is_refused(bad: dict[str, object]) -> None:
    token = jwt.encode(claims(**bad), SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        AccessTokens(SECRET, 20).verify(token, now=1010)


def test_expiry_follows_the_given_clock() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    signer = AccessTokens(SECRET, 20)
    assert signer.verify(token, now=1019.999)["sub"] == "demo"
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(token, now=1020)


def test_other_hmac_algorithms_are_refused() -> None:
    token = jwt.encode(claims(), SECRET * 2, algorithm="HS512")
    with pytest.raises(InvalidToken):
        AccessTokens(SECRET * 2, 20).verify(token, now=1010)


def test_a_short_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="256 bits"):
        AccessTokens(b"short", 20)
