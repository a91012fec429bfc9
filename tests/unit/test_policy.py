"""The policy table, row by row (contract section 6, R1-R4), with no clock but the one passed in."""

from __future__ import annotations

import pytest

from tokensession.cookies import Session
from tokensession.policy import Action, Call, SessionPolicy, call_kind

NOW = 1_000_000
WINDOW = 30_000
policy = SessionPolicy(refresh_window_ms=WINDOW)

LIVE = Session("tok", "ref", NOW + 60_000, 60)  # outside the window
NEAR = Session("tok", "ref", NOW + 10_000, 60)  # inside the window
EXPIRED = Session("tok", "ref", NOW, 60)  # expires exactly now: "on or after" utilTime
NO_UTIL = Session("tok", "ref", None, None)
GARBLED_TOKEN = Session(None, "ref", NOW + 60_000, 60)
ACCESS_ONLY = Session("tok", None, NOW + 10_000, 60)
EMPTY = Session()


@pytest.mark.parametrize(
    ("session", "call", "refreshing", "expected"),
    [
        (EXPIRED, "login", False, Action.SEND_ANONYMOUS),  # R1: auth calls carry no bearer
        (LIVE, "refresh", True, Action.SEND_ANONYMOUS),
        (LIVE, "logout", False, Action.SEND_ANONYMOUS),
        (EMPTY, "api", False, Action.SEND_ANONYMOUS),  # signed out
        (EMPTY, "api", True, Action.SEND_ANONYMOUS),
        (LIVE, "api", True, Action.WAIT),  # R1: wait for the refresh in flight
        (EXPIRED, "api", True, Action.WAIT),  # the refresh may still replace it
        (EXPIRED, "api", False, Action.END_SESSION),  # R3
        (NO_UTIL, "api", False, Action.END_SESSION),  # R3: an unknown expiry is not trusted
        (GARBLED_TOKEN, "api", False, Action.REFRESH_FIRST),
        (LIVE, "api", False, Action.SEND_WITH_TOKEN),
        (NEAR, "api", False, Action.SEND_WITH_TOKEN),
    ],
)
def test_before_send_row(session: Session, call: Call, refreshing: bool, expected: Action) -> None:
    assert policy.before_send(NOW, session, call, refreshing=refreshing) is expected


@pytest.mark.parametrize(
    ("session", "synced", "elsewhere", "expected"),
    [
        (NEAR, False, False, Action.WAIT_ELSEWHERE),  # R7: inside the window any tab may refresh
        (NEAR, True, False, Action.SEND_WITH_TOKEN),  # waited once already: no second wait
        (LIVE, False, False, Action.SEND_WITH_TOKEN),  # outside it, and no tab said so: no lock round trip
        (LIVE, False, True, Action.WAIT_ELSEWHERE),  # another tab said it refreshes (after a 401 there)
        (LIVE, True, True, Action.SEND_WITH_TOKEN),
        (EXPIRED, False, True, Action.END_SESSION),  # R3 first
        (EMPTY, False, True, Action.SEND_ANONYMOUS),
    ],
)
def test_before_send_cross_tab_row(session: Session, synced: bool, elsewhere: bool, expected: Action) -> None:
    action = policy.before_send(NOW, session, "api", refreshing=False, synced=synced, refresh_elsewhere=elsewhere)
    assert action is expected


NEWER = Session("tok2", "ref2", NOW + 60_000, 60)


@pytest.mark.parametrize(
    ("status", "call", "sent", "current", "refreshing", "retried", "expected"),
    [
        (401, "login", EMPTY, EMPTY, False, False, Action.FAIL),  # bad credentials
        (401, "api", LIVE, LIVE, False, True, Action.END_SESSION),  # R4: second 401, no loop
        (401, "api", LIVE, LIVE, False, False, Action.REFRESH_FIRST),  # R4: refresh once
        (401, "api", LIVE, NEWER, False, False, Action.RETRY),  # refreshed meanwhile: retry, no refresh
        (401, "api", LIVE, NEWER, True, False, Action.RETRY),  # ... also while another refresh runs
        (401, "api", LIVE, NEWER, False, True, Action.END_SESSION),  # but only once (R4)
        (401, "api", ACCESS_ONLY, ACCESS_ONLY, False, False, Action.END_SESSION),  # nothing to refresh with
        (401, "api", EMPTY, EMPTY, False, False, Action.END_SESSION),
        (404, "api", NEAR, NEAR, False, False, Action.FAIL),
        (500, "api", NEAR, NEAR, False, False, Action.FAIL),
        (200, "login", EMPTY, NEAR, False, False, Action.ACCEPT),  # R1: auth calls never refresh
        (200, "refresh", NEAR, NEAR, False, False, Action.ACCEPT),
        (204, "logout", NEAR, NEAR, False, False, Action.ACCEPT),
        (200, "api", EMPTY, EMPTY, False, False, Action.ACCEPT),  # anonymous
        (200, "api", NEAR, NEAR, True, False, Action.ACCEPT),  # single flight: one is running
        (200, "api", NEAR, NEWER, False, False, Action.ACCEPT),  # single flight: already done
        (200, "api", ACCESS_ONLY, ACCESS_ONLY, False, False, Action.ACCEPT),  # no refresh token
        (200, "api", NEAR, NEAR, False, False, Action.START_REFRESH),  # R1
        (200, "api", NEAR, NEAR, False, True, Action.START_REFRESH),
        (200, "api", LIVE, LIVE, False, False, Action.ACCEPT),  # R1: outside the window
    ],
)
def test_after_response_row(
    status: int, call: Call, sent: Session, current: Session, refreshing: bool, retried: bool, expected: Action
) -> None:
    got = policy.after_response(NOW, status, call, sent=sent, current=current, refreshing=refreshing, retried=retried)
    assert got is expected


def test_refresh_window_boundary_is_inclusive() -> None:
    at_edge = Session("tok", "ref", NOW + WINDOW, 60)
    past_edge = Session("tok", "ref", NOW + WINDOW + 1, 60)
    row = dict(sent=at_edge, current=at_edge, refreshing=False, retried=False)
    assert policy.after_response(NOW, 200, "api", **row) is Action.START_REFRESH  # type: ignore[arg-type]
    row = dict(sent=past_edge, current=past_edge, refreshing=False, retried=False)
    assert policy.after_response(NOW, 200, "api", **row) is Action.ACCEPT  # type: ignore[arg-type]


def test_refresh_window_comes_from_seconds() -> None:
    assert SessionPolicy.from_seconds(1800).refresh_window_ms == 1_800_000
    assert SessionPolicy().refresh_window_ms == 1_800_000  # the seed's 30 minutes by default


@pytest.mark.parametrize(
    ("seen", "current", "expected"),
    [
        (LIVE, NEWER, Action.ACCEPT),  # another request or tab refreshed while we waited
        (LIVE, EMPTY, Action.END_SESSION),  # signed out while we waited
        (LIVE, ACCESS_ONLY, Action.END_SESSION),
        (LIVE, LIVE, Action.REFRESH),
    ],
)
def test_refresh_turn_row(seen: Session, current: Session, expected: Action) -> None:
    assert policy.refresh_turn(seen, current) is expected


@pytest.mark.parametrize(
    ("status", "timed_out", "expected"),
    [
        (200, False, (Action.ACCEPT, None)),
        (400, False, (Action.END_SESSION, None)),  # refused: the session is over
        (401, False, (Action.END_SESSION, None)),
        (500, False, (Action.KEEP_SESSION, "server")),  # a blip: keep the session
        (503, False, (Action.KEEP_SESSION, "server")),
        (429, False, (Action.KEEP_SESSION, "server")),
        (None, False, (Action.KEEP_SESSION, "network")),
        (None, True, (Action.KEEP_SESSION, "timeout")),
    ],
)
def test_after_refresh_row(status: int | None, timed_out: bool, expected: tuple[Action, str | None]) -> None:
    assert policy.after_refresh(status, timed_out=timed_out) == expected


WARNING = SessionPolicy(refresh_window_ms=WINDOW, idle_warning_ms=15_000)


@pytest.mark.parametrize(
    ("after_401", "expected"),
    [
        (True, Action.END_SESSION),  # R4: the token was refused and cannot be replaced
        (False, Action.KEEP_SESSION),  # R1: a blip; the token still works until utilTime
    ],
)
def test_after_failed_refresh_row(after_401: bool, expected: Action) -> None:
    assert policy.after_failed_refresh(after_401=after_401) is expected


@pytest.mark.parametrize(
    ("pol", "session", "seen", "refreshing", "warned", "expected"),
    [
        (policy, EXPIRED, True, True, False, Action.NOTHING),  # the refresh decides
        (policy, EMPTY, True, False, False, Action.END_SESSION),  # R7: signed out elsewhere
        (policy, EMPTY, False, False, False, Action.NOTHING),  # never signed in
        (policy, EXPIRED, False, False, False, Action.END_SESSION),  # R2
        (policy, NO_UTIL, True, False, False, Action.END_SESSION),
        (policy, NEAR, True, False, False, Action.NOTHING),  # no idle warning configured
        (WARNING, NEAR, True, False, False, Action.WARN_IDLE),
        (WARNING, NEAR, True, False, True, Action.NOTHING),  # warned once per token
        (WARNING, LIVE, True, False, False, Action.NOTHING),
    ],
)
def test_on_tick_row(
    pol: SessionPolicy, session: Session, seen: bool, refreshing: bool, warned: bool, expected: Action
) -> None:
    assert pol.on_tick(NOW, session, seen=seen, refreshing=refreshing, warned=warned) is expected


def test_deadline_is_expiry_or_the_idle_warning_before_it() -> None:
    assert policy.deadline_ms(LIVE, warned=False) == LIVE.util_time_ms
    assert WARNING.deadline_ms(LIVE, warned=False) == NOW + 60_000 - 15_000
    assert WARNING.deadline_ms(LIVE, warned=True) == LIVE.util_time_ms
    assert policy.deadline_ms(EMPTY, warned=False) is None
    assert policy.deadline_ms(NO_UTIL, warned=False) == 0


@pytest.mark.parametrize("pol", [policy, WARNING], ids=["no-warning", "warning"])
@pytest.mark.parametrize("session", [LIVE, NEAR, EXPIRED, NO_UTIL, GARBLED_TOKEN, ACCESS_ONLY, EMPTY])
@pytest.mark.parametrize("retry_at", [None, NOW - 1, NOW + 1_000], ids=["no-retry", "retry-due", "retry-later"])
def test_a_passed_deadline_always_has_an_answer(pol: SessionPolicy, session: Session, retry_at: int | None) -> None:
    # A watchdog sleeps until the deadline and looks: if the look could answer NOTHING, it would
    # wake again at once, a busy loop that freezes a MicroPython page (its event loop gives
    # JavaScript no turn while a task is ready) and burns a core under Pyodide.
    for warned in (False, True):
        for refreshing in (False, True):
            deadline = pol.deadline_ms(session, warned=warned, retry_at_ms=retry_at, refreshing=refreshing)
            if deadline is None:
                continue
            for now in (deadline, deadline + 1):
                action = pol.on_tick(
                    now, session, seen=True, refreshing=refreshing, warned=warned, retry_at_ms=retry_at
                )
                assert action is not Action.NOTHING, (warned, refreshing, now)


def test_no_deadline_while_a_refresh_is_in_flight() -> None:
    # The refresh decides (its end stores new tokens, or the watchdog looks again after it).
    assert WARNING.deadline_ms(NEAR, warned=False, refreshing=True) is None
    assert policy.deadline_ms(EXPIRED, warned=True, retry_at_ms=NOW - 1, refreshing=True) is None


@pytest.mark.parametrize(
    ("session", "refreshing", "expected"),
    [
        (NEAR, False, Action.START_REFRESH),  # inside the window: as a successful request (R1)
        (NEAR, True, Action.NOTHING),  # one refresh at a time
        (LIVE, False, Action.NOTHING),  # outside the window
        (EXPIRED, False, Action.NOTHING),  # too late: R2 ends it
        (EMPTY, False, Action.NOTHING),
        (ACCESS_ONLY, False, Action.NOTHING),  # nothing to refresh with
        (GARBLED_TOKEN, False, Action.NOTHING),
        (Session("tok", "ref", NOW + WINDOW, 60), False, Action.START_REFRESH),  # "at most" the window
    ],
)
def test_on_activity_row(session: Session, refreshing: bool, expected: Action) -> None:
    assert policy.on_activity(NOW, session, refreshing=refreshing) is expected


@pytest.mark.parametrize(
    ("warn_before_ms", "expires_in", "lead_ms"),
    [
        (60_000, 20, 10_000),  # the seed's 20 s token: half its life, not a minute
        (60_000, 6, 3_000),
        (60_000, 300, 60_000),  # a long token: warnBeforeSeconds
        (60_000, 120, 60_000),  # exactly equal
        (60_000, None, 60_000),  # no expires_in cookie: warnBeforeSeconds alone
        (0, 20, 0),  # 0 turns the warning off
        (15_000, 1, 500),
    ],
)
def test_warning_lead_is_min_of_warn_before_and_half_the_lifetime(
    warn_before_ms: int, expires_in: int | None, lead_ms: int
) -> None:
    pol = SessionPolicy(refresh_window_ms=WINDOW, idle_warning_ms=warn_before_ms)
    session = Session("tok", "ref", NOW + 5_000, expires_in)
    assert pol.warning_lead_ms(session) == lead_ms
    expected = None if not lead_ms else NOW + 5_000 - lead_ms
    assert (pol.deadline_ms(session, warned=False) if lead_ms else None) == (max(0, expected) if expected else None)
    if lead_ms:
        # The row at the exact point: one ms before, nothing; at it, the warning.
        before = session.util_time_ms - lead_ms - 1  # type: ignore[operator]
        assert pol.on_tick(before, session, seen=True, refreshing=False, warned=False) is Action.NOTHING
        assert pol.on_tick(before + 1, session, seen=True, refreshing=False, warned=False) is Action.WARN_IDLE
    else:
        assert pol.on_tick(NOW + 4_999, session, seen=True, refreshing=False, warned=False) is Action.NOTHING


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("login", "login"),
        ("/login", "login"),
        ("refresh_token", "refresh"),
        ("logout/", "logout"),
        ("me", "api"),
        ("status/401", "api"),
        ("login_history", "api"),
        ("me?login", "api"),
    ],
)
def test_call_kind(path: str, kind: str) -> None:
    assert call_kind(path) == kind
