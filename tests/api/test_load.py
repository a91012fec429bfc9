"""Many clients refresh at once against a real serve.py (bounded by a count, loopback only); then a
kill -9 mid-load and a restart on the same ``--db``; on each store (an SQLite file, a
PostgreSQL database). Correctness, not speed: the figures live in bench/kill_bench.py and
bench/README.md."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import httpx

from .conftest import Server, wait_until
from .loadgen import LoadResult, run_load, spent_tokens, store_state, token_hash

StartServer = Callable[..., Server]
CLIENTS = 20
REFRESHES = CLIENTS * 25
#: SQLite's own check of the file; PostgreSQL has none to ask (it recovers from its WAL).
INTEGRITY = {"sqlite": "ok", "pg": None}


def test_concurrent_refreshes_issue_no_token_twice_and_revoke_nothing(server_factory: StartServer, store: str) -> None:
    srv = server_factory("--access-ttl", "30")
    # Bounded by a number of refreshes, not by time (120 s is a hang guard): on a busy machine
    # it just takes longer.
    result = run_load(srv.api, clients=CLIENTS, seconds=120, max_requests=REFRESHES)
    assert result.statuses[200] == CLIENTS + result.refreshes  # every sign-in and refresh answered 200
    assert set(result.statuses) == {200}
    assert not [r.transport_error for r in result.runs if r.transport_error]
    assert result.refreshes == REFRESHES  # all of them made
    tokens = result.all_tokens()
    assert len(tokens) == len(set(tokens))  # no refresh token issued twice
    srv.stop()
    state = store_state(srv.db)
    assert state.integrity == INTEGRITY[store]
    assert state.families == CLIENTS and state.revoked == 0  # no family revoked wrongly
    assert set(state.live_per_family.values()) == {1}  # each family: exactly one live token...
    assert state.live_hashes == {token_hash(r.tokens[-1]) for r in result.runs}  # ...the one its client holds


def test_kill_9_mid_load_then_restart_leaves_every_family_valid_or_revoked(
    server_factory: StartServer, store: str
) -> None:
    srv = server_factory("--access-ttl", "30", "--refresh-grace", "30")
    outcome: list[LoadResult] = []
    loader = threading.Thread(  # until the kill ends it (120 s: a hang guard)
        target=lambda: outcome.append(run_load(srv.api, CLIENTS, seconds=120, max_requests=1_000_000))
    )
    loader.start()
    # Once refreshes are flowing (the login phase is over), pull the plug: over CLIENTS * 6
    # committed, so over CLIENTS * 5 answered (each client has at most one answer in flight).
    wait_until(lambda: spent_tokens(srv.db) > CLIENTS * 6)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(5)
    loader.join(30)
    result = outcome[0]
    assert result.refreshes > CLIENTS * 5
    assert set(result.statuses) == {200}  # up to the kill, no error
    tokens = result.all_tokens()
    assert len(tokens) == len(set(tokens))

    state = store_state(srv.db)  # the store as the kill left it
    assert state.integrity == INTEGRITY[store]
    assert state.families == CLIENTS
    assert state.revoked == 0
    assert set(state.live_per_family.values()) == {1}  # never a family with two heads or none

    again = server_factory("--access-ttl", "30", "--refresh-grace", "30", db=srv.db)
    with httpx.Client(base_url=again.api, timeout=10, trust_env=False) as c:
        for run in result.runs:
            # The last token a client got is live; or, if its next refresh was committed but
            # the answer lost to the kill, it is a replay inside grace: it gets the head.
            resp = c.post("refresh_token", json={"refresh_token": run.tokens[-1]})
            assert resp.status_code == 200, (run.in_flight is not None, resp.text)
    assert store_state(again.db).revoked == 0
