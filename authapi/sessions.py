"""Sessions: login families, refresh rotation, logout, access checks.

Glue between the pure rotation policy (:mod:`authapi.rotation`), the store
and the access-token signer. Each operation is one store transaction with no
``await`` inside, so within one process nothing interleaves with it, and
``BEGIN IMMEDIATE`` keeps other processes out.

    sessions = Sessions(store, AccessTokens(secret, ttl=20), refresh_key, refresh_ttl=604800, grace=10)
    grant = sessions.start("demo", now=clock())
    grant = sessions.refresh(grant.refresh_token, now=clock())   # a Grant, or raises SessionError
    sessions.end(grant.refresh_token, now=clock())
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authapi import rotation
from authapi.rotation import Verdict
from authapi.store import Family, RefreshToken, Store
from authapi.tokens import AccessTokenSigner, InvalidToken

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
        store: Store,
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
        self._store = store
        self._accounts = accounts
        self._access = access
        self._refresh_key = refresh_key
        self._refresh_ttl_ms = refresh_ttl * 1000
        self._grace_ms = grace * 1000
        self._last_purge_ms = -PURGE_EVERY_MS

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
        now_ms = _ms(now)
        family = Family(secrets.token_hex(16), username, now_ms, now_ms + self._refresh_ttl_ms)
        token = rotation.new_token()
        with self._store.transaction() as tx:
            tx.add_family(family)
            tx.add_token(RefreshToken(rotation.token_hash(token), family.id, now_ms))
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
            with self._store.transaction() as tx:
                n = tx.purge(now_ms, KEEP_REVOKED_MS, batch)
            purged += n
            if n < batch:
                return purged
        self._last_purge_ms = now_ms - PURGE_EVERY_MS  # a backlog is left: due again at once
        return purged

    def refresh(self, presented: str, now: float) -> Grant:
        """Rotate ``presented`` (see :mod:`authapi.rotation` for the rules)."""
        now_ms = _ms(now)
        presented_hash = rotation.token_hash(presented)
        with self._store.transaction() as tx:
            row = tx.token(presented_hash)
            family = tx.family(row.family_id) if row else None
            verdict = rotation.judge(row, family, now_ms, self._grace_ms)
            if family is not None and not self._has_account(family.username):
                raise SessionError("account removed")
            if verdict is Verdict.ROTATE:
                assert family is not None
                nxt = rotation.successor(self._refresh_key, presented)
                tx.spend_token(presented_hash, now_ms)
                tx.add_token(RefreshToken(rotation.token_hash(nxt), family.id, now_ms))
                return self._grant(family, nxt, now)
            if verdict is Verdict.REPLAY:
                assert family is not None
                head = presented
                for _ in range(rotation.MAX_REPLAY_STEPS):
                    head = rotation.successor(self._refresh_key, head)
                    link = tx.token(rotation.token_hash(head))
                    if link is None or link.family_id != family.id:
                        break  # a chain with a gap cannot happen; refuse rather than guess
                    if link.spent_ms is None:
                        return self._grant(family, head, now)
                raise SessionError("broken chain")
            if verdict is Verdict.REUSE:
                assert family is not None
                tx.revoke_family(family.id, now_ms, "reuse")
        # Outside the transaction: the revocation above is committed, not rolled back.
        raise SessionError(verdict.value)

    def end(self, presented: str, now: float) -> bool:
        """Revoke the family of ``presented`` (logout); whether it was known."""
        with self._store.transaction() as tx:
            row = tx.token(rotation.token_hash(presented))
            if row is None:
                return False
            tx.revoke_family(row.family_id, _ms(now), "logout")
            return True

    def check_access(self, token: str, now: float) -> dict[str, Any]:
        """The claims of a live access token whose family is still live, else :class:`SessionError`.

        Checking the family makes logout and reuse detection take effect at
        once, not only when the (short) access token expires.
        """
        try:
            claims = self._access.verify(token, now)
        except InvalidToken as exc:
            raise SessionError(str(exc)) from exc
        with self._store.read() as tx:
            family = tx.family(claims["sid"])
        if family is None or family.revoked_ms is not None or _ms(now) >= family.expires_ms:
            raise SessionError("session ended")
        if not self._has_account(family.username):
            raise SessionError("account removed")
        return claims
