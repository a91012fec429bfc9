"""Sessions: login families, refresh rotation, logout, access checks.

Glue between the pure rotation policy (:mod:`authapi.rotation`), the store
and the access-token signer. Each operation is one store transaction, written
once as a *flow* (a generator of store steps, :data:`Flow`) that a driver runs:
:func:`run` over SQLite, where the transaction has no ``await`` inside, so
within one process nothing interleaves with it and ``BEGIN IMMEDIATE`` keeps
other processes out; :func:`run_async` over PostgreSQL, where
the family's row lock does (several processes on one database are one API).

    sessions = Sessions(store, AccessTokens(secret, ttl=20), refresh_key, refresh_ttl=604800, grace=10)
    grant = sessions.start("demo", now=clock())
    grant = sessions.refresh(grant.refresh_token, now=clock())   # a Grant, or raises SessionError
    sessions.end(grant.refresh_token, now=clock())
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from authapi import rotation
from authapi.rotation import Verdict
from authapi.store import AsyncStore, Family, RefreshToken, Store, StoreRetry
from authapi.tokens import AccessTokenSigner, InvalidToken

T = TypeVar("T")
#: A session operation's store steps, written once for every store: it yields
#: ``(method name, *args)`` of a :class:`~authapi.store.StoreTx` and is sent the result; its
#: return value is the operation's. :func:`run` drives one over a store,
#: :func:`run_async` over PostgreSQL (as httpx's auth flows, STYLE 2).
Flow: TypeAlias = Generator[tuple[Any, ...], Any, T]

#: Revoked families are kept this long before being purged, for the record.
KEEP_REVOKED_MS = 24 * 3600 * 1000
#: How often (at most) a login starts a purge of dead families.
PURGE_EVERY_MS = 3600 * 1000
#: Families forgotten per purge transaction: each one holds the store's write lock only
#: briefly, so requests get the store between batches however large the backlog.
PURGE_BATCH = 500
#: Batches per purge at most; a backlog larger than that is left for the next one.
PURGE_MAX_BATCHES = 200


class SessionError(Exception):
    """A refresh token or access token that grants nothing; ``reason`` says why (for logs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Grant:
    """The tokens of a successful login or refresh (contract section 3's body)."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int

    def body(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_expires_in": self.refresh_expires_in,
        }


def _ms(now: float) -> int:
    return math.floor(now * 1000)


class Sessions:
    """The session state machine over a :class:`~authapi.store.Store`."""

    def __init__(
        self,
        store: Store | None,
        access: AccessTokenSigner,
        refresh_key: bytes,
        refresh_ttl: int,
        grace: int,
        accounts: frozenset[str] | None = None,
    ) -> None:
        """``accounts``: the configured usernames; sessions of anyone else grant nothing.

        The store outlives a restart with other ``--user`` flags: a removed
        account must not live on through its old refresh tokens.
        """
        self._sync_store = store  # None: the flows are driven elsewhere (AsyncSessions)
        self._accounts = accounts
        self._access = access
        self._refresh_key = refresh_key
        self._refresh_ttl_ms = refresh_ttl * 1000
        self._grace_ms = grace * 1000
        self._last_purge_ms = -PURGE_EVERY_MS

    @property
    def _store(self) -> Store:
        if self._sync_store is None:
            raise TypeError("these sessions have no synchronous store; use AsyncSessions")
        return self._sync_store

    def _has_account(self, username: str) -> bool:
        return self._accounts is None or username in self._accounts

    def _grant(self, family: Family, refresh_token: str, now: float) -> Grant:
        return Grant(
            access_token=self._access.issue(family.username, family.id, now),
            refresh_token=refresh_token,
            expires_in=self._access.ttl,
            # Floor: a client cookie must not outlive the family.
            refresh_expires_in=max(0, (family.expires_ms - _ms(now)) // 1000),
        )

    def start(self, username: str, now: float) -> Grant:
        """A new family for ``username`` (who has just proved their password)."""
        return run(self._store, self.start_flow(username, now))

    def start_flow(self, username: str, now: float) -> Flow[Grant]:
        now_ms = _ms(now)
        family = Family(secrets.token_hex(16), username, now_ms, now_ms + self._refresh_ttl_ms)
        token = rotation.new_token()
        yield "add_family", family
        yield "add_token", RefreshToken(rotation.token_hash(token), family.id, now_ms)
        return self._grant(family, token, now)

    def purge_due(self, now: float) -> bool:
        """Whether the last purge began :data:`PURGE_EVERY_MS` ago or more (or left a backlog)."""
        return _ms(now) - self._last_purge_ms >= PURGE_EVERY_MS

    def purge(
        self,
        now: float,
        stop: Callable[[], bool] = lambda: False,
        batch: int = PURGE_BATCH,
        max_batches: int = PURGE_MAX_BATCHES,
    ) -> int:
        """Forget dead families (expired, or revoked :data:`KEEP_REVOKED_MS` ago) with their
        tokens, ``batch`` at a time, one transaction each; returns how many.

        Stops early when ``stop()`` turns true (the server shuts down). A blocking call on a
        store on disk: run it off the event loop.

        >>> from authapi.sqlite_store import SqliteStore
        >>> sessions = Sessions(SqliteStore.open(":memory:"), None, b"k", refresh_ttl=60, grace=0)
        >>> sessions.purge(now=0.0), sessions.purge_due(now=1.0)
        (0, False)
        """
        now_ms = _ms(now)
        self._last_purge_ms = now_ms
        purged = 0
        for _ in range(max_batches):
            if stop():
                return purged
            n = run(self._store, self.purge_batch_flow(now_ms, batch))
            purged += n
            if n < batch:
                return purged
        self._last_purge_ms = now_ms - PURGE_EVERY_MS  # a backlog is left: due again at once
        return purged

    def purge_batch_flow(self, now_ms: int, batch: int) -> Flow[int]:
        n: int = yield "purge", now_ms, KEEP_REVOKED_MS, batch
        return n

    def refresh(self, presented: str, now: float) -> Grant:
        """Rotate ``presented`` (see :mod:`authapi.rotation` for the rules)."""
        return _granted(run(self._store, self.refresh_flow(presented, now)))

    def refresh_flow(self, presented: str, now: float) -> Flow[Grant | SessionError]:
        """The store steps of :meth:`refresh`; a refusal is returned, not raised, so that a
        revocation it made is committed."""
        now_ms = _ms(now)
        presented_hash = rotation.token_hash(presented)
        # A store that locks (PostgreSQL) locks the token's family here: every later read of
        # this transaction sees what the last writer to that family committed.
        row: RefreshToken | None = yield "token", presented_hash, True
        family: Family | None = (yield "family", row.family_id) if row else None
        verdict = rotation.judge(row, family, now_ms, self._grace_ms)
        if family is not None and not self._has_account(family.username):
            return SessionError("account removed")
        if verdict is Verdict.ROTATE:
            assert family is not None
            nxt = rotation.successor(self._refresh_key, presented)
            yield "spend_token", presented_hash, now_ms
            yield "add_token", RefreshToken(rotation.token_hash(nxt), family.id, now_ms)
            return self._grant(family, nxt, now)
        if verdict is Verdict.REPLAY:
            assert family is not None
            head = presented
            for _ in range(rotation.MAX_REPLAY_STEPS):
                head = rotation.successor(self._refresh_key, head)
                link: RefreshToken | None = yield "token", rotation.token_hash(head)
                if link is None or link.family_id != family.id:
                    break  # a chain with a gap cannot happen; refuse rather than guess
                if link.spent_ms is None:
                    return self._grant(family, head, now)
            return SessionError("broken chain")
        if verdict is Verdict.REUSE:
            assert family is not None
            yield "revoke_family", family.id, now_ms, "reuse"
        return SessionError(verdict.value)

    def end(self, presented: str, now: float) -> bool:
        """Revoke the family of ``presented`` (logout); whether it was known."""
        return run(self._store, self.end_flow(presented, now))

    def end_flow(self, presented: str, now: float) -> Flow[bool]:
        row: RefreshToken | None = yield "token", rotation.token_hash(presented), True
        if row is None:
            return False
        yield "revoke_family", row.family_id, _ms(now), "logout"
        return True

    def check_access(self, token: str, now: float) -> dict[str, Any]:
        """The claims of a live access token whose family is still live, else :class:`SessionError`.

        Checking the family makes logout and reuse detection take effect at
        once, not only when the (short) access token expires.
        """
        claims = self.verify_access(token, now)
        with self._store.read() as tx:
            family = tx.family(claims["sid"])
        return self.session_of(claims, family, now)

    def verify_access(self, token: str, now: float) -> dict[str, Any]:
        """The claims of ``token`` when its signature and expiry hold (no store involved)."""
        try:
            return self._access.verify(token, now)
        except InvalidToken as exc:
            raise SessionError(str(exc)) from exc

    def session_of(self, claims: dict[str, Any], family: Family | None, now: float) -> dict[str, Any]:
        """``claims`` when their family (``claims["sid"]``) is live, else :class:`SessionError`."""
        if family is None or family.revoked_ms is not None or _ms(now) >= family.expires_ms:
            raise SessionError("session ended")
        if not self._has_account(family.username):
            raise SessionError("account removed")
        return claims


def _granted(outcome: Grant | SessionError) -> Grant:
    if isinstance(outcome, SessionError):
        raise outcome
    return outcome


def run(store: Store, flow: Flow[T]) -> T:
    """Drive ``flow`` inside one transaction of ``store`` (committed when it returns).

    >>> from authapi.sqlite_store import SqliteStore
    >>> def count() -> Flow[int]:
    ...     n = yield "live_tokens", "no-such-family"
    ...     return n
    >>> run(SqliteStore.open(":memory:"), count())
    0
    """
    with store.transaction() as tx:
        try:
            step = next(flow)
            while True:
                name, *args = step
                step = flow.send(getattr(tx, name)(*_plain(name, args)))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _plain(name: str, args: list[Any]) -> list[Any]:
    """The arguments of step ``name`` for :class:`~authapi.store.StoreTx`: ``("token", hash, True)``
    asks a locking store to lock the family too; a plain store takes the hash alone."""
    return args[:1] if name == "token" else args


async def run_async(store: AsyncStore, flow: Flow[T]) -> T:
    """:func:`run` over an :class:`~authapi.store.AsyncStore`: each step awaited."""
    async with store.transaction() as tx:
        try:
            step = next(flow)
            while True:
                name, *args = step
                step = flow.send(await getattr(tx, name)(*args))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


class AsyncSessions:
    """:class:`Sessions` over an :class:`~authapi.store.AsyncStore`: the same flows, awaited.

    The handlers await ``offload(sessions.refresh, token, now)``; with these sessions
    the offload is :func:`awaited`, with :class:`Sessions` a thread or the event loop.
    """

    def __init__(self, store: AsyncStore, flows: Sessions) -> None:
        self.store = store
        self.flows = flows

    def purge_due(self, now: float) -> bool:
        return self.flows.purge_due(now)

    async def start(self, username: str, now: float) -> Grant:
        return await retrying(lambda: run_async(self.store, self.flows.start_flow(username, now)))

    async def refresh(self, presented: str, now: float) -> Grant:
        return _granted(await retrying(lambda: run_async(self.store, self.flows.refresh_flow(presented, now))))

    async def end(self, presented: str, now: float) -> bool:
        return await retrying(lambda: run_async(self.store, self.flows.end_flow(presented, now)))

    async def check_access(self, token: str, now: float) -> dict[str, Any]:
        claims = self.flows.verify_access(token, now)

        async def read() -> Family | None:
            async with self.store.read() as tx:
                family: Family | None = await tx.family(claims["sid"])
                return family

        return self.flows.session_of(claims, await retrying(read), now)

    async def purge(self, now: float, stop: Callable[[], bool] = lambda: False, batch: int = PURGE_BATCH) -> int:
        """:meth:`Sessions.purge`, awaited (several servers may purge at once: a family another
        one is deleting or rotating is skipped, ``SKIP LOCKED``)."""
        now_ms = _ms(now)
        self.flows._last_purge_ms = now_ms
        purged = 0
        for _ in range(PURGE_MAX_BATCHES):
            if stop():
                return purged
            n = await run_async(self.store, self.flows.purge_batch_flow(now_ms, batch))
            purged += n
            if n < batch:
                return purged
        self.flows._last_purge_ms = now_ms - PURGE_EVERY_MS  # a backlog is left: due again at once
        return purged


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, and once more if it failed on a lost connection before it changed
    anything (:class:`~authapi.store.StoreRetry`: a connection the database dropped while idle)."""
    try:
        return await call()
    except StoreRetry:
        return await call()


async def awaited(fn: Callable[..., Any], *args: Any) -> Any:
    """The offload for :class:`AsyncSessions`: their calls are coroutines already."""
    return await fn(*args)
