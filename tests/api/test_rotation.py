"""The pure rotation policy: the verdict table and the successor chain."""

from __future__ import annotations

import pytest

from authapi.rotation import Verdict, judge, new_token, successor, token_hash
from authapi.store import Family, RefreshToken

FAMILY = Family("f", "demo", created_ms=0, expires_ms=100_000)
LIVE = RefreshToken(b"h", "f", issued_ms=0)
SPENT = RefreshToken(b"h", "f", issued_ms=0, spent_ms=50_000)


@pytest.mark.parametrize(
    ("token", "family", "now_ms", "verdict"),
    [
        (None, None, 0, Verdict.UNKNOWN),
        (LIVE, None, 0, Verdict.UNKNOWN),
        (LIVE, Family("f", "demo", 0, 100_000, revoked_ms=5, revoked_reason="logout"), 10, Verdict.REVOKED),
        (LIVE, FAMILY, 99_999, Verdict.ROTATE),
        (LIVE, FAMILY, 100_000, Verdict.EXPIRED),
        (SPENT, FAMILY, 50_000, Verdict.REPLAY),
        (SPENT, FAMILY, 59_999, Verdict.REPLAY),
        (SPENT, FAMILY, 60_000, Verdict.REUSE),
        (SPENT, Family("f", "demo", 0, 55_000), 56_000, Verdict.EXPIRED),
    ],
)
def test_verdict_table(token: RefreshToken | None, family: Family | None, now_ms: int, verdict: Verdict) -> None:
    assert judge(token, family, now_ms, grace_ms=10_000) is verdict


def test_revocation_wins_over_grace() -> None:
    revoked = Family("f", "demo", 0, 100_000, revoked_ms=50_000, revoked_reason="reuse")
    assert judge(SPENT, revoked, 51_000, grace_ms=10_000) is Verdict.REVOKED


def test_successor_is_deterministic_per_key_and_token() -> None:
    key = b"k" * 32
    assert successor(key, "t0") == successor(key, "t0")
    assert successor(key, "t0") != successor(b"j" * 32, "t0")
    assert successor(key, "t0") != successor(key, "t1")
    assert len(successor(key, "t0")) == 43  # 256 bits in base64url


def test_new_tokens_are_256_bit_and_distinct() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 43 for t in tokens)


def test_token_hash_is_sha256_and_tolerates_any_text() -> None:
    assert len(token_hash("abc")) == 32
    assert token_hash("\ud800") != token_hash("abc")
