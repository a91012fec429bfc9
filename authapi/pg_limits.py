"""The failed sign-in limits in PostgreSQL: one count for every server on the database.

The rule is :mod:`authapi.ratelimit`'s (at most ``max_failures`` failures per key within
``window`` seconds; attempts in flight count, so parallel guesses never overrun it), kept
in the table ``pyauth_login_attempts``: one row per key and attempt, ``failed_ms`` NULL
while the attempt is in flight. :meth:`PgLimits.admit` counts and, when the attempt may go,
inserts its rows in one transaction holding an advisory lock per key, so two servers
cannot both admit the eleventh guess.

    limits = PgLimits(store, max_failures=10, window=60)
    admitted = await limits.admit(["user:demo", "addr:10.0.0.7"], now)
    # an int: 429 with that Retry-After; None: wait for attempts in flight; else a ticket
    await limits.finish(ticket, failed=not ok, now=clock())

Rows leave when their failure leaves the window (pruned as attempts come), a success
deletes its own rows, and an attempt whose server died in flight stops counting after
:data:`STALE_ATTEMPT_S`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from authapi.pg_store import PgStore
from authapi.sessions import retrying

#: An attempt in flight older than this is taken for one whose server was killed.
STALE_ATTEMPT_S = 30.0


def db_key(key: str) -> str:
    r"""``key`` as PostgreSQL text can hold it: text has no NUL character, and a username is
    whatever a client sent; so NUL is written ``\0`` and a backslash ``\\``, which keeps two
    keys apart in the table as they are apart here.

    >>> db_key("user:de\x00mo"), db_key(r"user:de\0mo"), db_key("addr:10.0.0.7")
    ('user:de\\0mo', 'user:de\\\\0mo', 'addr:10.0.0.7')
    """
    return key.replace("\\", "\\\\").replace("\x00", "\\0")


@dataclass(frozen=True)
class PgTicket:
    """The rows of one attempt in flight."""

    ids: tuple[int, ...]


class PgLimits:
    """:class:`~authapi.ratelimit.LoginLimits` counted in the database."""

    #: Attempts in flight on other servers end without telling this one: look again this often.
    poll_s: float | None = 0.05

    def __init__(self, store: PgStore, max_failures: int = 10, window: float = 60.0) -> None:
        self.store = store
        self.max_failures = max_failures
        self.window = window

    async def admit(self, keys: Sequence[str], now: float) -> int | PgTicket | None:
        """Retry-After seconds (refused), ``None`` (wait: attempts in flight may use up the
        allowance) or the ticket of an attempt that may go."""
        return await retrying(lambda: self._admit(keys, now))

    async def _admit(self, keys: Sequence[str], now: float) -> int | PgTicket | None:
        now_ms = math.floor(now * 1000)
        since_ms = now_ms - math.floor(self.window * 1000)
        stale_ms = now_ms - math.floor(STALE_ATTEMPT_S * 1000)
        ordered = sorted({db_key(k) for k in keys})  # locks taken in one order everywhere: no deadlock
        async with self.store.raw() as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS k", (ordered,)
            )
            await conn.execute(
                "DELETE FROM pyauth_login_attempts WHERE key = ANY(%s)"
                " AND (failed_ms <= %s OR (failed_ms IS NULL AND started_ms <= %s))",
                (ordered, since_ms, stale_ms),
            )
            cur = await conn.execute(
                "SELECT key, failed_ms FROM pyauth_login_attempts WHERE key = ANY(%s) ORDER BY failed_ms",
                (ordered,),
            )
            rows = await cur.fetchall()
            wait_ms, must_wait = 0, False
            for key in ordered:
                failed = [f for k, f in rows if k == key and f is not None]
                pending = sum(1 for k, f in rows if k == key and f is None)
                if len(failed) >= self.max_failures:
                    oldest_that_must_go = failed[len(failed) - self.max_failures]
                    wait_ms = max(wait_ms, oldest_that_must_go + math.floor(self.window * 1000) - now_ms)
                must_wait = must_wait or len(failed) + pending >= self.max_failures
            if wait_ms > 0:
                return max(1, math.ceil(wait_ms / 1000))
            if must_wait:
                return None
            cur = await conn.execute(
                "INSERT INTO pyauth_login_attempts (key, started_ms)"
                " SELECT k, %s FROM unnest(%s::text[]) AS k RETURNING id",
                (now_ms, ordered),
            )
            return PgTicket(tuple(row[0] for row in await cur.fetchall()))

    async def finish(self, ticket: PgTicket, failed: bool, now: float) -> None:
        """The attempt is over: a failure stays in the window, a success leaves no trace."""
        await retrying(lambda: self._finish(ticket, failed, now))

    async def _finish(self, ticket: PgTicket, failed: bool, now: float) -> None:
        async with self.store.raw() as conn:
            if failed:
                await conn.execute(
                    "UPDATE pyauth_login_attempts SET failed_ms = %s WHERE id = ANY(%s)",
                    (math.floor(now * 1000), list(ticket.ids)),
                )
            else:
                await conn.execute("DELETE FROM pyauth_login_attempts WHERE id = ANY(%s)", (list(ticket.ids),))
