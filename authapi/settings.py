"""What an :class:`~authapi.app.AuthApi` is configured with, and where it keeps its store.

For example::

    settings = Settings(access_ttl=20, refresh_ttl=604800, refresh_grace=10,
                        users=[("demo", "demo")], is_demo=True, db_path=None)
    settings.store_path()   # ~/.local/share/pyauth-spa/tokens.sqlite3 unless db_path is set
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Request bodies larger than this answer 413 (contract section 3).
MAX_BODY_BYTES = 64 * 1024

#: The cap on ``GET slow?ms=N`` (contract section 3).
MAX_SLOW_MS = 60_000

#: How many ``GET slow`` calls may sleep at once; more answer 503 with ``Retry-After``.
MAX_SLOW_CALLS = 16


@dataclass(frozen=True)
class Settings:
    """The server-side policy, in seconds; mirrors the flags of ``serve.py``.

    ``users`` are ``(name, password)`` pairs, hashed at startup. ``is_demo``
    (off unless asked for; ``serve.py`` turns it on for its default ``demo``
    account) says the accounts are the public demo ones, so ``GET info`` may
    tell the login view the first one's name and password. ``db_path`` ``None`` means the per-user default of
    :func:`default_db_path`; the string ``":memory:"`` keeps nothing on disk; a
    ``postgresql://USER@HOST:PORT/DB`` URL chooses PostgreSQL (:mod:`authapi.pg_store`).

    The rate limit (``max_failures`` failed sign-ins per user or per client
    address within ``failure_window`` seconds) is not a flag of ``serve.py``
    but tests and the in-page demo may tune it.

    ``httponly_refresh`` is the HttpOnly refresh mode (contract section 4,
    ``serve.py --httponly-refresh``): the refresh token travels only in an
    ``HttpOnly`` cookie the API sets itself, never in a body.
    """

    access_ttl: int = 20
    refresh_ttl: int = 604800
    refresh_grace: int = 10
    users: Sequence[tuple[str, str]] = (("demo", "demo"),)
    is_demo: bool = False  # an embedder's real users never have their password published
    db_path: Path | str | None = None
    max_failures: int = 10
    failure_window: int = 60
    max_body: int = MAX_BODY_BYTES
    max_slow_calls: int = MAX_SLOW_CALLS
    #: How long a sign-in may queue behind attempts in flight before it answers 429: the
    #: client's default timeout (10 s), past which nobody waits for the answer anyway.
    login_queue_seconds: float = 10.0
    httponly_refresh: bool = False

    def __post_init__(self) -> None:
        if self.access_ttl <= 0 or self.refresh_ttl <= 0:
            raise ValueError("access_ttl and refresh_ttl must be positive")
        if self.refresh_grace < 0:
            raise ValueError("refresh_grace must not be negative")
        if not self.users:
            raise ValueError("at least one user is needed")

    def store_path(self) -> Path | str:
        """The SQLite file to open: ``db_path``, or the per-user default."""
        return default_db_path() if self.db_path is None else self.db_path


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/pyauth-spa/tokens.sqlite3``, else under ``~/.local/share``.

    >>> default_db_path({"XDG_DATA_HOME": "/data"})
    PosixPath('/data/pyauth-spa/tokens.sqlite3')
    """
    env = os.environ if environ is None else environ
    # XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "pyauth-spa" / "tokens.sqlite3"
