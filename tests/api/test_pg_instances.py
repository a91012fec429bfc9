"""Three ``serve.py --db postgresql://...`` processes on one database are one API (contract
section 12): sessions, grace, reuse, logout and the 429 limit hold across them; a killed
instance comes back to the same chains; PostgreSQL going away is a clean 503, then recovery.

Waits are for conditions (an answer, a count in the database), never for a time span,
except where the rule itself is about time: "after the grace" waits for the grace to pass.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from ..pgserver import PgServer, free_port
from .conftest import Server, empty_pg_db, start_server, wait_until
from .loadgen import LoadResult, run_load, spent_tokens, store_state, token_hash

GRACE = 3  # s: long enough for a replay sent at once to land inside it, short enough to wait out
CLIENTS = 10


@dataclass
class Trio:
    """Three instances on one database; ``restart(i)`` brings one back on its own port."""

    url: str
    args: list[str]
    servers: list[Server]
    ports: list[int]

    @property
    def apis(self) -> list[str]:
        return [s.api for s in self.servers]

    def client(self, i: int) -> httpx.Client:
        return httpx.Client(base_url=self.servers[i].api, timeout=10, trust_env=False)

    def restart(self, i: int) -> Server:
        self.servers[i] = start_server(self.url, "--port", str(self.ports[i]), *self.args)  # type: ignore[arg-type]
        return self.servers[i]


def start_trio(url: str, *args: str) -> Trio:
    ports = [free_port() for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:  # started together: the migration must cope
        servers = list(pool.map(lambda p: start_server(url, "--port", str(p), *args), ports))  # type: ignore[arg-type]
    return Trio(url, list(args), servers, ports)


def stop_trio(trio: Trio) -> list[int]:
    """SIGTERM each; their exit statuses."""
    return [s.stop() for s in trio.servers]


@pytest.fixture(scope="module")
def shared_trio(pg_server: PgServer) -> Iterator[Trio]:
    """One trio for the module (starting three servers is what costs here); its database is
    emptied before each test (:func:`trio`)."""
    trio = start_trio(pg_server.create_db(f"trio{free_port()}"), "--access-ttl", "60", "--refresh-grace", str(GRACE))
    yield trio
    for s in trio.servers:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


@pytest.fixture
def trio(shared_trio: Trio) -> Trio:
    empty_pg_db(shared_trio.url)
    return shared_trio


def test_one_session_across_three_instances_rotation_grace_reuse(trio: Trio) -> None:
    a, b, c = (trio.client(i) for i in range(3))
    with a, b, c:
        grant = a.post("login", json={"username": "demo", "password": "demo"}).json()
        bearer = {"authorization": f"Bearer {grant['access_token']}"}
        assert b.get("me", headers=bearer).status_code == 200  # one signing key: B verifies A's token
        t0 = grant["refresh_token"]
        on_b = b.post("refresh_token", json={"refresh_token": t0})
        assert on_b.status_code == 200  # issued on A, refreshed on B
        t1 = on_b.json()["refresh_token"]
        spent_at = time.monotonic()
        on_c = c.post("refresh_token", json={"refresh_token": t0})  # a lost answer, retried on C
        assert on_c.status_code == 200
        assert on_c.json()["refresh_token"] == t1  # within the grace: the same current token
        assert a.get("me", headers={"authorization": f"Bearer {on_c.json()['access_token']}"}).status_code == 200
        # After the grace, t0 again on A is reuse: the family is revoked on every instance.
        while (reuse := a.post("refresh_token", json={"refresh_token": t0})).status_code == 200:
            assert reuse.json()["refresh_token"] == t1
            time.sleep(0.2)  # polling for the grace to run out (the rule is about time)
        assert reuse.status_code == 401
        assert time.monotonic() - spent_at >= GRACE - 0.5  # never before the grace (clock tolerance)
        assert b.post("refresh_token", json={"refresh_token": t1}).status_code == 401
        assert c.get("me", headers={"authorization": f"Bearer {on_b.json()['access_token']}"}).status_code == 401
        # Logout on one instance ends the session on the others.
        other = b.post("login", json={"username": "demo", "password": "demo"}).json()
        assert c.post("logout", json={"refresh_token": other["refresh_token"]}).status_code == 204
        assert a.post("refresh_token", json={"refresh_token": other["refresh_token"]}).status_code == 401
        assert b.get("me", headers={"authorization": f"Bearer {other['access_token']}"}).status_code == 401


def test_concurrent_chains_over_three_instances_never_issue_a_token_twice(trio: Trio) -> None:
    # Bounded by a number of requests, not by time: on a busy machine it just takes longer.
    result = run_load(trio.apis, clients=CLIENTS, seconds=120, max_requests=CLIENTS * 12)
    assert set(result.statuses) == {200}
    assert result.refreshes == CLIENTS * 12
    tokens = result.all_tokens()
    assert len(tokens) == len(set(tokens))  # no refresh token issued twice
    state = store_state(trio.url)
    assert state.families == CLIENTS and state.revoked == 0
    assert set(state.live_per_family.values()) == {1}  # each family: exactly one live token...
    assert state.live_hashes == {token_hash(r.tokens[-1]) for r in result.runs}  # ...the one its client holds


def test_sigkill_one_instance_mid_load_the_others_go_on_and_it_continues_the_chains(trio: Trio) -> None:
    # A client that lost an answer to the kill sends the same token to the next instance at
    # once, well inside the grace: it gets the head, nothing is revoked.
    stop = threading.Event()
    outcome: list[LoadResult] = []
    loader = threading.Thread(
        target=lambda: outcome.append(
            run_load(trio.apis, CLIENTS, seconds=120, max_requests=100_000, failover=True, stop=stop)
        )
    )
    loader.start()
    try:
        wait_until(lambda: spent_tokens(trio.url) > CLIENTS * 5)  # refreshes are flowing on all three
        trio.servers[1].proc.send_signal(signal.SIGKILL)
        trio.servers[1].proc.wait(5)
        at_kill = spent_tokens(trio.url)
        wait_until(lambda: spent_tokens(trio.url) > at_kill + CLIENTS * 5)  # the other two go on
        trio.restart(1)  # same port: the clients' turns reach it again
        at_restart = spent_tokens(trio.url)
        wait_until(lambda: spent_tokens(trio.url) > at_restart + CLIENTS * 5)
    finally:
        stop.set()
        loader.join(60)
    result = outcome[0]
    assert set(result.statuses) == {200}  # no error answered, before, during or after the kill
    assert sum(r.failovers for r in result.runs) >= 1  # some requests did meet the dead instance
    tokens = result.all_tokens()
    assert len(tokens) == len(set(tokens))
    state = store_state(trio.url)
    assert state.families == CLIENTS and state.revoked == 0
    assert set(state.live_per_family.values()) == {1}  # never a family with two heads or none
    with trio.client(1) as again:  # the restarted instance continues every chain
        for run in result.runs:
            resp = again.post("refresh_token", json={"refresh_token": run.tokens[-1]})
            assert resp.status_code == 200, resp.text


def test_postgres_restarting_is_a_clean_503_then_service_resumes(pg_server: PgServer, trio: Trio) -> None:
    a, b = trio.client(0), trio.client(1)
    with a, b:
        grant = a.post("login", json={"username": "demo", "password": "demo"}).json()
        pg_server.stop()
        try:
            bearer = {"authorization": f"Bearer {grant['access_token']}"}
            for resp in (
                a.post("refresh_token", json={"refresh_token": grant["refresh_token"]}),
                b.get("me", headers=bearer),
            ):
                assert resp.status_code == 503
                assert resp.json() == {
                    "error": "store_unavailable",
                    "message": "The token store cannot be reached; try again.",
                }
                assert resp.headers["retry-after"] == "1"
        finally:
            pg_server.start_again()
        for c in (a, b):  # each instance's pool reconnects by itself; a 503 until it has
            while (resp := c.post("refresh_token", json={"refresh_token": grant["refresh_token"]})).status_code == 503:
                assert resp.json()["error"] == "store_unavailable"
            assert resp.status_code == 200  # the first, or (on B) a replay of it inside the grace
    for s in trio.servers:
        assert not [line for line in s.output if "Traceback" in line], "".join(s.output)


def test_the_429_limit_is_shared_by_the_instances(trio: Trio) -> None:
    # All from 127.0.0.1: the address is refused too, until the next test's fixture empties the attempts.
    clients = [trio.client(i) for i in range(3)]
    try:
        for n in range(10):  # ten failures for one user, spread over the three
            resp = clients[n % 3].post("login", json={"username": "demo", "password": f"wrong{n}"})
            assert resp.status_code == 401
        for c in clients:  # the eleventh attempt is refused on every instance, right password or not
            resp = c.post("login", json={"username": "demo", "password": "demo"})
            assert resp.status_code == 429
            assert 1 <= int(resp.headers["retry-after"]) <= 60
            assert resp.json()["error"] == "too_many_requests"
    finally:
        for c in clients:
            c.close()


def test_concurrent_guesses_over_the_instances_cannot_overrun_the_limit(trio: Trio) -> None:
    def guess(n: int) -> int:
        with trio.client(n % 3) as c:
            return c.post("login", json={"username": "demo", "password": f"wrong{n}"}).status_code

    with ThreadPoolExecutor(16) as pool:  # all in flight at once, five or six on each instance
        statuses = list(pool.map(guess, range(16)))
    # Attempts in flight count, in the database: exactly ten are checked (and fail), the rest wait
    # for them and are refused.
    assert sorted(statuses) == [401] * 10 + [429] * 6


def test_sigterm_stops_each_instance_cleanly(trio: Trio) -> None:
    assert stop_trio(trio) == [0, 0, 0]  # the pool closed in the server's loop, exit status 0
