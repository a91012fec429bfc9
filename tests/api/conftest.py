"""Fixtures for the auth API tests: a fake clock, an in-process API, a real server process.

Both token stores: a test that asks for :func:`store` (directly, or through
:func:`server_factory`, :func:`server`, :func:`store_db` or :func:`store_api`) runs twice,
``[sqlite]`` on an SQLite file and ``[pg]`` on the session's PostgreSQL (:func:`pg_server`,
one per xdist worker; each test gets a database of its own or an emptied one). A test that
only one store can run says why beside ``@sqlite_only``; one whose subject involves no store
(the token guard, the cap on ``slow``) runs once, ``@store_independent``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from authapi.app import AuthApi, Settings
from authapi.messages import ApiRequest, ApiResponse
from authapi.passwords import PasswordBook

from ..pgserver import PgMissing, PgServer

ROOT = Path(__file__).resolve().parents[2]
USERS = [("demo", "demo"), ("alice", "wonderland")]
T0 = 1_800_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


#: How long a wait for a condition may take before the test fails: it only turns a hang into
#: a failure; how soon a condition holds is never what a test checks.
HANG_GUARD_S = 30.0


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition()`` holds (at most :data:`HANG_GUARD_S`)."""
    async with asyncio.timeout(HANG_GUARD_S):
        # Polled: the condition may be another thread's state, with nothing to await.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


def wait_until(condition: Callable[[], bool]) -> None:
    """:func:`until` for a test thread: poll ``condition()`` until it holds (at most :data:`HANG_GUARD_S`)."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still not true after {HANG_GUARD_S} s: {condition}")
        time.sleep(0.005)


class FakeClock:
    """A clock tests move by hand: ``clock.advance(10)``."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeSleep:
    """Records what the API asked to sleep, and returns at once."""

    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class SharedBook(PasswordBook):
    """The test users, hashed once per session with a cheap argon2 setting.

    The real cost (argon2-cffi defaults, ~0.13 s a check) is what serve.py
    runs and the process tests use; here hashing is not what is tested, and
    the rate-limit tests make dozens of checks.
    """

    def close(self) -> None:  # shared: closed once, at the end of the session
        pass


@pytest.fixture(scope="session")
def password_book() -> Iterator[SharedBook]:
    book = PasswordBook.from_users(USERS, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    shared = SharedBook(book._hashes, book._dummy, book._hasher, workers=2)
    book.close()
    yield shared
    PasswordBook.close(shared)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


class Client:
    """Calls ``api.handle`` the way the client's in-memory transport does."""

    def __init__(self, api: AuthApi) -> None:
        self.api = api

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        client: str = "10.0.0.1",
    ) -> ApiResponse:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return await self.api.handle(ApiRequest(method, path, query, headers or {}, data, client))

    async def login(self, username: str = "demo", password: str = "demo", client: str = "10.0.0.1") -> ApiResponse:
        return await self.call("POST", "login", {"username": username, "password": password}, client=client)

    async def refresh(self, token: str) -> ApiResponse:
        return await self.call("POST", "refresh_token", {"refresh_token": token})

    async def me(self, access_token: str) -> ApiResponse:
        return await self.call("GET", "me", headers={"authorization": f"Bearer {access_token}"})


def make_api(tmp_path: Path, book: PasswordBook, clock: FakeClock, sleep: FakeSleep, **overrides: Any) -> AuthApi:
    settings = Settings(
        **{
            "access_ttl": 20,
            "refresh_ttl": 3600,
            "refresh_grace": 10,
            "users": USERS,
            "is_demo": True,
            "db_path": tmp_path / "tokens.sqlite3",
            **overrides,
        }
    )
    return AuthApi.open(settings, clock=clock, sleep=sleep, passwords=book)


@pytest.fixture
def api(tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep) -> Iterator[AuthApi]:
    api = make_api(tmp_path, password_book, clock, fake_sleep)
    yield api
    api.close()


@pytest.fixture
def client(api: AuthApi) -> Client:
    return Client(api)


# --- the real server process ---------------------------------------------------------------


@dataclass
class Server:
    """A running ``serve.py``; ``url`` ends with ``/api/v1/``."""

    proc: subprocess.Popen[str]
    base: str
    db: Path | str  # an SQLite file, or a postgresql:// URL
    args: list[str]
    output: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Keep reading its output so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def api(self) -> str:
        return self.base + "api/v1/"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def start_server(db: Path | str, *extra: str, timeout: float = 30.0) -> Server:
    """Start ``serve.py --port 0 --db DB`` (a file or a ``postgresql://`` URL) and wait for its
    ``Serving on`` line."""
    args = [sys.executable, str(ROOT / "serve.py"), "--port", "0", "--db", str(db), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("Serving on "):
            return Server(proc, line.split()[-1], db, args, seen)
    proc.kill()
    proc.wait()
    raise RuntimeError("serve.py did not start:\n" + "".join(seen))


@pytest.fixture
def server_factory(store: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Start servers on demand (each test gets its own, on a new store of the test's kind);
    all are stopped at the end."""
    new_db = store_maker(request, store)
    started: list[Server] = []

    def start(*extra: str, db: Path | str | None = None) -> Server:
        server = start_server(db or new_db("db"), *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture(scope="session")
def server(store: str, request: pytest.FixtureRequest) -> Iterator[Server]:
    """One server shared by the tests that leave no lasting mark (no failed logins beyond a few)."""
    srv = start_server(store_maker(request, store)("shared"), "--access-ttl", "30")
    yield srv
    srv.stop()


# --- PostgreSQL (contract section 12) ------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL for the session (initdb in a temp folder, a free port); the tests that
    need it skip, saying why, where PostgreSQL is not installed."""
    try:
        server = PgServer.start()
    except PgMissing as exc:
        pytest.skip(str(exc))
    yield server
    server.close()


_databases = itertools.count()


@pytest.fixture
def fresh_pg_url(pg_server: PgServer) -> str:
    """A new, empty database on :func:`pg_server`: its ``postgresql://`` URL."""
    return pg_server.create_db(f"t{os.getpid()}_{next(_databases)}")


@pytest.fixture(scope="session")
def shared_pg_db(pg_server: PgServer) -> str:
    return pg_server.create_db(f"shared{os.getpid()}")


@pytest.fixture
def pg_url(pg_server: PgServer, shared_pg_db: str) -> str:
    """A database on :func:`pg_server` with no sessions and no sign-in attempts in it (the
    secrets and schema stay): emptied for each test, cheaper than a new database each."""
    empty_pg_db(shared_pg_db)
    return shared_pg_db


def empty_pg_db(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('pyauth_families')").fetchone() != (None,):
            conn.execute("TRUNCATE pyauth_families, pyauth_refresh_tokens, pyauth_login_attempts")


# --- both stores ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=["sqlite", "pg"])
def store(request: pytest.FixtureRequest) -> str:
    """The kind of token store of the test's API: ``"sqlite"`` or ``"pg"`` (see the module docstring)."""
    return str(request.param)


#: For a test of the store-parametrized fixtures that only SQLite can run; a comment says why.
sqlite_only = pytest.mark.parametrize("store", ["sqlite"], indirect=True)
#: For a test of those fixtures whose subject involves no store: once is enough (on SQLite).
store_independent = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


def store_maker(request: pytest.FixtureRequest, store: str) -> Callable[[str], Path | str]:
    """``make(prefix)``: a new, empty store of kind ``store`` each call, an SQLite file's path or
    a new database's URL on :func:`pg_server` (requested here, so that where PostgreSQL is
    missing the ``[pg]`` tests skip as :func:`pg_server` says, before they start)."""
    if store == "pg":
        pg: PgServer = request.getfixturevalue("pg_server")
        return lambda prefix: pg.create_db(f"{prefix}{os.getpid()}_{next(_databases)}")
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    return lambda prefix: factory.mktemp(prefix) / "tokens.sqlite3"


def with_lock_timeout(url: str, timeout: str) -> str:
    """A PostgreSQL ``url`` whose connections wait ``timeout`` (``"500ms"``) for a lock, instead of
    ``pg_store.LOCK_TIMEOUT_MS`` (libpq's ``options``, which the store keeps)."""
    return f"{url}?options=-c%20lock_timeout%3D{timeout}"


@pytest.fixture
def store_db(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """The ``db_path`` of an in-process API on the test's store: ``tmp_path/tokens.sqlite3``,
    or :func:`pg_url` (the shared database, emptied)."""
    if store == "pg":
        return str(request.getfixturevalue("pg_url"))
    return tmp_path / "tokens.sqlite3"


@pytest.fixture
async def store_api(
    store_db: Path | str, tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> AsyncIterator[AuthApi]:
    """:func:`api` on the test's store (closed in the test's event loop: a PostgreSQL pool lives there)."""
    api = make_api(tmp_path, password_book, clock, fake_sleep, db_path=store_db)
    yield api
    await api.aclose()
