"""What one page remembers about its session, as one object with one transition table.

The cookies are the truth about the tokens (every tab reads them); this object
holds the rest, the things only this page knows: whether it has seen a session
since the last one ended, whether a refresh of its own is in flight, whether
the last refresh failed by a blip and when the next try is due, and what the
refreshes it ran ended with (so that a request that waited for one shares its
fate). Nothing else keeps session state: not the flows' locals, not the drivers.

Like h11's ``ConnectionState``, :meth:`SessionState.process` is the only way in.
A phase is the pair (is a session seen?, where is our refresh?), and every pair
of phase and event has one row in :data:`TRANSITIONS`::

    state = SessionState()
    state.process(Event.SIGNED_IN)            # OUT -> IN
    state.process(Event.REFRESH_STARTED)      # IN -> IN_REFRESHING
    state.process(Event.REFRESHED, session=s) # IN_REFRESHING -> IN; listeners hear it

Listeners (the drivers' hooks, a waiting request) are called after each
transition with ``(event, detail)``; this module never calls anything else.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeAlias

from tokensession.cookies import Session


class Phase(enum.Enum):
    OUT = "no session seen since the last one ended"
    OUT_REFRESHING = "no session, but a refresh of ours is still in flight"
    IN = "a session is seen; no refresh of ours in flight"
    IN_REFRESHING = "a session is seen and a refresh of ours is in flight"
    IN_BACKOFF = "a session is seen; the last refresh failed by a blip and another is due"


class Event(enum.Enum):
    SEEN = "the cookies hold a session"
    SIGNED_IN = "a sign-in stored new tokens"
    REFRESH_STARTED = "a refresh of ours began"
    REFRESHED = "our refresh stored new tokens"
    REFRESH_FAILED = "our refresh failed by a blip (network, timeout, 5xx): the session is kept"
    REFRESH_SETTLED = "our refresh ended with nothing to store (done elsewhere, refused, abandoned)"
    ENDED = "the session ended: the cookies are cleared"
    WARNED = "the idle warning was shown for this token"


P, E = Phase, Event
#: (phase, event) -> the next phase, for every pair. Read a row as "in this phase, this event
#: leads there". A refresh's own end (REFRESHED, FAILED, SETTLED) is the only way out of a
#: refreshing phase; a session's end (ENDED) leaves a refresh in flight to finish.
TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    (P.OUT, E.SEEN): P.IN,
    (P.OUT, E.SIGNED_IN): P.IN,
    (P.OUT, E.REFRESH_STARTED): P.OUT_REFRESHING,
    (P.OUT, E.REFRESHED): P.IN,
    (P.OUT, E.REFRESH_FAILED): P.OUT,
    (P.OUT, E.REFRESH_SETTLED): P.OUT,
    (P.OUT, E.ENDED): P.OUT,
    (P.OUT, E.WARNED): P.OUT,
    (P.OUT_REFRESHING, E.SEEN): P.IN_REFRESHING,
    (P.OUT_REFRESHING, E.SIGNED_IN): P.IN_REFRESHING,
    (P.OUT_REFRESHING, E.REFRESH_STARTED): P.OUT_REFRESHING,
    (P.OUT_REFRESHING, E.REFRESHED): P.IN,
    (P.OUT_REFRESHING, E.REFRESH_FAILED): P.OUT,
    (P.OUT_REFRESHING, E.REFRESH_SETTLED): P.OUT,
    (P.OUT_REFRESHING, E.ENDED): P.OUT_REFRESHING,
    (P.OUT_REFRESHING, E.WARNED): P.OUT_REFRESHING,
    (P.IN, E.SEEN): P.IN,
    (P.IN, E.SIGNED_IN): P.IN,
    (P.IN, E.REFRESH_STARTED): P.IN_REFRESHING,
    (P.IN, E.REFRESHED): P.IN,
    (P.IN, E.REFRESH_FAILED): P.IN_BACKOFF,
    (P.IN, E.REFRESH_SETTLED): P.IN,
    (P.IN, E.ENDED): P.OUT,
    (P.IN, E.WARNED): P.IN,
    (P.IN_REFRESHING, E.SEEN): P.IN_REFRESHING,
    (P.IN_REFRESHING, E.SIGNED_IN): P.IN_REFRESHING,
    (P.IN_REFRESHING, E.REFRESH_STARTED): P.IN_REFRESHING,
    (P.IN_REFRESHING, E.REFRESHED): P.IN,
    (P.IN_REFRESHING, E.REFRESH_FAILED): P.IN_BACKOFF,
    (P.IN_REFRESHING, E.REFRESH_SETTLED): P.IN,
    (P.IN_REFRESHING, E.ENDED): P.OUT_REFRESHING,
    (P.IN_REFRESHING, E.WARNED): P.IN_REFRESHING,
    (P.IN_BACKOFF, E.SEEN): P.IN_BACKOFF,
    (P.IN_BACKOFF, E.SIGNED_IN): P.IN,
    (P.IN_BACKOFF, E.REFRESH_STARTED): P.IN_REFRESHING,
    (P.IN_BACKOFF, E.REFRESHED): P.IN,
    (P.IN_BACKOFF, E.REFRESH_FAILED): P.IN_BACKOFF,
    (P.IN_BACKOFF, E.REFRESH_SETTLED): P.IN,
    (P.IN_BACKOFF, E.ENDED): P.OUT,
    (P.IN_BACKOFF, E.WARNED): P.IN_BACKOFF,
}
del P, E

_REFRESH_ENDS = frozenset({Event.REFRESHED, Event.REFRESH_FAILED, Event.REFRESH_SETTLED})
REFRESHING = frozenset({Phase.OUT_REFRESHING, Phase.IN_REFRESHING})
SEEN = frozenset({Phase.IN, Phase.IN_REFRESHING, Phase.IN_BACKOFF})

#: Called after each transition with the event and its detail (keyword arguments of :meth:`process`).
Listener: TypeAlias = Callable[[Event, dict[str, Any]], None]


class SessionState:
    """The page's own memory of its session; see the module docstring.

    >>> state = SessionState()
    >>> state.process(Event.SIGNED_IN).name, state.process(Event.REFRESH_STARTED).name, state.refreshing
    ('IN', 'IN_REFRESHING', True)
    >>> state.process(Event.ENDED, reason="logout", announced=True).name
    'OUT_REFRESHING'
    """

    def __init__(self) -> None:
        self.phase = Phase.OUT
        self.listeners: list[Listener] = []
        #: The utilTime of the last session seen: cookies that vanish after it passed were
        #: cleared by another tab's R2, not by a sign-out (the same toast in every tab, R7).
        self.last_util_ms: int | None = None
        #: When the refresh token stored last expires (ms since the epoch; None: not told). Its
        #: cookie's lifetime cannot be read back from ``document.cookie``.
        self.refresh_expires_at_ms: int | None = None
        #: The utilTime the idle warning was shown for.
        self.warned_for: int | None = None
        #: Refresh blips in a row, when the next try is due, and the session it is for.
        self.blips = 0
        self.retry_at_ms: float | None = None
        self.retry_for: Session | None = None
        #: How many of our refreshes have ended, and how the last one did (a session or an error).
        self.refreshes_done = 0
        self.last_refresh: Session | BaseException | None = None

    @property
    def refreshing(self) -> bool:
        """A refresh of ours is in flight: requests wait for it (R1 single flight)."""
        return self.phase in REFRESHING

    @property
    def seen(self) -> bool:
        """This page has seen a session since the last one ended (so its end is announced once)."""
        return self.phase in SEEN

    def process(self, event: Event, **detail: Any) -> Phase:
        """Apply one event; returns the new phase. Details by event: ``SEEN`` and ``REFRESHED``
        and ``SIGNED_IN``: ``session``; ``SIGNED_IN``/``REFRESHED``: ``refresh_expires_at_ms``;
        ``REFRESH_FAILED``: ``error``, ``retry_at_ms``; ``REFRESH_SETTLED``: ``outcome`` (a
        session or an error); ``ENDED``: ``reason``, ``announced``; ``WARNED``: ``util_time_ms``,
        ``remaining_ms``."""
        before = self.phase
        self.phase = TRANSITIONS[(before, event)]
        session: Session | None = detail.get("session")
        if session is not None and session.util_time_ms is not None:
            self.last_util_ms = session.util_time_ms
        if before in REFRESHING and event in _REFRESH_ENDS:
            self.refreshes_done += 1
            self.last_refresh = session if event is Event.REFRESHED else detail.get("error", detail.get("outcome"))
        if event in (Event.SIGNED_IN, Event.REFRESHED):
            self.refresh_expires_at_ms = detail.get("refresh_expires_at_ms")
        if event is Event.SIGNED_IN:
            self.warned_for = None
        elif event is Event.WARNED:
            self.warned_for = detail.get("util_time_ms")
        elif event is Event.ENDED:
            self.last_util_ms = None
        if self.phase is Phase.IN_BACKOFF and event is Event.REFRESH_FAILED:
            self.blips += 1
            self.retry_at_ms, self.retry_for = detail.get("retry_at_ms"), detail.get("retry_for")
        elif self.phase is not Phase.IN_BACKOFF:
            self.retry_at_ms, self.retry_for = None, None
        if self.phase in (Phase.IN, Phase.OUT):
            self.blips = 0  # the backoff grows only over blips in a row
        for listener in list(self.listeners):
            listener(event, detail)
        return self.phase

    def outcome_since(self, ticket: int) -> Session | BaseException | None:
        """How the first refresh to end after ``ticket`` (``refreshes_done`` when a request began
        to wait) ended; ``None`` if none has ended since."""
        return self.last_refresh if self.refreshes_done > ticket else None

    def warned(self, session: Session) -> bool:
        """The idle warning was shown for this very token."""
        return self.warned_for is not None and self.warned_for == session.util_time_ms
