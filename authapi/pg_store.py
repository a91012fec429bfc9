"""The PostgreSQL implementation of :class:`~authapi.store.AsyncStore`: several servers, one API.

    store = PgStore.connect("postgresql://pyauth@db.internal:5432/pyauth")  # migrates, loads secrets
    async with store.transaction() as tx:
        await tx.add_family(Family("f1", "demo", created_ms=0, expires_ms=604_800_000))
    await store.aclose()

psycopg 3 with an :class:`psycopg_pool.AsyncConnectionPool`, so no database call blocks
the event loop. ``connect`` itself is synchronous (one plain connection, at start-up,
before anything is served): it creates or migrates the schema and reads the install's
secrets; the pool opens on first use, in the loop that serves.

Why several servers on one database behave as one process: every transaction that
writes to a session first locks its family's row (``SELECT ... FOR UPDATE``; see
:meth:`PgTx.token`), and runs at READ COMMITTED, where each statement sees what was
committed before it began. So two servers racing on one refresh token take turns: the
second one sees the token spent, and answers as the grace rule says (the same tokens)
or revokes. Families are only ever locked one at a time, so no deadlock is possible.

Why start-up is safe when several start at once: the migration runs in one transaction
under a transaction-scoped advisory lock (:data:`MIGRATION_LOCK`), against a version
table; the secrets are made in that transaction too (``ON CONFLICT DO NOTHING``), so
every server signs and verifies access tokens with the same key.

A lock held by someone else (an administrator's transaction left open in psql holding a
session's row, a table locked by hand) is waited for :data:`LOCK_TIMEOUT_MS` at most, as
SQLite's write lock is: then the call raises :class:`~authapi.store.StoreBusy` (503
``store_busy`` with ``Retry-After``), having changed nothing, and the connection goes back to
the pool; the waiting never holds up other calls. A ``lock_timeout`` set in the URL
(``?options=-c%20lock_timeout%3D2s``), in ``PGOPTIONS``, or for the role or the database
is kept.

Faults: a connection the server lost is replaced (a call that meets one before it
changed anything is run again once on a fresh one; see :meth:`PgStore._connection`);
while the database cannot be reached, every call raises
:class:`~authapi.store.StoreUnavailable` within :data:`POOL_TIMEOUT_S`, which the API
answers 503 ``store_unavailable`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authapi.store import Family, RefreshToken, StoreBusy, StoreRetry, StoreUnavailable

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("authapi")

SCHEMA_VERSION = 1
#: ``pg_advisory_xact_lock`` key of the migration (any constant unique to this app).
MIGRATION_LOCK = 0x70_79_61_75_74_68  # "pyauth"
#: How long a call waits for a connection before answering 503.
POOL_TIMEOUT_S = 2.0
#: How long opening one connection may take.
CONNECT_TIMEOUT_S = 2
#: How long a statement waits for a lock before giving up (PostgreSQL's ``lock_timeout``, set
#: on each pooled connection where nothing else set one), then 503 as SQLite's
#: ``BUSY_TIMEOUT_MS``. Our own servers hold a session's row (see :meth:`PgTx.token`) or a
#: sign-in key (:mod:`authapi.pg_limits`) for a few round trips, but a burst of calls queues on
#: one: long enough for such a queue on a loaded machine (20 refreshes of one token at once, at
#: a load average of 15 on 2 cores: 500 ms answered some of them 503, 2 s one, and one answer
#: took 3.1 s), short of a client's 10 s timeout.
LOCK_TIMEOUT_MS = 5000
POOL_MIN, POOL_MAX = 2, 10
#: Every migration, in order: ``MIGRATIONS[n - 1]`` takes the schema from version n - 1 to n.
MIGRATIONS = [
    """
    CREATE TABLE pyauth_meta (
        key   text PRIMARY KEY,
        value bytea NOT NULL
    );
    CREATE TABLE pyauth_families (
        id             text PRIMARY KEY,
        username       text NOT NULL,
        created_ms     bigint NOT NULL,
        expires_ms     bigint NOT NULL,
        revoked_ms     bigint,
        revoked_reason text
    );
    CREATE INDEX pyauth_families_expiry ON pyauth_families (expires_ms);
    CREATE INDEX pyauth_families_revoked ON pyauth_families (revoked_ms);
    CREATE TABLE pyauth_refresh_tokens (
        hash      bytea PRIMARY KEY,
        family_id text NOT NULL REFERENCES pyauth_families (id) ON DELETE CASCADE,
        issued_ms bigint NOT NULL,
        spent_ms  bigint
    );
    CREATE INDEX pyauth_refresh_tokens_family ON pyauth_refresh_tokens (family_id);
    CREATE TABLE pyauth_login_attempts (
        id         bigserial PRIMARY KEY,
        key        text NOT NULL,
        started_ms bigint NOT NULL,
        failed_ms  bigint
    );
    CREATE INDEX pyauth_login_attempts_key ON pyauth_login_attempts (key, started_ms);
    """,
]
SECRETS = ("access-token-hs256", "refresh-chain")


class NewerSchema(RuntimeError):
    """The database was migrated by a newer server, whose schema this one does not know."""


def is_postgres_url(value: object) -> bool:
    """Whether ``--db value`` names a PostgreSQL database rather than an SQLite file.

    >>> is_postgres_url("postgresql://pyauth@db:5432/pyauth"), is_postgres_url("tokens.sqlite3")
    (True, False)
    """
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"the PostgreSQL store is unavailable: {exc}".strip())


class PgTx:
    """:class:`~authapi.store.StoreTx` as coroutines, over one open transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        self._locked: dict[str, Family] = {}  # families this transaction holds locked, as read then

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        cur = await self._conn.execute(sql, params)
        return await cur.fetchone()

    async def token(self, token_hash: bytes, lock: bool = False) -> RefreshToken | None:
        """The token's row; with ``lock``, its family's row is locked first (until commit), so
        the row read is what the last writer to that family left.

        Both statements go in one round trip (pipeline mode): the server runs them in order,
        and the second one's snapshot is taken once the first holds the lock.
        """
        family_cur = None
        if lock:
            family_cur = await self._conn.execute(
                "SELECT id, username, created_ms, expires_ms, revoked_ms, revoked_reason FROM pyauth_families"
                " WHERE id = (SELECT family_id FROM pyauth_refresh_tokens WHERE hash = %s) FOR UPDATE",
                (token_hash,),
            )
        cur = await self._conn.execute(
            "SELECT hash, family_id, issued_ms, spent_ms FROM pyauth_refresh_tokens WHERE hash = %s", (token_hash,)
        )
        if family_cur is not None:
            family = await family_cur.fetchone()
            if family is not None:
                self._locked[family[0]] = Family(*family)
        row = await cur.fetchone()
        return RefreshToken(bytes(row[0]), *row[1:]) if row else None

    async def family(self, family_id: str) -> Family | None:
        if family_id in self._locked:  # read under the lock; nobody else can have changed it
            return self._locked[family_id]
        row = await self._one(
            "SELECT id, username, created_ms, expires_ms, revoked_ms, revoked_reason FROM pyauth_families"
            " WHERE id = %s",
            (family_id,),
        )
        return Family(*row) if row else None

    async def add_family(self, family: Family) -> None:
        await self._conn.execute(
            "INSERT INTO pyauth_families VALUES (%s, %s, %s, %s, %s, %s)",
            (
                family.id,
                family.username,
                family.created_ms,
                family.expires_ms,
                family.revoked_ms,
                family.revoked_reason,
            ),
        )

    async def add_token(self, token: RefreshToken) -> None:
        await self._conn.execute(
            "INSERT INTO pyauth_refresh_tokens VALUES (%s, %s, %s, %s)",
            (token.hash, token.family_id, token.issued_ms, token.spent_ms),
        )

    async def spend_token(self, token_hash: bytes, now_ms: int) -> None:
        await self._conn.execute(
            "UPDATE pyauth_refresh_tokens SET spent_ms = %s WHERE hash = %s AND spent_ms IS NULL", (now_ms, token_hash)
        )

    async def revoke_family(self, family_id: str, now_ms: int, reason: str) -> None:
        self._locked.pop(family_id, None)
        await self._conn.execute(
            "UPDATE pyauth_families SET revoked_ms = %s, revoked_reason = %s WHERE id = %s AND revoked_ms IS NULL",
            (now_ms, reason, family_id),
        )

    async def live_tokens(self, family_id: str) -> int:
        row = await self._one(
            "SELECT count(*) FROM pyauth_refresh_tokens WHERE family_id = %s AND spent_ms IS NULL", (family_id,)
        )
        return int(row[0])

    async def purge(self, now_ms: int, keep_revoked_ms: int, limit: int | None = None) -> int:
        # SKIP LOCKED: a family another server is rotating right now is left for the next purge.
        cur = await self._conn.execute(
            "DELETE FROM pyauth_families WHERE id IN (SELECT id FROM pyauth_families"
            " WHERE expires_ms <= %s OR revoked_ms <= %s LIMIT %s FOR UPDATE SKIP LOCKED)",
            (now_ms, now_ms - keep_revoked_ms, limit),
        )
        return cur.rowcount


def migrate(conn: psycopg.Connection[Any]) -> dict[str, bytes]:
    """Bring the schema to :data:`SCHEMA_VERSION` and make the secrets, in one transaction under
    :data:`MIGRATION_LOCK` (other servers starting at the same time wait, then find it done)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS pyauth_schema (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM pyauth_schema").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        if version > SCHEMA_VERSION:
            raise NewerSchema(f"store schema {version} is newer than this server ({SCHEMA_VERSION})")
        for n in range(version + 1, SCHEMA_VERSION + 1):
            log.info("migrating the PostgreSQL store to schema %d", n)
            conn.execute(MIGRATIONS[n - 1].encode())
            conn.execute("INSERT INTO pyauth_schema VALUES (%s)", (n,))
        for name in SECRETS:
            conn.execute(
                "INSERT INTO pyauth_meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                (f"secret:{name}", secrets.token_bytes(32)),
            )
        rows = conn.execute("SELECT key, value FROM pyauth_meta WHERE key LIKE 'secret:%%'").fetchall()
    return {key.removeprefix("secret:"): bytes(value) for key, value in rows}


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    """A new pooled connection: :data:`LOCK_TIMEOUT_MS`, unless its ``lock_timeout`` was set
    already (the URL's ``options``, ``PGOPTIONS``, ``ALTER ROLE`` or ``ALTER DATABASE ... SET``)."""
    await conn.execute(
        "SELECT set_config('lock_timeout', %s, false) WHERE current_setting('lock_timeout') = '0'",
        (f"{LOCK_TIMEOUT_MS}ms",),
    )


@dataclass
class _Call:
    """One use of a pooled connection: whether its commit may have reached the database."""

    committing: bool = False


class PgStore:
    """:class:`~authapi.store.AsyncStore` on a PostgreSQL database (URL ``postgresql://...``)."""

    def __init__(self, url: str, secrets_by_name: dict[str, bytes]) -> None:
        self.url = url
        self._secrets = secrets_by_name
        self._pool: AsyncConnectionPool[Any] | None = None
        self._opening: asyncio.Lock | None = None

    @classmethod
    def connect(cls, url: str) -> PgStore:
        """Migrate the database at ``url`` and read its secrets (blocking: call it before serving).

        Raises ``psycopg.OperationalError`` when the database cannot be reached, and
        :class:`NewerSchema`.
        """
        import psycopg

        with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            return cls(url, migrate(conn))

    async def _open_pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is not None:
            return self._pool
        from psycopg_pool import AsyncConnectionPool

        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                    self.url,
                    min_size=POOL_MIN,
                    max_size=POOL_MAX,
                    open=False,
                    timeout=POOL_TIMEOUT_S,
                    kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
                    configure=_configure,
                    name="pyauth",
                )
                await pool.open(wait=False)
                self._pool = pool
        return self._pool

    @asynccontextmanager
    async def _connection(self, call: _Call) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection. Not checked before it is lent (that would cost a round trip
        per call): one that died while idle fails on first use; if that was before the call
        sent its commit, nothing was changed, so the call raises
        :class:`~authapi.store.StoreRetry` once every idle connection is checked
        (``pool.check()``), and the caller's one retry gets a live connection."""
        import psycopg

        lost = False
        try:
            pool = await self._open_pool()
            async with pool.connection() as conn:
                try:
                    yield conn
                except psycopg.OperationalError:
                    if conn.broken:
                        lost = True
                        await pool.check()
                    raise
        except psycopg.errors.LockNotAvailable as exc:  # lock_timeout: the statement, so the call, changed nothing
            raise StoreBusy(f"a lock held by another connection: {exc}") from exc
        except psycopg.OperationalError as exc:  # includes the pool's PoolTimeout
            if lost and not call.committing:
                raise StoreRetry(f"a pooled connection was lost: {exc}") from exc
            raise _unavailable(exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        """One atomic unit of work: committed on normal exit, rolled back on an exception.

        In pipeline mode: a statement whose result is not needed yet (``BEGIN``, the writes,
        ``COMMIT``) is sent with the next one that is, so a refresh costs two round trips
        (the locked reads, then the writes with the commit) instead of seven.
        """
        call = _Call()
        async with self._connection(call) as conn, conn.pipeline(), conn.transaction():
            yield PgTx(conn)
            call.committing = True

    @asynccontextmanager
    async def read(self) -> AsyncIterator[PgTx]:
        """Reads, each a statement of its own (autocommit): nothing is locked, nothing written."""
        async with self._connection(_Call()) as conn:
            yield PgTx(conn)

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection in a transaction, for the login limits (:mod:`authapi.pg_limits`)."""
        call = _Call()
        async with self._connection(call) as conn, conn.transaction():
            yield conn
            call.committing = True

    def secret(self, name: str, nbytes: int = 32) -> bytes:
        """The install's secret ``name``: shared by every server on this database."""
        value = self._secrets.get(name)
        if value is None or len(value) < nbytes:
            raise KeyError(f"no secret {name!r} in the PostgreSQL store (known: {', '.join(SECRETS)})")
        return value

    async def aclose(self) -> None:
        """Close the pool (its connections), if it was opened."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(timeout=1.0)

    def close(self) -> None:
        """Forget the pool; its connections close with the process (use :meth:`aclose` in the loop)."""
        self._pool = None
