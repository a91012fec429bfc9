"""The session policy: what happens next, decided from ``now`` and one event (sans-I/O).

Theory of operation
-------------------
A session is four cookies (README, "Cookies"); :class:`~tokensession.cookies.Session`
is a snapshot of them. "A refresh token is held" is ``Session.has_refresh_token``:
the readable cookie, or in the HttpOnly refresh mode the page's marker of the
API's cookie, so these rows are the same in both modes. Everything that decides the session's fate lives
here, and nothing here reads a clock, a cookie or the network: the caller
(:mod:`tokensession.flow`, driven by the async client or the urllib handler) passes
``now_ms``, the snapshot and the event, and performs the action it gets back.

The seed's three rules, exact (README, "Rules R1-R7"):

* R1: a success while the token has at most ``refresh_window_ms`` left starts
  one refresh; ``login``, ``refresh_token`` and ``logout`` never do. One refresh
  at a time; a request made meanwhile waits and goes out with the new token.
* R2/R3: an expired token is never sent; the session ends instead.
* R4: a 401 on anything but ``login``: with a refresh token, refresh once and
  retry once; a second 401, no refresh token, or a refresh that fails in
  any way ends the session.

And two things the seed could not tell apart: a refresh *refused* (400/401:
the session is over) and a refresh that *failed* (network, timeout, 5xx: a
blip; after an R1 refresh the session lives on while its token does, and the
error is shown; after a 401 there is no working token left, so R4 ends it).
A blip after an R1 refresh is retried with backoff (:meth:`SessionPolicy.retry_delay_ms`,
and at once when the browser comes back ``online``) while the token is valid;
403, and a 401 that says ``insufficient_scope``, are refusals of one call, not
of the session: no refresh, no ending.
An optional idle warning ("stay signed in?") fires
``min(idle_warning_ms, expires_in / 2)`` before expiry (:meth:`SessionPolicy.warning_lead_ms`),
so the app can offer an explicit refresh; a short-lived token is not warned
about for most of its life.

Each method below is one event; its rows are tried top to bottom.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, TypeAlias

from tokensession.cookies import Session
from tokensession.errors import RefreshKind

Call: TypeAlias = Literal["login", "refresh", "logout", "api"]
#: The calls that carry credentials in their body and never trigger a refresh (R1).
AUTH_CALLS: frozenset[Call] = frozenset({"login", "refresh", "logout"})
_AUTH_PATHS: dict[str, Call] = {"login": "login", "refresh_token": "refresh", "logout": "logout"}


class Action(enum.Enum):
    SEND_WITH_TOKEN = "send with the access token"
    SEND_ANONYMOUS = "send without a token"
    WAIT = "wait for the refresh in flight, then decide again"
    WAIT_ELSEWHERE = "wait for a refresh another tab may be running, then decide again"
    REFRESH_FIRST = "refresh, then send (or retry) the request"
    RETRY = "send the request again, with the token the cookies hold now"
    REFRESH = "send the refresh request now"
    START_REFRESH = "accept the answer and start a refresh in the background"
    ACCEPT = "accept the answer as it is"
    FAIL = "raise the error status to the caller"
    END_SESSION = "end the session"
    KEEP_SESSION = "keep the session; report the error"
    WARN_IDLE = "ask the user whether to stay signed in"
    NOTHING = "nothing to do yet"


def insufficient_scope(www_authenticate: str | None) -> bool:
    """A 401 whose ``WWW-Authenticate`` says ``error="insufficient_scope"`` (RFC 6750 §3.1):
    the token is good but lacks a scope, so it is not a session problem.

    >>> insufficient_scope('Bearer error="insufficient_scope", scope="admin"'), insufficient_scope("Bearer")
    (True, False)
    """
    text = (www_authenticate or "").lower()
    at = text.find("error")
    while at >= 0:
        before = text[at - 1] if at else " "
        word_goes_on = before.isalpha() or before.isdigit() or before == "_"
        param, eq, value = text[at:].partition("=")
        named = not word_goes_on and eq and param[5:].strip(" \t") == ""
        if named and value.lstrip(' \t"').startswith("insufficient_scope"):
            return True
        at = text.find("error", at + 1)
    return False


def call_kind(path: str) -> Call:
    """Which kind of call a path (relative to the API base) is.

    >>> call_kind("refresh_token"), call_kind("/login/"), call_kind("me?x=1")
    ('refresh', 'login', 'api')
    """
    return _AUTH_PATHS.get(path.partition("?")[0].strip("/"), "api")


@dataclass(frozen=True)
class SessionPolicy:
    """The rules, parametrised by the client config.

    >>> policy = SessionPolicy(refresh_window_ms=1_800_000)
    >>> policy.before_send(0, Session(), "api", refreshing=False)
    <Action.SEND_ANONYMOUS: 'send without a token'>
    """

    refresh_window_ms: int = 1_800_000
    idle_warning_ms: int = 0  # 0: no idle warning
    retry_base_ms: int = 1000  # a refresh blip is retried after 1 s, 2 s, 4 s ...
    retry_max_ms: int = 30_000  # ... at most this far apart

    @classmethod
    def from_seconds(cls, refresh_window_seconds: float = 1800, idle_warning_seconds: float = 0) -> SessionPolicy:
        return cls(int(refresh_window_seconds * 1000), int(idle_warning_seconds * 1000))

    def before_send(
        self,
        now_ms: float,
        session: Session,
        call: Call,
        *,
        refreshing: bool,
        synced: bool = True,
        refresh_elsewhere: bool = False,
    ) -> Action:
        """A request is about to go out. ``synced``: it has already waited for any refresh in
        another tab (R7); ``refresh_elsewhere``: another tab said it is refreshing now."""
        if call in AUTH_CALLS:
            return Action.SEND_ANONYMOUS  # R1: their credentials are in the body
        if session.is_empty:
            return Action.SEND_ANONYMOUS  # signed out: the server decides
        if refreshing:
            return Action.WAIT  # R1: go out with the new token
        if session.expired(now_ms):
            return Action.END_SESSION  # R3 (an unreadable utilTime counts as expired)
        if session.access_token is None:
            return Action.REFRESH_FIRST  # live utilTime, garbage token: R4 without the wasted 401
        if not synced and (refresh_elsewhere or session.remaining_ms(now_ms) <= self.refresh_window_ms):
            # R7: go out with the token another tab's refresh brings. Another tab refreshes only
            # inside the window (R1, the same cookies here) or when it says so (after a 401, or
            # "stay signed in"); outside both, the round trip to the lock manager is skipped, so
            # most requests pay nothing for R7.
            return Action.WAIT_ELSEWHERE
        return Action.SEND_WITH_TOKEN

    def after_response(
        self,
        now_ms: float,
        status: int,
        call: Call,
        *,
        sent: Session,
        current: Session,
        refreshing: bool,
        retried: bool,
        insufficient_scope: bool = False,
        retry_at_ms: float | None = None,
    ) -> Action:
        """An answer arrived for a request sent with ``sent``; the cookies now hold ``current``.
        ``insufficient_scope``: a 401 that says so (:func:`insufficient_scope`);
        ``retry_at_ms``: when the refresh a blip left is due again (``None``: none is)."""
        if status == 401 and insufficient_scope:
            return Action.FAIL  # the token is fine; it lacks a scope: no refresh, no ending
        if status == 401:
            if call == "login":
                return Action.FAIL  # bad credentials, not a session matter
            if retried:
                return Action.END_SESSION  # R4: the second 401; no loop
            if current.replaced(sent):
                # R4 with the refresh already done (by another request of the storm, or another
                # tab): retry once with its token; no lock, no refresh of our own.
                return Action.RETRY
            if current.has_refresh_token:
                return Action.REFRESH_FIRST  # R4: refresh once, retry once
            return Action.END_SESSION  # R4: nothing to refresh with
        if status >= 400:
            return Action.FAIL
        if call in AUTH_CALLS or sent.access_token is None:
            return Action.ACCEPT  # R1: auth calls and anonymous calls never refresh
        if refreshing or current.replaced(sent):
            return Action.ACCEPT  # R1 single flight: a refresh is running or already done
        if retry_at_ms is not None and now_ms < retry_at_ms:
            # A blip's retry is due at its time (the watchdog, or the browser's `online`): a
            # burst of successes does not hammer a failing refresh, nor toast once each.
            return Action.ACCEPT
        if not current.has_refresh_token or current.expired(now_ms):
            return Action.ACCEPT  # nothing to refresh with; the watchdog ends it (R2)
        if current.remaining_ms(now_ms) <= self.refresh_window_ms:
            return Action.START_REFRESH  # R1
        return Action.ACCEPT

    def on_activity(
        self, now_ms: float, session: Session, *, refreshing: bool, retry_at_ms: float | None = None
    ) -> Action:
        """The user did something that counts as activity (config ``activityEvents``): inside
        the refresh window it starts the refresh a successful request would (R1)."""
        if refreshing:
            return Action.NOTHING  # R1 single flight
        if retry_at_ms is not None and now_ms < retry_at_ms:
            return Action.NOTHING  # a blip's retry is due at its own time
        if session.access_token is None or not session.has_refresh_token:
            return Action.NOTHING  # signed out, or nothing to refresh with
        if session.expired(now_ms):
            return Action.NOTHING  # too late: the watchdog ends it (R2)
        if session.remaining_ms(now_ms) <= self.refresh_window_ms:
            return Action.START_REFRESH  # R1, as for a request that succeeded now
        return Action.NOTHING

    def refresh_turn(self, seen: Session, current: Session) -> Action:
        """The refresh lock is ours; ``seen`` is what made us want a refresh."""
        if current.replaced(seen):
            return Action.ACCEPT  # another request or tab refreshed while we waited
        if not current.has_refresh_token:
            return Action.END_SESSION  # the session ended while we waited
        return Action.REFRESH

    def after_refresh(self, status: int | None, *, timed_out: bool = False) -> tuple[Action, RefreshKind | None]:
        """The refresh call answered ``status`` (``None``: nothing answered)."""
        if status is None:
            return Action.KEEP_SESSION, "timeout" if timed_out else "network"  # a blip
        if 200 <= status < 300:
            return Action.ACCEPT, None
        if status in (400, 401):
            return Action.END_SESSION, None  # R1: the server refused the session
        return Action.KEEP_SESSION, "server"  # 5xx and the unexpected: a blip

    def after_failed_refresh(self, *, after_401: bool) -> Action:
        """A refresh failed without being refused (a blip, see :meth:`after_refresh`)."""
        if after_401:
            return Action.END_SESSION  # R4: the server refused our token and we cannot replace it
        return Action.KEEP_SESSION  # R1: the token still works until utilTime; try again later

    def retry_delay_ms(self, failures: int) -> int:
        """How long after the ``failures``-th refresh blip in a row to try again (backoff).

        >>> [SessionPolicy().retry_delay_ms(n) for n in (1, 2, 3, 6, 9)]
        [1000, 2000, 4000, 30000, 30000]
        """
        return min(self.retry_base_ms << min(max(0, failures - 1), 20), self.retry_max_ms)

    def on_tick(
        self,
        now_ms: float,
        session: Session,
        *,
        seen: bool,
        refreshing: bool,
        warned: bool,
        retry_at_ms: float | None = None,
    ) -> Action:
        """The watchdog looks (timer, ``visibilitychange``, ``focus``, ``online``). ``seen``: this
        page saw a session since the last one ended; ``warned``: the idle warning fired for it;
        ``retry_at_ms``: when a refresh that failed by a blip is due again (``None``: none is)."""
        if refreshing:
            return Action.NOTHING  # the refresh decides; look again after it
        if session.is_empty:
            return Action.END_SESSION if seen else Action.NOTHING  # R7: signed out in another tab
        if session.expired(now_ms):
            return Action.END_SESSION  # R2, at the moment of expiry: blips end nothing before it
        if retry_at_ms is not None and now_ms >= retry_at_ms and session.has_refresh_token and session.access_token:
            return Action.START_REFRESH  # R1 again after a blip, while the token is valid
        lead = self.warning_lead_ms(session)
        if lead and not warned and session.remaining_ms(now_ms) <= lead:
            return Action.WARN_IDLE
        return Action.NOTHING

    def warning_lead_ms(self, session: Session) -> int:
        """How long before ``utilTime`` the idle warning shows: ``min(idle_warning_ms,
        expires_in / 2)`` (README, "Config keys"); 0: no warning.

        >>> SessionPolicy(idle_warning_ms=60_000).warning_lead_ms(Session("t", "r", 0, 6))
        3000
        """
        lead = self.idle_warning_ms
        if lead and session.expires_in is not None:
            lead = min(lead, session.expires_in * 500)  # expires_in is in seconds: half of it, in ms
        return max(0, lead)

    def deadline_ms(
        self, session: Session, *, warned: bool, retry_at_ms: float | None = None, refreshing: bool = False
    ) -> int | None:
        """When :meth:`on_tick` may next answer something else; ``None``: nothing falls due, as
        there is no session, or a refresh is in flight (its end decides; look again after it).

        A deadline that has passed always has an answer other than ``NOTHING`` waiting: a
        watchdog that sleeps until it and looks never wakes for nothing in a loop.

        >>> policy = SessionPolicy()
        >>> session = Session("t", "r", 60_000, 6)
        >>> policy.deadline_ms(session, warned=True), policy.deadline_ms(session, warned=True, refreshing=True)
        (60000, None)
        """
        if session.is_empty or refreshing:
            return None
        if session.util_time_ms is None:
            return 0  # unreadable expiry: look now
        deadline = session.util_time_ms
        lead = self.warning_lead_ms(session)
        if lead and not warned:
            deadline = max(0, session.util_time_ms - lead)
        if retry_at_ms is not None and session.has_refresh_token and session.access_token:
            deadline = min(deadline, max(0, int(retry_at_ms)))  # a blip's retry (on_tick's condition)
        return deadline
