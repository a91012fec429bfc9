"""The cookie codec (contract section 4): round trip, lifetimes in seconds, and garbage that never crashes."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from tests.unit.conftest import T0_MS, FakeClock
from tokensession.cookies import (
    ASSIGNMENTS_KEPT,
    MAX_VALUE,
    MemoryCookieJar,
    Session,
    TokenGrant,
    assignment,
    clear_assignments,
    grant_assignments,
    parse_cookie_header,
)
from tokensession.policy import Action, SessionPolicy

GRANT = TokenGrant("eyJhbGciOi.abc-_def.sig", "r" * 43, expires_in=20, refresh_expires_in=3600)


def attributes(line: str) -> dict[str, str]:
    first, *rest = line.split("; ")
    name, _, value = first.partition("=")
    out = {"name": name, "value": value}
    for attr in rest:
        key, _, arg = attr.partition("=")
        out[key] = arg
    return out


def test_grant_round_trips_through_the_jar() -> None:
    clock = FakeClock()
    jar = MemoryCookieJar(clock)
    for line in grant_assignments(GRANT, received_ms=clock(), path="/app/"):
        jar.write(line)
    session = Session.from_header(jar.read())
    assert session == GRANT.session(clock())
    assert session.util_time_ms == T0_MS + 20_000  # utilTime = receive time + expires_in * 1000


def test_cookie_attributes_follow_the_contract() -> None:
    lines = {attributes(x)["name"]: attributes(x) for x in grant_assignments(GRANT, received_ms=T0_MS, path="/r/")}
    assert set(lines) == {"access_token", "refresh_token", "utilTime", "expires_in"}
    for name in ("access_token", "utilTime", "expires_in"):
        assert lines[name]["Max-Age"] == "20"  # seconds, and gone at utilTime
    assert lines["refresh_token"]["Max-Age"] == "3600"
    assert lines["utilTime"]["value"] == str(T0_MS + 20_000)
    for attrs in lines.values():
        assert attrs["Path"] == "/r/"
        assert attrs["SameSite"] == "Strict"
        assert "Secure" not in attrs


@pytest.mark.parametrize("grant", [GRANT, TokenGrant("a.b.c", None, expires_in=20, refresh_expires_in=3600)])
def test_a_sign_in_seen_half_written_from_another_tab_never_reads_as_an_expired_session(grant: TokenGrant) -> None:
    # Another tab's cookies arrive one write at a time (Firefox: after the BroadcastChannel
    # message that says "signed-in"). A tab that has seen no session looks at each part; none
    # may end the session (R2) it is being told of. Access token first, it did: no utilTime yet.
    policy = SessionPolicy(idle_warning_ms=60_000)
    clock = FakeClock()
    jar = MemoryCookieJar(clock)
    refresh_cookie = "js" if grant.refresh_token else "httponly"
    actions = []
    for line in grant_assignments(grant, received_ms=clock(), path="/app/"):
        jar.write(line)
        seen = Session.from_header(jar.read(), refresh_cookie=refresh_cookie)
        actions.append(policy.on_tick(clock(), seen, seen=False, refreshing=False, warned=False))
    assert Action.END_SESSION not in actions
    assert Session.from_header(jar.read(), refresh_cookie=refresh_cookie) == grant.session(clock())


def test_secure_only_over_https() -> None:
    assert assignment("a", "1", secure=True).endswith("; SameSite=Strict; Secure")
    assert "Secure" not in assignment("a", "1", secure=False)


def test_refresh_token_is_a_session_cookie_without_refresh_expires_in() -> None:
    grant = TokenGrant("a", "r", expires_in=20)
    refresh_line = next(x for x in grant_assignments(grant, received_ms=0) if x.startswith("refresh_token="))
    assert "Max-Age" not in refresh_line


def test_jar_drops_access_cookies_at_util_time_and_keeps_refresh() -> None:
    clock = FakeClock()
    jar = MemoryCookieJar(clock)
    for line in grant_assignments(GRANT, received_ms=clock()):
        jar.write(line)
    clock.advance(19.999)
    assert Session.from_header(jar.read()).access_token == GRANT.access_token
    clock.advance(0.001)
    session = Session.from_header(jar.read())
    assert (session.access_token, session.util_time_ms, session.refresh_token) == (None, None, GRANT.refresh_token)


def test_clearing_uses_max_age_zero_and_the_same_path() -> None:
    clock = FakeClock()
    jar = MemoryCookieJar(clock)
    for line in grant_assignments(GRANT, received_ms=clock(), path="/app/"):
        jar.write(line)
    lines = clear_assignments(path="/app/")
    assert all("Max-Age=0" in x and "Path=/app/" in x for x in lines)
    for line in lines:
        jar.write(line)
    assert jar.read() == ""


def test_the_memory_jar_keeps_only_its_last_writes() -> None:
    clock = FakeClock()
    jar = MemoryCookieJar(clock)
    for n in range(10 * ASSIGNMENTS_KEPT):  # a script that refreshes for days
        jar.write(f"access_token=t{n}; Path=/")
    assert len(jar.assignments) == ASSIGNMENTS_KEPT
    assert jar.assignments[-1] == f"access_token=t{10 * ASSIGNMENTS_KEPT - 1}; Path=/"
    assert jar.read() == f"access_token=t{10 * ASSIGNMENTS_KEPT - 1}"


def test_values_are_percent_encoded_and_decoded() -> None:
    odd = 'a b;c,d"e%f\\g你'
    line = assignment("x", odd)
    assert ";" not in line.split("; ")[0].partition("=")[2]
    header = line.split("; ")[0]
    assert parse_cookie_header(header) == {"x": odd}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("a=1; a=2", {"a": "1"}),  # duplicates: the first (longest Path) wins
        (";;; a=1 ;; ; b = 2 ;", {"a": "1", "b": "2"}),  # stray semicolons and spaces
        ("junk; a=1; =nameless", {"a": "1"}),  # no "=" / no name
        ("a=%E4%BD%A0", {"a": "你"}),
        ("a=%zz%", {"a": "%zz%"}),  # a bad escape stays as it is
        ("a=%FF", {"a": "\ufffd"}),  # not UTF-8: replaced, not raised
        ('a="quoted"', {"a": "quoted"}),
        ("a=" + "x" * (MAX_VALUE + 1) + "; b=1", {"b": "1"}),  # over 4 KiB: not ours
        ("a=b=c", {"a": "b=c"}),
    ],
)
def test_parse_survives_garbage(header: str, expected: dict[str, str]) -> None:
    assert parse_cookie_header(header) == expected


def test_parse_never_raises_on_random_input() -> None:
    rng: Any = random.Random(4) if hasattr(random, "Random") else random  # MicroPython: the module
    if rng is random:
        random.seed(4)
    alphabet = string.printable + "你%=;\x00\udcff"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        parsed = parse_cookie_header(text)
        Session.from_cookies(parsed)
    assert parse_cookie_header(None) == {}  # type: ignore[arg-type]


@pytest.mark.parametrize("util", ["abc", "-5", "inf", "nan", "1e400", "", " ", "12abc", "0x10", "9" * 40])
def test_unreadable_util_time_reads_as_expired(util: str) -> None:
    session = Session.from_header(f"access_token=tok; refresh_token=ref; utilTime={util}")
    assert session.util_time_ms is None
    assert session.expired(now_ms=0)
    assert not session.is_empty  # there is something to end, so the session ends (R3)


def test_access_token_without_util_time_is_expired() -> None:
    session = Session.from_header("access_token=tok")
    assert session.expired(now_ms=0)
    assert not session.is_empty


@pytest.mark.parametrize("token", ["has space", "crlf\r\nx-evil: 1", "semi", "", "a=b=c", "你"])
def test_tokens_that_cannot_go_in_a_header_read_as_absent(token: str) -> None:
    session = Session.from_cookies({"access_token": token, "utilTime": "5"})
    expected = None if token not in ("semi",) else "semi"
    assert session.access_token == expected


def test_only_garbage_reads_as_no_session() -> None:
    assert Session.from_header("access_token=bad token; utilTime=abc; expires_in=x").is_empty


def test_util_time_accepts_a_javascript_number_string() -> None:
    assert Session.from_header("utilTime=1700000000000.5").util_time_ms == 1_700_000_000_000


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {},
        {"access_token": "a", "refresh_token": "r"},
        {"access_token": "a", "refresh_token": "r", "expires_in": "20"},
        {"access_token": "a", "refresh_token": "r", "expires_in": True},
        {"access_token": "a", "refresh_token": "r", "expires_in": 0},
        {"access_token": "a b", "refresh_token": "r", "expires_in": 20},
        {"access_token": 1, "refresh_token": "r", "expires_in": 20},
    ],
)
def test_bad_grants_are_refused(payload: object) -> None:
    assert TokenGrant.from_json(payload) is None


def test_replaced_means_a_refresh_wrote_new_tokens() -> None:
    old = Session("a", "r", 100, 20)
    assert Session("b", "r2", 200, 20).replaced(old)
    assert not Session("a", "r", 100, 20).replaced(old)
    assert not Session().replaced(old)
    assert not Session("b", None, 200, 20).replaced(old)
