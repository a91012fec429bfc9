"""The refresh-token store seam: what the session logic needs from storage.

A store hands out transactions; everything done through one
:class:`StoreTx` becomes visible all at once or not at all, and two
transactions never interleave. That is what makes "two refreshes racing
with one token" safe: the read of the token and the write of its successor
happen in one transaction. :class:`~authapi.sqlite_store.SqliteStore` is the
implementation; an in-page demo can use it on ``":memory:"`` or bring its own.

    with store.transaction() as tx:
        row = tx.token(token_hash)
        if row is not None and row.spent_ms is None:
            tx.spend_token(token_hash, now_ms)

Times are integer milliseconds since the epoch, so that "what is left of a
family's lifetime" is exact arithmetic.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Family:
    """A login session: every refresh token that descends from one login."""

    id: str
    username: str
    created_ms: int
    expires_ms: int  # absolute: login time + refresh_ttl, never extended
    revoked_ms: int | None = None
    revoked_reason: str | None = None


@dataclass(frozen=True)
class RefreshToken:
    """One refresh token of a family, known only by its SHA-256 hash."""

    hash: bytes
    family_id: str
    issued_ms: int
    spent_ms: int | None = None  # when it was rotated; None while it is the family's live token


class StoreBusy(Exception):
    """The store could not be had in time (another process holds its write lock)."""


class StoreUnavailable(StoreBusy):
    """The store cannot be reached (a database server restarting, a connection lost): answered
    503 ``store_unavailable`` with ``Retry-After``; the next call tries again."""


class StoreRetry(StoreUnavailable):
    """The call failed on a connection that turned out dead before it changed anything (an idle
    connection the database dropped): the caller may run it again at once, on a fresh one."""


class StoreTx(Protocol):
    """Reads and writes inside one transaction."""

    def token(self, token_hash: bytes) -> RefreshToken | None: ...

    def family(self, family_id: str) -> Family | None: ...

    def add_family(self, family: Family) -> None: ...

    def add_token(self, token: RefreshToken) -> None: ...

    def spend_token(self, token_hash: bytes, now_ms: int) -> None: ...

    def revoke_family(self, family_id: str, now_ms: int, reason: str) -> None: ...

    def live_tokens(self, family_id: str) -> int:
        """How many unspent tokens the family has (the invariant: at most one)."""
        ...

    def purge(self, now_ms: int, keep_revoked_ms: int, limit: int | None = None) -> int:
        """Forget expired families and ones revoked over ``keep_revoked_ms`` ago, at most
        ``limit`` of them (all when ``None``), with their tokens; returns how many."""
        ...


class Store(Protocol):
    """A durable home for refresh-token families and the install's secrets."""

    def transaction(self) -> AbstractContextManager[StoreTx]:
        """One atomic unit of work: committed on normal exit, rolled back on an exception."""
        ...

    def read(self) -> AbstractContextManager[StoreTx]:
        """A read-only snapshot: never blocks writers, must not write."""
        ...

    def secret(self, name: str, nbytes: int = 32) -> bytes:
        """The install's secret ``name``, generated (``secrets.token_bytes``) on first use."""
        ...

    def close(self) -> None: ...


class AsyncStore(Protocol):
    """A store over the network (:class:`~authapi.pg_store.PgStore`): the same transactions,
    awaited, so no database call blocks the event loop. Its transaction object has the
    methods of :class:`StoreTx` as coroutines; :func:`authapi.sessions.run_async` drives one."""

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    def read(self) -> AbstractAsyncContextManager[Any]: ...

    def secret(self, name: str, nbytes: int = 32) -> bytes: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...
