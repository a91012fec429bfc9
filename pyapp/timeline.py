"""The playground's picture of the session, as pure geometry and text (no DOM, no clock).

The axis spans two access-token lifetimes ending at ``utilTime``: the right half
is the current token, the left half the one before, so "now" moves from the
middle to the right end and jumps back to the middle at each refresh, leaving
a mark. The refresh window is shaded at the right end, the idle-warning point
is a line, and the text says the same for screen readers.

    model = layout(now_ms, session, window_ms=4000, warn_lead_ms=3000, refreshes_ms=[...],
                   refresh_expires_at_ms=None)
    model.now, model.window_from, model.warn_at, model.marks   # fractions of the axis, 0..1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokensession.cookies import Session


@dataclass(frozen=True)
class TimelineModel:
    now: float  # where "now" is, 0..1
    window_from: float  # the refresh window is shaded from here to 1
    warn_at: float | None  # the idle warning's point; None: no warning configured
    marks: tuple[float, ...]  # refreshes inside the axis
    left_ms: int  # what is left of the access token
    life_ms: int  # the access token's whole lifetime


def layout(
    now_ms: float,
    session: Session,
    *,
    window_ms: float,
    warn_lead_ms: int,
    refreshes_ms: Sequence[float],
) -> TimelineModel | None:
    """The timeline for ``session`` at ``now_ms``; None without a readable session.

    >>> m = layout(5_000, Session("a", "r", 10_000, 10), window_ms=4_000, warn_lead_ms=3_000, refreshes_ms=[0])
    >>> m.now, m.window_from, m.warn_at, m.marks
    (0.75, 0.8, 0.85, (0.5,))
    """
    if session.is_empty or session.util_time_ms is None or not session.expires_in:
        return None
    life = session.expires_in * 1000
    end = session.util_time_ms
    start = end - 2 * life

    def at(t: float) -> float:
        return min(1.0, max(0.0, (t - start) / (2 * life)))

    marks = tuple(at(t) for t in refreshes_ms if start <= t <= end)
    return TimelineModel(
        now=at(now_ms),
        window_from=at(end - window_ms),
        warn_at=at(end - warn_lead_ms) if warn_lead_ms else None,
        marks=marks,
        left_ms=max(0, int(end - now_ms)),
        life_ms=life,
    )


def duration(ms: float, t: Callable[..., str]) -> str:
    """A long duration for people: ``6 d 23 h``, ``2 h 5 min``, ``3 min 20 s``, ``12 s``.

    >>> en = lambda key, **v: {"duration.days": "{d} d {h} h", "duration.hours": "{h} h {m} min",
    ...     "duration.minutes": "{m} min {s} s", "duration.seconds": "{s} s"}[key].format(**v)
    >>> duration(7 * 86400_000 - 3600_000, en), duration(125_000, en), duration(999, en)
    ('6 d 23 h', '2 min 5 s', '0 s')
    """
    s = max(0, int(ms // 1000))
    d, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    if d:
        return t("duration.days", d=d, h=h)
    if h:
        return t("duration.hours", h=h, m=m)
    if m:
        return t("duration.minutes", m=m, s=sec)
    return t("duration.seconds", s=sec)
