"""The SQLite store: private file, WAL, secrets kept, transactions all-or-nothing."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from authapi.sqlite_store import SqliteStore
from authapi.store import Family, RefreshToken


def test_file_is_owner_only_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tokens.sqlite3"
    store = SqliteStore.open(path)
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_secrets_are_made_once_and_kept(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "t.sqlite3")
    first = store.secret("a")
    assert len(first) == 32
    assert store.secret("a") == first
    assert store.secret("b") != first
    store.close()
    again = SqliteStore.open(tmp_path / "t.sqlite3")
    assert again.secret("a") == first
    again.close()


def test_each_install_gets_its_own_secret(tmp_path: Path) -> None:
    a, b = SqliteStore.open(tmp_path / "a.sqlite3"), SqliteStore.open(tmp_path / "b.sqlite3")
    assert a.secret("x") != b.secret("x")
    a.close()
    b.close()


def test_a_failed_transaction_leaves_nothing_behind() -> None:
    store = SqliteStore.open(":memory:")

    def two_writes_then_a_crash() -> None:
        with store.transaction() as tx:
            tx.add_family(Family("f", "demo", 0, 10))
            tx.add_token(RefreshToken(b"h", "f", 0))
            raise RuntimeError("crash between writes")

    with pytest.raises(RuntimeError, match="crash"):
        two_writes_then_a_crash()
    with store.read() as tx:
        assert tx.family("f") is None
        assert tx.token(b"h") is None
    # and the connection is usable afterwards
    with store.transaction() as tx:
        tx.add_family(Family("f", "demo", 0, 10))
    assert store.integrity_check() == "ok"


def test_spend_and_revoke_happen_once() -> None:
    store = SqliteStore.open(":memory:")
    with store.transaction() as tx:
        tx.add_family(Family("f", "demo", 0, 10_000))
        tx.add_token(RefreshToken(b"h", "f", 0))
        tx.spend_token(b"h", 5)
        tx.spend_token(b"h", 9)  # already spent: keeps the first time
        tx.revoke_family("f", 7, "logout")
        tx.revoke_family("f", 8, "reuse")
    with store.read() as tx:
        assert tx.token(b"h") == RefreshToken(b"h", "f", 0, spent_ms=5)
        assert tx.family("f") == Family("f", "demo", 0, 10_000, revoked_ms=7, revoked_reason="logout")
        assert tx.live_tokens("f") == 0


def test_purge_forgets_expired_and_long_revoked_families() -> None:
    store = SqliteStore.open(":memory:")
    with store.transaction() as tx:
        tx.add_family(Family("old", "demo", 0, 100))
        tx.add_family(Family("live", "demo", 0, 10_000))
        tx.add_family(Family("revoked", "demo", 0, 10_000, revoked_ms=50, revoked_reason="logout"))
        tx.add_token(RefreshToken(b"o", "old", 0))
        assert tx.purge(now_ms=200, keep_revoked_ms=100) == 2
    with store.read() as tx:
        assert tx.family("live") is not None
        assert tx.family("old") is None
        assert tx.token(b"o") is None
        assert tx.family("revoked") is None


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        SqliteStore.open(path)
