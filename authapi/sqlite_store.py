"""The SQLite implementation of :class:`~authapi.store.Store`.

    store = SqliteStore.open(Path("tokens.sqlite3"))   # or SqliteStore.open(":memory:")
    with store.transaction() as tx:
        tx.add_family(Family("f1", "demo", created_ms=0, expires_ms=604_800_000))
    store.close()

Why it is safe to kill: WAL journaling, and every change goes through one
``BEGIN IMMEDIATE`` ... ``COMMIT``. A process killed mid-transaction leaves a
WAL whose uncommitted frames SQLite ignores on the next open, so the file is
always at some committed state. ``synchronous=NORMAL`` keeps that guarantee
against a killed process (the OS still has the writes); only a power cut may
lose the last few commits, which costs a user a sign-in, never consistency.

Why a lock as well as ``BEGIN IMMEDIATE``: the lock serialises threads of this
process sharing the one connection; ``IMMEDIATE`` takes SQLite's write lock at
the start, so another process on the same file waits (``busy_timeout``)
instead of failing half-way through a read-then-write.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from authapi.store import Family, RefreshToken, StoreBusy

T = TypeVar("T")
SCHEMA_VERSION = 1
#: How long a transaction waits for another process's write lock before giving up
#: (StoreBusy, answered 503). Short, so a stuck backup tool or a second server on
#: the same file costs a retry, not a stalled server that cannot shut down in 2 s.
BUSY_TIMEOUT_MS = 500
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS families (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL,
    revoked_ms     INTEGER,
    revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS families_expiry ON families (expires_ms);
CREATE INDEX IF NOT EXISTS families_revoked ON families (revoked_ms);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash      BLOB PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    issued_ms INTEGER NOT NULL,
    spent_ms  INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
"""


class NewerSchema(RuntimeError):
    """The file was written by a newer server, whose schema this one does not know."""


class SqliteTx:
    """:class:`~authapi.store.StoreTx` over an open SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def token(self, token_hash: bytes) -> RefreshToken | None:
        row = self._conn.execute(
            "SELECT hash, family_id, issued_ms, spent_ms FROM refresh_tokens WHERE hash = ?", (token_hash,)
        ).fetchone()
        return RefreshToken(*row) if row else None

    def family(self, family_id: str) -> Family | None:
        row = self._conn.execute(
            "SELECT id, username, created_ms, expires_ms, revoked_ms, revoked_reason FROM families WHERE id = ?",
            (family_id,),
        ).fetchone()
        return Family(*row) if row else None

    def add_family(self, family: Family) -> None:
        self._conn.execute(
            "INSERT INTO families VALUES (?, ?, ?, ?, ?, ?)",
            (
                family.id,
                family.username,
                family.created_ms,
                family.expires_ms,
                family.revoked_ms,
                family.revoked_reason,
            ),
        )

    def add_token(self, token: RefreshToken) -> None:
        self._conn.execute(
            "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?)",
            (token.hash, token.family_id, token.issued_ms, token.spent_ms),
        )

    def spend_token(self, token_hash: bytes, now_ms: int) -> None:
        self._conn.execute(
            "UPDATE refresh_tokens SET spent_ms = ? WHERE hash = ? AND spent_ms IS NULL", (now_ms, token_hash)
        )

    def revoke_family(self, family_id: str, now_ms: int, reason: str) -> None:
        self._conn.execute(
            "UPDATE families SET revoked_ms = ?, revoked_reason = ? WHERE id = ? AND revoked_ms IS NULL",
            (now_ms, reason, family_id),
        )

    def live_tokens(self, family_id: str) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM refresh_tokens WHERE family_id = ? AND spent_ms IS NULL", (family_id,)
        ).fetchone()
        return int(row[0])

    def purge(self, now_ms: int, keep_revoked_ms: int, limit: int | None = None) -> int:
        # By rowid, so that one statement deletes at most `limit` families (their tokens
        # go with them: ON DELETE CASCADE); -1 is SQLite's "no limit".
        cur = self._conn.execute(
            "DELETE FROM families WHERE rowid IN"
            " (SELECT rowid FROM families WHERE expires_ms <= ? OR revoked_ms <= ? LIMIT ?)",
            (now_ms, now_ms - keep_revoked_ms, -1 if limit is None else limit),
        )
        return cur.rowcount


def _check_version(conn: sqlite3.Connection, path: Path | str) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise NewerSchema(f"{path}: store schema {version} is newer than this server ({SCHEMA_VERSION})")


@contextmanager
def _busy_is_store_busy() -> Iterator[None]:
    """SQLite's "database is locked" (after ``busy_timeout``) as :class:`StoreBusy`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreBusy(str(exc)) from exc
        raise


class SqliteStore:
    """:class:`~authapi.store.Store` in one SQLite file (WAL mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._busy_ms = BUSY_TIMEOUT_MS
        self._local = threading.local()  # .impatient: this thread must not wait for anything

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The connection, for this thread; an impatient thread (the event loop's) waits
        neither for another thread's transaction nor for another process's write lock."""
        impatient = getattr(self._local, "impatient", False)
        if not self._lock.acquire(blocking=not impatient):
            raise StoreBusy("the store is in use by a call that waits for it")
        try:
            busy_ms = 0 if impatient else BUSY_TIMEOUT_MS
            if busy_ms != self._busy_ms:
                self._conn.execute(f"PRAGMA busy_timeout={busy_ms}")
                self._busy_ms = busy_ms
            with _busy_is_store_busy():
                yield
        finally:
            self._lock.release()

    async def run_without_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store call from the event loop without ever blocking it.

        First right here, impatiently (no thread hop: the common case costs
        nothing extra); if the store is busy, again in a worker thread that may
        wait up to ``BUSY_TIMEOUT_MS``. Safe because a busy store fails at
        ``BEGIN``, before any change.
        """
        self._local.impatient = True
        try:
            return fn(*args)
        except StoreBusy:
            pass
        finally:
            self._local.impatient = False
        return await asyncio.to_thread(fn, *args)

    @classmethod
    def open(cls, path: Path | str) -> SqliteStore:
        """Open (creating if needed, owner-only) the store at ``path``."""
        if str(path) != ":memory:":
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create the file owner-only before SQLite does: it holds the signing
            # secret. The -wal and -shm files inherit these permissions.
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (BEGIN IMMEDIATE).
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            # Read before anything is written: a file this server cannot use is left as it was.
            _check_version(conn, path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            store = cls(conn)
            with store._transaction_conn() as c:
                _check_version(c, path)  # again, under the write lock
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return store

    @contextmanager
    def _transaction_conn(self) -> Iterator[sqlite3.Connection]:
        with self._locked():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        """One atomic unit of work.

        >>> store = SqliteStore.open(":memory:")
        >>> with store.transaction() as tx:
        ...     tx.family("nope") is None
        True
        """
        with self._transaction_conn() as conn:
            yield SqliteTx(conn)

    @contextmanager
    def read(self) -> Iterator[SqliteTx]:
        """A consistent read (deferred transaction: no write lock taken)."""
        with self._locked():
            self._conn.execute("BEGIN")
            try:
                yield SqliteTx(self._conn)
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")

    def secret(self, name: str, nbytes: int = 32) -> bytes:
        """The install's secret ``name``; made once, kept in the ``meta`` table."""
        with self._transaction_conn() as c:
            row = c.execute("SELECT value FROM meta WHERE key = ?", (f"secret:{name}",)).fetchone()
            if row is not None:
                return bytes(row[0])
            value = secrets.token_bytes(nbytes)
            c.execute("INSERT INTO meta VALUES (?, ?)", (f"secret:{name}", value))
            return value

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file: ``"ok"`` when sound."""
        with self._lock:
            return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        """Close the connection (a checkpoint folds the WAL back into the file)."""
        with self._lock:
            self._conn.close()
