"""The accounts and their password check: argon2id, off the event loop.

    book = PasswordBook.from_users([("demo", "demo")])     # hashes now (slow on purpose)
    await book.check("demo", "demo")      # True
    await book.check("nobody", "x")       # False, after as much work as a real check

Cost: argon2-cffi's defaults (RFC 9106's second recommended option:
argon2id, t=3, m=64 MiB, p=4), a noticeable fraction of a second per check
(bench/README.md has the figure). That is deliberate: the check is the price
of a guess.
To keep the server answering meanwhile, checks run in worker threads, at
most ``workers`` at a time so that a burst of sign-ins cannot ask for
64 MiB each all at once.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # imported where used, so the seam imports without argon2-cffi (an in-page demo)
    from concurrent.futures import ThreadPoolExecutor

    from argon2 import PasswordHasher


class PasswordChecker(Protocol):
    """The seam the handlers use; an in-page demo without threads may bring its own."""

    async def check(self, username: str, password: str) -> bool: ...

    def close(self) -> None: ...


class PasswordBook:
    """Configured users, their argon2 hashes, and a bounded pool to verify in."""

    def __init__(self, hashes: dict[str, str], dummy_hash: str, hasher: PasswordHasher, workers: int) -> None:
        self._hashes = hashes
        self._dummy = dummy_hash
        self._hasher = hasher
        # Imported here: a page importing the seam (the in-page demo) has no threads.
        from concurrent.futures import ThreadPoolExecutor

        self._pool: ThreadPoolExecutor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")

    @classmethod
    def from_users(
        cls, users: Iterable[tuple[str, str]], hasher: PasswordHasher | None = None, workers: int | None = None
    ) -> PasswordBook:
        """Hash each ``(name, password)`` (a later duplicate name wins)."""
        from argon2 import PasswordHasher

        hasher = hasher or PasswordHasher()
        hashes = {name: hasher.hash(password) for name, password in users}
        # Unknown names are checked against this, so they cost as much as known
        # ones and the answer time does not tell which names exist.
        dummy = hasher.hash(secrets.token_urlsafe(16))
        return cls(hashes, dummy, hasher, workers or max(1, min(4, os.cpu_count() or 1)))

    def usernames(self) -> list[str]:
        return list(self._hashes)

    def _verify(self, username: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        known = username in self._hashes
        try:
            self._hasher.verify(self._hashes.get(username, self._dummy), password)
        except (VerificationError, InvalidHashError):
            return False
        return known

    async def check(self, username: str, password: str) -> bool:
        """Whether ``password`` is ``username``'s, computed in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify, username, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
