"""Real backends nobody here wrote, started by the tests: a djangorestframework-simplejwt API.

``simplejwt`` (session-scoped) is one server for the whole run, its SQLite file in a
temporary folder, started the way :class:`tests.serverproc.ServerProcess` starts
``serve.py``; ``world`` is the clock a test moves, the client's and that server's
together, and what the server saw::

    def test_something(simplejwt: SimpleJwtServer, world: World) -> None:
        world.advance(6)                       # both clocks, no sleep
        assert world.seen_since(mark) == [...]
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import ServerProcess

SCRIPT = Path(__file__).resolve().parent / "simplejwt_api.py"
#: The server's ACCESS_TOKEN_LIFETIME: short, and long enough that a loaded machine's
#: real seconds between two steps of a test never decide its outcome.
ACCESS_TTL = 10
#: An origin the API allows by CORS (the page that would call it).
PAGE_ORIGIN = "http://127.0.0.1:8765"


class SimpleJwtServer:
    """The running API: ``base`` is its ``.../api/`` URL, ``token_urls`` the three SimpleJWT views."""

    def __init__(self, proc: ServerProcess) -> None:
        self.proc = proc
        self.root = proc.url
        self.base = proc.url + "api/"
        self.token_urls = (self.base + "token/", self.base + "token/refresh/", self.base + "token/blacklist/")

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One plain call (no session rules), ``path`` under the server's root: ``(status, JSON body)``."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.root + path, data=data, method=method, headers={"content-type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def seen(self) -> list[dict[str, Any]]:
        """Every request the API saw since it started: ``method``, ``path``, ``authorization``, ``status``."""
        status, seen = self.call("GET", "test/seen")
        assert status == 200
        return list(seen)


@pytest.fixture(scope="session")
def simplejwt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleJwtServer]:
    folder = tmp_path_factory.mktemp("simplejwt")
    args = ["--access-ttl", str(ACCESS_TTL), "--cors-origin", PAGE_ORIGIN, "--test-hooks"]
    with ServerProcess(args, db=folder / "db.sqlite3", script=SCRIPT, start_timeout=60) as proc:
        yield SimpleJwtServer(proc)


class World:
    """Time for one test: the client's clock (``world.clock_ms``) and the server's, moved together.

    The server's clock only moves forward and is shared by the whole session, so each
    test starts from where the last one left it; its own tokens are all it looks at.
    """

    def __init__(self, server: SimpleJwtServer) -> None:
        self.server = server
        status, answer = server.call("POST", "test/clock", {"advance": 0})
        assert status == 200
        self.offset_s = float(answer["offset"])
        #: How far the client's clock is ahead of the server's (negative: behind).
        self.skew_s = 0.0
        self._mark = len(server.seen())

    def clock_ms(self) -> float:
        return time.time() * 1000 + (self.offset_s + self.skew_s) * 1000

    def advance(self, seconds: float) -> None:
        status, answer = self.server.call("POST", "test/clock", {"advance": seconds})
        assert status == 200
        self.offset_s = float(answer["offset"])

    def seen(self) -> list[dict[str, Any]]:
        """What the server saw since this test began."""
        return self.server.seen()[self._mark :]

    def calls(self, path: str) -> list[dict[str, Any]]:
        """The requests to ``path`` (under ``api/``) the server saw since this test began."""
        return [call for call in self.seen() if call["path"] == "/api/" + path]


@pytest.fixture
def world(simplejwt: SimpleJwtServer) -> World:
    return World(simplejwt)
