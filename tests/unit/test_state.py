"""The session state's transition table, row by row, and what each event remembers."""

from __future__ import annotations

import pytest

from tokensession.cookies import Session
from tokensession.errors import RefreshFailed
from tokensession.state import TRANSITIONS, Event, Phase, SessionState

OUT, OUT_R, IN, IN_R, BACK = Phase.OUT, Phase.OUT_REFRESHING, Phase.IN, Phase.IN_REFRESHING, Phase.IN_BACKOFF
# The table as a person reads it: one line per phase, one column per event.
COLUMNS = (
    Event.SEEN,
    Event.SIGNED_IN,
    Event.REFRESH_STARTED,
    Event.REFRESHED,
    Event.REFRESH_FAILED,
    Event.REFRESH_SETTLED,
    Event.ENDED,
    Event.WARNED,
)
EXPECTED = {
    # phase: SEEN, SIGNED_IN, STARTED, REFRESHED, FAILED, SETTLED, ENDED, WARNED
    OUT: (IN, IN, OUT_R, IN, OUT, OUT, OUT, OUT),
    OUT_R: (IN_R, IN_R, OUT_R, IN, OUT, OUT, OUT_R, OUT_R),
    IN: (IN, IN, IN_R, IN, BACK, IN, OUT, IN),
    IN_R: (IN_R, IN_R, IN_R, IN, BACK, IN, OUT_R, IN_R),
    BACK: (BACK, IN, IN_R, IN, BACK, IN, OUT, BACK),
}
ROWS = [(phase, event, EXPECTED[phase][i]) for phase in Phase.__members__.values() for i, event in enumerate(COLUMNS)]


def state_in(phase: Phase) -> SessionState:
    state = SessionState()
    state.phase = phase
    return state


def test_the_table_has_one_row_for_every_phase_and_event() -> None:
    # Through __members__: these tests run under MicroPython too, whose classes cannot be iterated.
    phases, events = Phase.__members__.values(), Event.__members__.values()
    assert set(TRANSITIONS) == {(phase, event) for phase in phases for event in events}
    assert set(COLUMNS) == set(Event.__members__.values())


@pytest.mark.parametrize(("phase", "event", "after"), ROWS, ids=[f"{p.name}-{e.name}" for p, e, _ in ROWS])
def test_transition(phase: Phase, event: Event, after: Phase) -> None:
    assert state_in(phase).process(event) is after


def test_a_blip_schedules_the_next_try_and_blips_in_a_row_count_up() -> None:
    state = state_in(Phase.IN)
    for n in (1, 2):
        state.process(Event.REFRESH_STARTED)
        assert state.blips == n - 1  # a retry does not forget the blips before it
        state.process(Event.REFRESH_FAILED, error=RefreshFailed("network"), retry_at_ms=n * 1000, retry_for=Session())
        assert (state.blips, state.retry_at_ms) == (n, n * 1000)
    state.process(Event.REFRESH_STARTED)
    assert state.retry_at_ms is None  # the try is under way
    state.process(Event.REFRESHED, session=Session("a", "r", 5000, 5))
    assert (state.blips, state.retry_at_ms, state.retry_for) == (0, None, None)


def test_a_session_end_forgets_the_backoff_and_the_last_expiry() -> None:
    state = state_in(Phase.IN)
    state.process(Event.SEEN, session=Session("a", "r", 5000, 5))
    state.process(Event.REFRESH_STARTED)
    state.process(Event.REFRESH_FAILED, error=RefreshFailed("network"), retry_at_ms=1000)
    state.process(Event.ENDED, reason="expired", announced=True)
    assert (state.phase, state.blips, state.retry_at_ms, state.last_util_ms) == (Phase.OUT, 0, None, None)


def test_requests_that_waited_share_how_the_refresh_ended() -> None:
    state = state_in(Phase.IN)
    ticket = state.refreshes_done
    assert state.outcome_since(ticket) is None
    state.process(Event.REFRESH_STARTED)
    session = Session("a", "r", 5000, 5)
    state.process(Event.REFRESHED, session=session, refresh_expires_at_ms=9000)
    assert state.outcome_since(ticket) == session
    assert state.refresh_expires_at_ms == 9000
    state.process(Event.REFRESH_STARTED)
    blip = RefreshFailed("timeout")
    state.process(Event.REFRESH_FAILED, error=blip, retry_at_ms=1)
    assert state.outcome_since(ticket + 1) is blip


def test_an_event_outside_a_refresh_does_not_count_as_its_end() -> None:
    state = state_in(Phase.IN)
    state.process(Event.REFRESHED, session=Session("a", "r", 5000, 5))  # another tab's tokens
    assert state.refreshes_done == 0


def test_listeners_hear_each_event_after_the_transition() -> None:
    state = state_in(Phase.IN)
    heard: list[tuple[Event, Phase, dict[str, object]]] = []
    state.listeners.append(lambda event, detail: heard.append((event, state.phase, detail)))
    state.process(Event.ENDED, reason="logout", announced=True)
    assert heard == [(Event.ENDED, Phase.OUT, {"reason": "logout", "announced": True})]


def test_the_idle_warning_is_remembered_per_token_and_forgotten_at_sign_in() -> None:
    state = state_in(Phase.IN)
    token = Session("a", "r", 5000, 5)
    state.process(Event.WARNED, util_time_ms=5000, remaining_ms=100)
    assert state.warned(token) and not state.warned(Session("b", "r", 6000, 5))
    state.process(Event.SIGNED_IN, session=token)
    assert not state.warned(token)
