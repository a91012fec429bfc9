"""AuthApi.handle on the PostgreSQL store, in process, with a fake clock (contract section 12).

The handler-level behaviours of ``test_app.py`` that go through the store (sign-in and its
limits, rotation, grace, reuse, logout, access checks) run again here, against a real
PostgreSQL: the ``api`` fixture below replaces ``conftest.py``'s SQLite one for them. Then
what only a shared database has: two APIs on one database racing, a lost connection, several
servers migrating at once. (The database going away and coming back: test_pg_instances.py.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from authapi import pg_store
from authapi.app import AuthApi, Settings
from authapi.pg_store import NewerSchema, PgStore

from .conftest import USERS, Client, FakeClock, FakeSleep, SharedBook

# The store-backed behaviours of test_app.py, collected here again with this module's `api`.
# Left out: test_a_guess_waiting_behind_good_logins_is_served_too, which counts on attempts
# waiting in one process being let in first come, first served; across servers, waiting
# attempts look again in turn (PgLimits.poll_s), so which of them goes first is not fixed.
from .test_app import (  # noqa: F401
    test_a_username_with_a_nul_character_is_counted_as_itself,
    test_access_token_expires_after_access_ttl,
    test_concurrent_good_logins_from_one_address_are_all_served,
    test_concurrent_guesses_cannot_overrun_the_limit,
    test_eleventh_attempt_for_one_user_is_refused_even_with_the_right_password,
    test_family_lifetime_is_absolute_not_sliding,
    test_login_answers_the_contract_shape,
    test_logout_revokes_the_family,
    test_logout_twice_is_204_both_times,
    test_logout_with_an_unknown_token_is_still_204,
    test_refresh_rotates_and_spends_the_old_token,
    test_retry_inside_grace_follows_the_chain_to_its_head,
    test_retry_inside_grace_gets_the_same_successor_and_revokes_nothing,
    test_reuse_after_grace_revokes_the_whole_family,
    test_second_user_signs_in_as_themselves,
    test_sessions_of_other_logins_survive_a_revoked_family,
    test_successful_logins_do_not_count_as_failures,
    test_ten_failures_from_one_address_block_every_user_from_it,
    test_token_signed_with_another_key_is_401,
    test_unknown_refresh_token_is_401,
    test_wrong_password_and_unknown_user_are_one_401,
)

pytestmark = pytest.mark.anyio


def pg_api(url: str, book: SharedBook, clock: FakeClock, sleep: FakeSleep, **overrides: Any) -> AuthApi:
    settings = Settings(
        **{
            "access_ttl": 20,
            "refresh_ttl": 3600,
            "refresh_grace": 10,
            "users": USERS,
            "is_demo": True,
            "db_path": url,
            **overrides,
        }
    )
    return AuthApi.open(settings, clock=clock, sleep=sleep, passwords=book)


@pytest.fixture
async def api(
    pg_url: str, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> AsyncIterator[AuthApi]:
    api = pg_api(pg_url, password_book, clock, fake_sleep)
    yield api
    await api.aclose()


async def live_tokens(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT count(*) FROM pyauth_refresh_tokens WHERE spent_ms IS NULL")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_the_store_is_postgres_and_keeps_only_hashes(client: Client, api: AuthApi, pg_url: str) -> None:
    assert isinstance(api.store, PgStore)
    token = (await client.login()).json()["refresh_token"]
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT encode(hash, 'escape') FROM pyauth_refresh_tokens")
        stored = [row[0] for row in await cur.fetchall()]
    assert len(stored) == 1 and token not in stored[0]


async def test_two_apis_on_one_database_share_sessions_and_the_signing_key(
    api: AuthApi, pg_url: str, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    other = pg_api(pg_url, password_book, clock, fake_sleep)
    try:
        a, b = Client(api), Client(other)
        grant = (await a.login()).json()
        assert (await b.me(grant["access_token"])).status == 200  # signed on A, verified on B
        refreshed = await b.refresh(grant["refresh_token"])
        assert refreshed.status == 200
        assert (await a.me(refreshed.json()["access_token"])).status == 200
    finally:
        await other.aclose()


async def test_two_apis_racing_on_one_token_answer_as_one_process(
    api: AuthApi, pg_url: str, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    apis = [api] + [pg_api(pg_url, password_book, clock, fake_sleep) for _ in range(2)]
    try:
        clients = [Client(x) for x in apis]
        for _ in range(5):
            token = (await clients[0].login()).json()["refresh_token"]
            answers = await asyncio.gather(*(c.refresh(token) for c in clients for _ in range(3)))
            assert {r.status for r in answers} == {200}  # inside the grace: nothing revoked
            assert len({r.json()["refresh_token"] for r in answers}) == 1  # every racer holds the same head
        assert await live_tokens(pg_url) == 5  # one live token per family
    finally:
        for x in apis[1:]:
            await x.aclose()


async def test_a_lost_connection_is_replaced(client: Client, api: AuthApi, pg_url: str) -> None:
    grant = (await client.login()).json()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as admin:
        cur = await admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = await cur.fetchone()
        assert row is not None and row[0] >= 1  # the pool's connections were cut
    assert (await client.refresh(grant["refresh_token"])).status == 200
    assert (await client.me(grant["access_token"])).status == 200


async def test_reopening_the_database_keeps_sessions(
    pg_url: str, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    first = pg_api(pg_url, password_book, clock, fake_sleep)
    grant = (await Client(first).login()).json()
    await first.aclose()
    again = pg_api(pg_url, password_book, clock, fake_sleep)
    try:
        assert (await Client(again).me(grant["access_token"])).status == 200
        assert (await Client(again).refresh(grant["refresh_token"])).status == 200
    finally:
        await again.aclose()


def test_servers_migrating_at_once_make_one_schema_and_one_key(fresh_pg_url: str) -> None:
    pg_url = fresh_pg_url
    stores: list[PgStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def connect() -> None:
        start.wait()
        try:
            stores.append(PgStore.connect(pg_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=connect) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({s.secret("access-token-hs256") for s in stores}) == 1
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM pyauth_schema").fetchall() == [(pg_store.SCHEMA_VERSION,)]


def test_a_database_of_a_newer_server_is_refused_untouched(fresh_pg_url: str) -> None:
    pg_url = fresh_pg_url
    PgStore.connect(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO pyauth_schema VALUES (99)")
    with pytest.raises(NewerSchema, match="99"):
        PgStore.connect(pg_url)


async def test_dead_sessions_are_purged_from_the_database(
    client: Client, api: AuthApi, clock: FakeClock, pg_url: str
) -> None:
    await client.login()
    assert api.handlers.purging is not None
    await api.handlers.purging  # the first sign-in's purge: nothing to forget yet
    clock.advance(2 * 3600)  # past the family's lifetime (refresh_ttl 3600) and the purge interval
    await client.login()
    await api.handlers.purging
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM pyauth_families")
        assert await cur.fetchone() == (1,)  # the expired family went, with its token; the new one stays
        cur = await conn.execute("SELECT count(*) FROM pyauth_refresh_tokens")
        assert await cur.fetchone() == (1,)


async def test_a_connection_waits_5_s_for_a_lock_unless_the_url_says_otherwise(pg_url: str) -> None:
    for url, waits in ((pg_url, "5s"), (pg_url + "?options=-c%20lock_timeout%3D100ms", "100ms")):
        store = PgStore.connect(url)
        try:
            async with store.raw() as conn:
                cur = await conn.execute("SHOW lock_timeout")
                assert await cur.fetchone() == (waits,)
        finally:
            await store.aclose()
