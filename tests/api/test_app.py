"""AuthApi.handle in process, with a fake clock: contract section 3, call by call."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import jwt
import pytest

from authapi.app import AuthApi
from authapi.rotation import token_hash

from .conftest import Client, FakeClock, FakeSleep, SharedBook, make_api

pytestmark = pytest.mark.anyio

GRANT_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in"}


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- login ---------------------------------------------------------------------------------


async def test_login_answers_the_contract_shape(client: Client) -> None:
    resp = await client.login()
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert set(body) == GRANT_KEYS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 20
    assert body["refresh_expires_in"] == 3600
    assert len(body["refresh_token"]) >= 43  # 256 bits, base64url


async def test_refresh_tokens_are_stored_only_as_hashes(client: Client, api: AuthApi, tmp_path: Path) -> None:
    token = (await client.login()).json()["refresh_token"]
    raw = (tmp_path / "tokens.sqlite3").read_bytes() + (tmp_path / "tokens.sqlite3-wal").read_bytes()
    assert token.encode() not in raw
    with api.store.read() as tx:
        assert tx.token(token_hash(token)) is not None


async def test_wrong_password_and_unknown_user_are_one_401(client: Client) -> None:
    wrong = await client.login("demo", "nope")
    unknown = await client.login("nobody", "demo")
    for resp in (wrong, unknown):
        assert resp.status == 401
        assert resp.json() == {"error": "invalid_credentials", "message": "Wrong username or password."}
        assert resp.headers["www-authenticate"] == 'Bearer realm="api"'


async def test_second_user_signs_in_as_themselves(client: Client) -> None:
    token = (await client.login("alice", "wonderland")).json()["access_token"]
    assert (await client.me(token)).json() == {"username": "alice", "demo": True}


async def test_eleventh_attempt_for_one_user_is_refused_even_with_the_right_password(
    client: Client, clock: FakeClock
) -> None:
    for i in range(10):
        assert (await client.login("demo", "bad", client=f"10.1.0.{i}")).status == 401
        clock.advance(1)
    resp = await client.login("demo", "demo", client="10.2.0.1")
    assert resp.status == 429
    assert resp.json()["error"] == "too_many_requests"
    # The first failure was at T0, now is T0+10: it leaves the window at T0+60.
    assert resp.headers["retry-after"] == "50"
    clock.advance(49)
    assert (await client.login("demo", "demo", client="10.2.0.1")).status == 429
    clock.advance(1)
    assert (await client.login("demo", "demo", client="10.2.0.1")).status == 200


async def test_ten_failures_from_one_address_block_every_user_from_it(client: Client, clock: FakeClock) -> None:
    for i in range(10):
        assert (await client.login(f"user{i}", "bad", client="10.9.9.9")).status == 401
    resp = await client.login("alice", "wonderland", client="10.9.9.9")
    assert resp.status == 429
    assert int(resp.headers["retry-after"]) == 60
    assert (await client.login("alice", "wonderland", client="10.9.9.8")).status == 200


async def test_a_username_with_a_nul_character_is_counted_as_itself(client: Client) -> None:
    # Whatever text a client sends as a username keys its failures (PostgreSQL's text cannot
    # hold a NUL: there this was a 500), and no other name shares that count.
    for i in range(10):
        assert (await client.login("de\x00mo", "bad", client=f"10.4.0.{i}")).status == 401
    assert (await client.login("de\x00mo", "bad", client="10.4.1.0")).status == 429
    assert (await client.login("de\\0mo", "bad", client="10.4.1.1")).status == 401  # a look-alike name: its own count
    assert (await client.login("demo", "demo", client="10.4.1.2")).status == 200


async def test_concurrent_guesses_cannot_overrun_the_limit(client: Client) -> None:
    answers = await asyncio.gather(*(client.login("demo", f"guess{i}", client="10.3.3.3") for i in range(15)))
    statuses = sorted(r.status for r in answers)
    assert statuses == [401] * 10 + [429] * 5


async def test_successful_logins_do_not_count_as_failures(client: Client) -> None:
    for _ in range(12):
        assert (await client.login()).status == 200


async def test_concurrent_good_logins_from_one_address_are_all_served(client: Client) -> None:
    answers = await asyncio.gather(*(client.login(client="10.4.4.4") for _ in range(16)))
    assert [r.status for r in answers] == [200] * 16


async def test_a_guess_waiting_behind_good_logins_is_served_too(client: Client) -> None:
    for _ in range(9):
        await client.login("demo", "bad", client="10.5.5.5")
    answers = await asyncio.gather(
        client.login(client="10.5.5.5"), client.login("demo", "bad", client="10.5.5.5"), client.login(client="10.5.5.5")
    )
    # The 10th failure is allowed; whatever comes after it is refused.
    assert [r.status for r in answers][:2] == [200, 401]
    assert answers[2].status == 429


async def test_a_cancelled_check_counts_as_a_failure(client: Client, api: AuthApi) -> None:
    started = asyncio.Event()

    class Stuck:
        async def check(self, username: str, password: str) -> bool:
            started.set()
            await asyncio.Event().wait()
            return True

        def close(self) -> None:
            pass

    api.handlers.passwords = Stuck()
    task = asyncio.ensure_future(client.login(client="10.6.6.6"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(api.handlers.limiter._failures["addr:10.6.6.6"]) == 1


# --- refresh rotation ----------------------------------------------------------------------


async def test_refresh_rotates_and_spends_the_old_token(client: Client, clock: FakeClock) -> None:
    first = (await client.login()).json()
    clock.advance(15)
    resp = await client.refresh(first["refresh_token"])
    assert resp.status == 200
    second = resp.json()
    assert set(second) == GRANT_KEYS
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 20
    # Absolute lifetime: 15 s of the hour are gone.
    assert second["refresh_expires_in"] == 3600 - 15
    assert (await client.me(second["access_token"])).status == 200
    clock.advance(1)
    assert (await client.refresh(second["refresh_token"])).status == 200


async def test_retry_inside_grace_gets_the_same_successor_and_revokes_nothing(
    client: Client, clock: FakeClock, api: AuthApi
) -> None:
    first = (await client.login()).json()["refresh_token"]
    second = (await client.refresh(first)).json()
    clock.advance(9.9)
    retry = await client.refresh(first)
    assert retry.status == 200
    assert retry.json()["refresh_token"] == second["refresh_token"]
    assert (await client.me(retry.json()["access_token"])).status == 200
    # The first answer's tokens still work too: nothing was revoked.
    assert (await client.me(second["access_token"])).status == 200
    assert (await client.refresh(second["refresh_token"])).status == 200


async def test_retry_inside_grace_follows_the_chain_to_its_head(client: Client, clock: FakeClock) -> None:
    t0 = (await client.login()).json()["refresh_token"]
    t1 = (await client.refresh(t0)).json()["refresh_token"]
    clock.advance(2)
    t2 = (await client.refresh(t1)).json()["refresh_token"]
    clock.advance(2)
    retry = await client.refresh(t0)
    assert retry.status == 200
    assert retry.json()["refresh_token"] == t2


async def test_family_keeps_one_live_token_through_retries(client: Client, clock: FakeClock, api: AuthApi) -> None:
    t0 = (await client.login()).json()["refresh_token"]
    await client.refresh(t0)
    for _ in range(5):
        clock.advance(1)
        assert (await client.refresh(t0)).status == 200
    with api.store.read() as tx:
        row = tx.token(token_hash(t0))
        assert row is not None
        assert tx.live_tokens(row.family_id) == 1


async def test_reuse_after_grace_revokes_the_whole_family(client: Client, clock: FakeClock) -> None:
    login = (await client.login()).json()
    second = (await client.refresh(login["refresh_token"])).json()
    clock.advance(10)
    reuse = await client.refresh(login["refresh_token"])
    assert reuse.status == 401
    assert reuse.json()["error"] == "invalid_token"
    assert reuse.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'
    # The successor is dead too, and so is its access token.
    assert (await client.refresh(second["refresh_token"])).status == 401
    assert (await client.me(second["access_token"])).status == 401


async def test_zero_grace_makes_any_replay_a_reuse(
    tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    api = make_api(tmp_path, password_book, clock, fake_sleep, refresh_grace=0)
    try:
        c = Client(api)
        t0 = (await c.login()).json()["refresh_token"]
        t1 = (await c.refresh(t0)).json()["refresh_token"]
        assert (await c.refresh(t0)).status == 401
        assert (await c.refresh(t1)).status == 401
    finally:
        api.close()


async def test_family_lifetime_is_absolute_not_sliding(client: Client, clock: FakeClock) -> None:
    token = (await client.login()).json()["refresh_token"]
    for left in (3000, 2400, 1800, 1200, 600, 1):
        clock.advance(600 if left != 1 else 599)
        resp = await client.refresh(token)
        assert resp.status == 200
        assert resp.json()["refresh_expires_in"] == left
        token = resp.json()["refresh_token"]
    clock.advance(1)
    assert (await client.refresh(token)).status == 401


async def test_unknown_refresh_token_is_401(client: Client) -> None:
    resp = await client.refresh("x" * 43)
    assert resp.status == 401
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]


async def test_sessions_of_other_logins_survive_a_revoked_family(client: Client, clock: FakeClock) -> None:
    mine = (await client.login()).json()
    other = (await client.login()).json()
    await client.refresh(mine["refresh_token"])
    clock.advance(11)
    assert (await client.refresh(mine["refresh_token"])).status == 401
    assert (await client.refresh(other["refresh_token"])).status == 200


async def test_session_survives_reopening_the_store(
    tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    api = make_api(tmp_path, password_book, clock, fake_sleep)
    login = (await Client(api).login()).json()
    api.close()
    api = make_api(tmp_path, password_book, clock, fake_sleep)
    try:
        c = Client(api)
        assert (await c.me(login["access_token"])).status == 200  # same signing secret
        assert (await c.refresh(login["refresh_token"])).status == 200
    finally:
        api.close()


# --- logout --------------------------------------------------------------------------------


async def test_logout_revokes_the_family(client: Client) -> None:
    login = (await client.login()).json()
    second = (await client.refresh(login["refresh_token"])).json()
    resp = await client.call("POST", "logout", {"refresh_token": second["refresh_token"]})
    assert resp.status == 204
    assert resp.body == b""
    assert (await client.refresh(second["refresh_token"])).status == 401
    assert (await client.me(second["access_token"])).status == 401


async def test_logout_with_an_unknown_token_is_still_204(client: Client) -> None:
    assert (await client.call("POST", "logout", {"refresh_token": "nope"})).status == 204


async def test_logout_twice_is_204_both_times(client: Client) -> None:
    token = (await client.login()).json()["refresh_token"]
    for _ in range(2):
        assert (await client.call("POST", "logout", {"refresh_token": token})).status == 204


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"refresh_token": 5}', b'{"token": "x"}'])
async def test_malformed_logout_is_400(client: Client, raw: bytes) -> None:
    resp = await client.call("POST", "logout", raw=raw)
    assert resp.status == 400
    assert resp.json()["error"] == "bad_request"


# --- me and access tokens ------------------------------------------------------------------


async def test_me_without_a_token_is_a_plain_bearer_challenge(client: Client) -> None:
    resp = await client.call("GET", "me")
    assert resp.status == 401
    assert resp.headers["www-authenticate"] == 'Bearer realm="api"'
    assert set(resp.json()) == {"error", "message"}


async def test_me_with_another_scheme_is_a_plain_bearer_challenge(client: Client) -> None:
    resp = await client.call("GET", "me", headers={"authorization": "Basic ZGVtbzpkZW1v"})
    assert resp.status == 401
    assert "error=" not in resp.headers["www-authenticate"]


async def test_access_token_expires_after_access_ttl(client: Client, clock: FakeClock) -> None:
    token = (await client.login()).json()["access_token"]
    clock.advance(19.9)
    assert (await client.me(token)).status == 200
    clock.advance(0.1)
    resp = await client.me(token)
    assert resp.status == 401
    assert resp.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


async def test_tampered_access_token_is_401(client: Client) -> None:
    token = (await client.login()).json()["access_token"]
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "alice"
    forged = ".".join([header, b64(claims), sig])
    assert (await client.me(forged)).status == 401
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert (await client.me(flipped)).status == 401


async def test_alg_none_token_is_401(client: Client) -> None:
    good = (await client.login()).json()["access_token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    unsigned = b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "."
    resp = await client.me(unsigned)
    assert resp.status == 401
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]


async def test_rs256_header_is_401_whatever_the_signature(client: Client) -> None:
    good = (await client.login()).json()["access_token"]
    _, payload, sig = good.split(".")
    confused = b64({"alg": "RS256", "typ": "JWT"}) + "." + payload + "." + sig
    assert (await client.me(confused)).status == 401


async def test_token_signed_with_another_key_is_401(client: Client, clock: FakeClock) -> None:
    claims = {"iss": "pyauth-spa", "sub": "demo", "sid": "x", "jti": "j", "iat": int(clock()), "exp": int(clock()) + 9}
    assert (await client.me(jwt.encode(claims, b"0" * 32, algorithm="HS256"))).status == 401


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "Bearer a.b.c", "bearer garbage"])
async def test_garbage_bearer_values_are_invalid_token(client: Client, value: str) -> None:
    resp = await client.call("GET", "me", headers={"authorization": value})
    assert resp.status == 401
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]


# --- info, status, slow ----------------------------------------------------------------------


async def test_info_names_the_demo_account(client: Client) -> None:
    resp = await client.call("GET", "info")
    assert resp.json() == {"demo": True, "demo_user": "demo", "demo_password": "demo"}


async def test_info_says_nothing_without_demo(
    tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    api = make_api(tmp_path, password_book, clock, fake_sleep, is_demo=False)
    try:
        assert (await Client(api).call("GET", "info")).json() == {"demo": False}
        token = (await Client(api).login()).json()["access_token"]
        assert (await Client(api).me(token)).json() == {"username": "demo", "demo": False}
    finally:
        api.close()


@pytest.mark.parametrize("code", [400, 401, 403, 404, 405, 408, 418, 429, 499, 500, 502, 503, 504, 505, 599])
async def test_status_answers_the_code_asked_for(client: Client, code: int) -> None:
    resp = await client.call("GET", f"status/{code}")
    assert resp.status == code
    assert set(resp.json()) == {"error", "message"}
    assert ("www-authenticate" in resp.headers) == (code == 401)


@pytest.mark.parametrize("code", ["399", "600", "200", "0", "-404", "abc", "", "4040", "４０４"])
async def test_status_outside_400_599_is_400(client: Client, code: str) -> None:
    resp = await client.call("GET", f"status/{code}")
    assert resp.status == 400
    assert resp.json()["error"] == "bad_request"


async def test_slow_sleeps_the_asked_time(client: Client, fake_sleep: FakeSleep) -> None:
    resp = await client.call("GET", "slow", query="ms=1500")
    assert resp.status == 200
    assert resp.json() == {"slept_ms": 1500}
    assert fake_sleep.calls == [1.5]


@pytest.mark.parametrize("ms", ["60001", "99999999", "9" * 5000])
async def test_slow_is_capped_at_a_minute(client: Client, fake_sleep: FakeSleep, ms: str) -> None:
    resp = await client.call("GET", "slow", query=f"ms={ms}")
    assert resp.json() == {"slept_ms": 60000}
    assert fake_sleep.calls == [60.0]


@pytest.mark.parametrize("query", ["", "ms=", "ms=-5", "ms=1.5", "ms=abc"])
async def test_slow_with_a_bad_ms_is_400(client: Client, fake_sleep: FakeSleep, query: str) -> None:
    assert (await client.call("GET", "slow", query=query)).status == 400
    assert fake_sleep.calls == []


# --- bad requests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "empty"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b'"demo"', "JSON object"),
        (b"[" * 5000 + b"]" * 5000, "JSON"),
        (b'{"username": "demo"}', "Missing field 'password'"),
        (b'{"password": "demo"}', "Missing field 'username'"),
        (b'{"username": 1, "password": "demo"}', "'username' must be a string"),
        (b'{"username": "demo", "password": null}', "'password' must be a string"),
        (b'{"username": "", "password": "demo"}', "must not be empty"),
        (b'{"username": "\\ud800", "password": "demo"}', "not valid Unicode"),
        (json.dumps({"username": "d" * 300, "password": "x"}).encode(), "longer than"),
    ],
)
async def test_malformed_login_is_400_with_a_clear_message(client: Client, raw: bytes, says: str) -> None:
    resp = await client.call("POST", "login", raw=raw)
    assert resp.status == 400
    assert resp.json()["error"] == "bad_request"
    assert says in resp.json()["message"]


@pytest.mark.parametrize("raw", [b"{}", b'{"refresh_token": ["x"]}', b'{"refresh_token": ""}', b"null"])
async def test_malformed_refresh_is_400(client: Client, raw: bytes) -> None:
    assert (await client.call("POST", "refresh_token", raw=raw)).status == 400


async def test_body_over_64_kib_is_413(client: Client) -> None:
    body = json.dumps({"username": "demo", "password": "x" * (64 * 1024)}).encode()
    resp = await client.call("POST", "login", raw=body)
    assert resp.status == 413
    assert resp.json()["error"] == "payload_too_large"
    exactly = b"{" + b" " * (64 * 1024 - 2) + b"}"
    assert (await client.call("POST", "refresh_token", raw=exactly)).status == 400  # at the limit: parsed


@pytest.mark.parametrize("query", ["refresh_token=abc", "access_token=abc", "x=1&Refresh_Token=", "access_token"])
@pytest.mark.parametrize(("method", "path"), [("POST", "refresh_token"), ("GET", "me"), ("GET", "nowhere")])
async def test_token_in_the_query_string_is_400(client: Client, query: str, method: str, path: str) -> None:
    resp = await client.call(method, path, query=query)
    assert resp.status == 400
    assert resp.json()["error"] == "token_in_url"


async def test_unknown_path_is_404_json(client: Client) -> None:
    for path in ("nope", "login/", "status", "status/404/x", ""):
        resp = await client.call("GET", path)
        assert resp.status == 404, path
        assert resp.json()["error"] == "not_found"


async def test_wrong_method_is_405_with_allow(client: Client) -> None:
    resp = await client.call("GET", "login")
    assert resp.status == 405
    assert resp.headers["allow"] == "POST"
    assert resp.json()["error"] == "method_not_allowed"
    assert (await client.call("POST", "me")).status == 405
    assert (await client.call("DELETE", "status/404")).status == 405


async def test_an_unexpected_failure_is_a_500_and_the_api_keeps_answering(
    client: Client, api: AuthApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(api.handlers.sessions, "start", boom)
    resp = await client.login()
    assert resp.status == 500
    assert resp.json()["error"] == "internal_error"
    assert "fire" not in resp.json()["message"]
    assert (await client.call("GET", "info")).status == 200


async def test_token_hidden_behind_a_semicolon_or_escape_is_still_400(client: Client) -> None:
    for query in ("a=1;refresh_token=x", "refresh%5Ftoken=x", "ACCESS_TOKEN=x", "+access_token=x"):
        assert (await client.call("GET", "me", query=query)).status == 400, query
    assert (await client.call("GET", "slow", query="ms=1&tokens=3")).status == 200


async def test_sessions_of_a_removed_account_end(
    tmp_path: Path, password_book: SharedBook, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    api = make_api(tmp_path, password_book, clock, fake_sleep)
    alice = (await Client(api).login("alice", "wonderland")).json()
    demo = (await Client(api).login()).json()
    api.close()
    # Restarted on the same store with alice no longer configured.
    api = make_api(tmp_path, password_book, clock, fake_sleep, users=[("demo", "demo")])
    try:
        c = Client(api)
        assert (await c.me(alice["access_token"])).status == 401
        assert (await c.refresh(alice["refresh_token"])).status == 401
        assert (await c.me(demo["access_token"])).status == 200
        assert (await c.refresh(demo["refresh_token"])).status == 200
    finally:
        api.close()


async def test_info_with_default_settings_publishes_no_password() -> None:
    from authapi.messages import ApiRequest
    from authapi.settings import Settings

    api = AuthApi.open(Settings(users=[("alice", "s3cret")], db_path=":memory:"))
    try:
        resp = await api.handle(ApiRequest("GET", "info"))
        assert resp.json() == {"demo": False}
        assert b"s3cret" not in resp.body
    finally:
        api.close()
