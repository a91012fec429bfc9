"""Failed sign-in limits: at most N failures per key within a sliding window.

    limiter = FailureLimiter(max_failures=10, window=60)
    wait = limiter.retry_after(["user:demo", "addr:10.0.0.7"], now=t)
    if wait:                      # seconds until the oldest failure leaves the window
        ...answer 429 with Retry-After: wait...
    ticket = limiter.begin(["user:demo", "addr:10.0.0.7"], now=t)
    ...check the password...
    if ok: limiter.forgive(ticket)

An attempt counts as a failure from the moment it starts and is forgiven if
it succeeds. Counting it up front makes the limit exact under concurrency:
twenty parallel guesses cannot all pass the check before the first one has
failed. A success forgives only that attempt; earlier failures stay until
they age out, so an attacker holding one valid account cannot use it to
reset the count of their address.

Memory is bounded: at most ``max_keys`` keys are tracked; past that, keys
whose failures have all aged out are dropped, then the oldest keys.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Ticket:
    """One attempt's place in the counts, to :meth:`FailureLimiter.forgive` it."""

    keys: tuple[str, ...]
    at: float


class FailureLimiter:
    """In-memory sliding-window counter of failures per key."""

    def __init__(self, max_failures: int = 10, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

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
        """Whole seconds until an attempt for ``keys`` is allowed again; 0 if it is now."""
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self.max_failures:
                # The attempt is allowed once enough failures have aged out.
                oldest_that_must_go = times[len(times) - self.max_failures]
                wait = max(wait, oldest_that_must_go + self.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def begin(self, keys: Sequence[str], now: float) -> Ticket:
        """Count an attempt as failed until it is forgiven."""
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > self.max_keys:
            self._shrink(now)
        return Ticket(tuple(keys), now)

    def forgive(self, ticket: Ticket) -> None:
        """The attempt succeeded: take it out of the counts."""
        for key in ticket.keys:
            times = self._failures.get(key)
            if times is not None and ticket.at in times:
                times.remove(ticket.at)
                if not times:
                    del self._failures[key]

    def _shrink(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]
