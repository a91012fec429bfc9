"""The key-value store of the in-page demo API: one atomic value, re-read by every transaction."""

from __future__ import annotations

import doctest
import json

import pytest

from authapi import kvstore
from authapi.kvstore import MAX_SPENT_PER_FAMILY, KvStore, MemoryKeyValue
from authapi.store import Family, RefreshToken


class CountingKeyValue(MemoryKeyValue):
    """Counts the writes, to check that each transaction is exactly one."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def set(self, key: str, value: str) -> None:
        self.writes += 1
        super().set(key, value)


def test_a_transaction_is_one_write_and_a_read_none() -> None:
    kv = CountingKeyValue()
    store = KvStore(kv, key="k")
    with store.transaction() as tx:
        tx.add_family(Family("f", "demo", 0, 10_000))
        tx.add_token(RefreshToken(b"h" * 32, "f", 0))
        tx.spend_token(b"h" * 32, 5)
    assert kv.writes == 1
    with store.read() as tx:
        assert tx.token(b"h" * 32) == RefreshToken(b"h" * 32, "f", 0, spent_ms=5)
    with store.transaction() as tx:
        tx.family("f")
    assert kv.writes == 1  # nothing changed: nothing written


def test_a_failed_transaction_leaves_nothing_behind() -> None:
    kv = MemoryKeyValue()
    store = KvStore(kv)

    def two_writes_then_a_crash() -> None:
        with store.transaction() as tx:
            tx.add_family(Family("f", "demo", 0, 10))
            raise RuntimeError("crash between writes")

    with pytest.raises(RuntimeError, match="crash"):
        two_writes_then_a_crash()
    assert kv == {}
    with store.read() as tx:
        assert tx.family("f") is None


def test_each_transaction_sees_what_another_store_on_the_same_storage_wrote() -> None:
    kv = MemoryKeyValue()
    tab_one, tab_two = KvStore(kv), KvStore(kv)
    with tab_one.transaction() as tx:
        tx.add_family(Family("f", "demo", 0, 10_000))
    with tab_two.transaction() as tx:
        tx.revoke_family("f", 7, "logout")
    with tab_one.read() as tx:
        assert tx.family("f") == Family("f", "demo", 0, 10_000, revoked_ms=7, revoked_reason="logout")


def test_reads_must_not_write() -> None:
    store = KvStore(MemoryKeyValue())
    with pytest.raises(RuntimeError, match="read-only"), store.read() as tx:
        tx.add_family(Family("f", "demo", 0, 10))


def test_spend_and_revoke_happen_once_and_tokens_need_their_family() -> None:
    store = KvStore(MemoryKeyValue())
    with store.transaction() as tx:
        tx.add_family(Family("f", "demo", 0, 10_000))
        tx.add_token(RefreshToken(b"h", "f", 0))
        tx.spend_token(b"h", 5)
        tx.spend_token(b"h", 9)
        tx.revoke_family("f", 7, "logout")
        tx.revoke_family("f", 8, "reuse")
        with pytest.raises(ValueError, match="no family"):
            tx.add_token(RefreshToken(b"x", "nope", 0))
        with pytest.raises(ValueError, match="exists"):
            tx.add_family(Family("f", "demo", 0, 1))
    with store.read() as tx:
        assert tx.token(b"h") == RefreshToken(b"h", "f", 0, spent_ms=5)
        assert tx.family("f") == Family("f", "demo", 0, 10_000, revoked_ms=7, revoked_reason="logout")
        assert tx.live_tokens("f") == 0


def test_purge_forgets_expired_and_long_revoked_families_with_their_tokens() -> None:
    store = KvStore(MemoryKeyValue())
    with store.transaction() as tx:
        tx.add_family(Family("old", "demo", 0, 100))
        tx.add_family(Family("revoked", "demo", 0, 10_000, revoked_ms=50, revoked_reason="logout"))
        tx.add_family(Family("recently-revoked", "demo", 0, 10_000, revoked_ms=900, revoked_reason="logout"))
        tx.add_family(Family("live", "demo", 0, 10_000))
        for fid in ("old", "revoked", "recently-revoked", "live"):
            tx.add_token(RefreshToken(fid.encode(), fid, 0))
        assert tx.purge(now_ms=1000, keep_revoked_ms=500) == 2
    with store.read() as tx:
        assert [tx.family(f) is not None for f in ("old", "revoked", "recently-revoked", "live")] == [
            False,
            False,
            True,
            True,
        ]
        assert tx.token(b"old") is None and tx.token(b"live") is not None


def test_spent_tokens_are_capped_per_family_oldest_first() -> None:
    store = KvStore(MemoryKeyValue())
    with store.transaction() as tx:
        tx.add_family(Family("f", "demo", 0, 10**9))
        for i in range(MAX_SPENT_PER_FAMILY + 5):
            tx.add_token(RefreshToken(i.to_bytes(4, "big"), "f", i))
            tx.spend_token(i.to_bytes(4, "big"), i + 1)
        tx.add_token(RefreshToken(b"head", "f", 10**6))
    with store.read() as tx:
        assert [tx.token(i.to_bytes(4, "big")) is None for i in (0, 4, 5)] == [True, True, False]
        assert tx.live_tokens("f") == 1


def test_secrets_are_made_once_and_kept_per_key() -> None:
    kv = MemoryKeyValue()
    first = KvStore(kv, key="a").secret("s")
    assert len(first) == 32
    assert KvStore(kv, key="a").secret("s") == first
    assert KvStore(kv, key="b").secret("s") != first


@pytest.mark.parametrize("stored", ["not json", "[]", '{"version": 99}', '{"version": 1, "tokens": []}'])
def test_an_unreadable_state_starts_afresh(stored: str) -> None:
    kv = MemoryKeyValue({"k": stored})
    store = KvStore(kv, key="k")
    with store.transaction() as tx:
        tx.add_family(Family("f", "demo", 0, 10))
    assert json.loads(kv["k"])["families"]["f"]["username"] == "demo"


def test_docstring_examples_run() -> None:
    assert doctest.testmod(kvstore).failed == 0
