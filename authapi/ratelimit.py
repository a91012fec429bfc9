"""Failed sign-in limits: at most N failures per key within a sliding window.

    limiter = FailureLimiter(max_failures=10, window=60)
    wait = limiter.retry_after(["user:demo", "addr:10.0.0.7"], now=t)
    if wait:                      # seconds until enough failures leave the window
        ...answer 429 with Retry-After: wait...
    elif limiter.must_wait(keys): # attempts in flight could still reach the limit
        ...wait for one of them to finish, then ask again...
    else:
        ticket = limiter.begin(keys)
        ...check the password...
        limiter.finish(ticket, failed=not ok, now=clock())

Attempts in flight are counted too. Without that, twenty parallel guesses
would all pass the check before the first one had failed; with it, an attempt
that might be the eleventh waits for the ones in flight, and is refused only
if they did fail. So concurrent *successful* sign-ins are never refused, and
concurrent guesses never overrun the limit. A success erases nothing: earlier
failures stay until they age out, so one valid account cannot be used to
reset the count of an address.

Memory is bounded: at most ``max_keys`` keys are tracked; past that, keys
whose failures have all aged out are dropped, then the oldest keys.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Ticket:
    """One attempt in flight, to :meth:`FailureLimiter.finish`."""

    keys: tuple[str, ...]


class FailureLimiter:
    """In-memory sliding-window counter of failures per key, aware of attempts in flight.

    >>> limiter = FailureLimiter(max_failures=2, window=60)
    >>> for t in (0, 1):
    ...     limiter.finish(limiter.begin(["user:x"]), failed=True, now=t)
    >>> limiter.retry_after(["user:x"], now=10)   # the failure at t=0 leaves the window at 60
    50
    >>> limiter.retry_after(["user:x"], now=61)
    0
    """

    def __init__(self, max_failures: int = 10, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._pending: dict[str, int] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, keys: Sequence[str], now: float) -> int:
        """Whole seconds until an attempt for ``keys`` is allowed again; 0 if it may go (or wait)."""
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self.max_failures:
                # The attempt is allowed once enough failures have aged out.
                oldest_that_must_go = times[len(times) - self.max_failures]
                wait = max(wait, oldest_that_must_go + self.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def must_wait(self, keys: Sequence[str]) -> bool:
        """Whether attempts in flight, should they fail, would use up the allowance."""
        return any(len(self._failures.get(key, ())) + self._pending.get(key, 0) >= self.max_failures for key in keys)

    def begin(self, keys: Sequence[str]) -> Ticket:
        """An attempt starts; it counts as in flight until :meth:`finish`."""
        for key in keys:
            self._pending[key] = self._pending.get(key, 0) + 1
        return Ticket(tuple(keys))

    def finish(self, ticket: Ticket, failed: bool, now: float) -> None:
        """The attempt is over; a failure joins the window."""
        for key in ticket.keys:
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)
            if failed:
                self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > self.max_keys:
            self._shrink(now)

    def _shrink(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]


class LoginLimits(Protocol):
    """What the login handler asks of the limits: :class:`MemoryLimits` (one process) or
    :class:`~authapi.pg_limits.PgLimits` (every server on one PostgreSQL database)."""

    #: How often to look again while waiting for attempts in flight elsewhere (None: never
    #: needed, every attempt in flight is this process's and says when it ends).
    poll_s: float | None

    async def admit(self, keys: Sequence[str], now: float) -> int | Any | None:
        """Retry-After seconds (refused), ``None`` (wait for attempts in flight) or a ticket."""
        ...

    async def finish(self, ticket: Any, failed: bool, now: float) -> None: ...


class MemoryLimits:
    """:class:`LoginLimits` over a :class:`FailureLimiter` in this process's memory.

    >>> import asyncio
    >>> limits = MemoryLimits(FailureLimiter(max_failures=1, window=60))
    >>> ticket = asyncio.run(limits.admit(["user:x"], now=0))
    >>> asyncio.run(limits.admit(["user:x"], now=0)) is None    # the first may still fail
    True
    >>> asyncio.run(limits.finish(ticket, failed=True, now=0)); asyncio.run(limits.admit(["user:x"], now=1))
    59
    """

    poll_s: float | None = None

    def __init__(self, limiter: FailureLimiter) -> None:
        self.limiter = limiter

    async def admit(self, keys: Sequence[str], now: float) -> int | Ticket | None:
        wait = self.limiter.retry_after(keys, now)
        if wait:
            return wait
        if self.limiter.must_wait(keys):
            return None
        return self.limiter.begin(keys)

    async def finish(self, ticket: Ticket, failed: bool, now: float) -> None:
        self.limiter.finish(ticket, failed, now)
