"""The cookies, the clock and the page's memory, as the flows see them.

:class:`SessionContext` reads and writes the four cookies (the one source of
truth every tab shares) and keeps this page's :class:`~tokensession.state.SessionState`.
It performs no network I/O and fires no hook itself: the state's listeners do.

``source`` is the kind of API (:mod:`tokensession.sources`); by default this
project's, with ``refresh_cookie`` saying where the refresh token lives:
``"js"``, a cookie the page reads and sends in the JSON body of
``refresh_token`` and ``logout``; or ``"httponly"``, the API's own cookie the
browser sends by itself (the page keeps a marker, and those two calls go with
an empty body and :data:`CSRF_HEADER`). The flows are the same for all.
"""

from __future__ import annotations

from collections.abc import Callable

from tokensession.cookies import (
    PAGE_COOKIES,
    CookieJar,
    RefreshCookie,
    Session,
    TokenGrant,
    clear_assignments,
    grant_assignments,
    parse_cookie_header,
)
from tokensession.errors import EndReason
from tokensession.http import Response
from tokensession.policy import SessionPolicy
from tokensession.sources import CSRF_HEADER, ContractSource, TokenSource
from tokensession.state import Event, SessionState

__all__ = ["CSRF_HEADER", "SessionContext"]


def _never() -> bool:
    return False


class SessionContext:
    """The cookies, the clock, the rules and this page's :class:`SessionState`. No token is kept here.

    >>> from tokensession.cookies import MemoryCookieJar
    >>> clock = lambda: 1_000
    >>> ctx = SessionContext(MemoryCookieJar(clock), clock, SessionPolicy())
    >>> ctx.store(TokenGrant("a", "r", expires_in=20), Event.SIGNED_IN).util_time_ms
    21000
    >>> ctx.state.phase.name, ctx.end("logout"), ctx.state.phase.name
    ('IN', (True, 'r'), 'OUT')
    """

    def __init__(
        self,
        jar: CookieJar,
        clock_ms: Callable[[], float],
        policy: SessionPolicy,
        *,
        timeout_ms: int = 10000,
        cookie_path: str = "/",
        secure: bool = False,
        refresh_cookie: RefreshCookie = "js",
        refresh_elsewhere: Callable[[], bool] = _never,
        source: TokenSource | None = None,
    ) -> None:
        self.jar, self.clock_ms, self.policy = jar, clock_ms, policy
        #: What kind of API issues the tokens: the shape of its credential calls and answers.
        self.source = source if source is not None else ContractSource(refresh_cookie)
        self.refresh_cookie: RefreshCookie = self.source.refresh_cookie
        self.timeout_ms, self.cookie_path, self.secure = timeout_ms, cookie_path, secure
        #: Whether another tab said it is refreshing (a cross-tab lock's hint; False: none known).
        self.refresh_elsewhere = refresh_elsewhere
        self.state = SessionState()
        self._header, self._session = "", Session()  # the last cookie header read, parsed

    def now(self) -> int:
        return int(self.clock_ms())

    def read(self) -> Session:
        """What the cookies hold now (parsed once per change of the header)."""
        header = self.jar.read()
        if header != self._header:
            self._header, self._session = header, Session.from_header(header, refresh_cookie=self.refresh_cookie)
        return self._session

    def observe(self) -> Session:
        """:meth:`read`, and tell the state when a session is there (so its end is announced)."""
        session = self.read()
        state = self.state
        # Every request observes: tell the state only what it does not know yet.
        if not session.is_empty and (not state.seen or state.last_util_ms != session.util_time_ms):
            state.process(Event.SEEN, session=session)
        return session

    def grant(self, response: Response | None, held: Session | None = None) -> TokenGrant | None:
        """The tokens of a sign-in or refresh answer, read by this API's :class:`TokenSource`."""
        return self.source.read_grant(response, now_ms=self.now(), held=held)

    def store(self, grant: TokenGrant, event: Event = Event.SIGNED_IN) -> Session:
        """Write ``grant`` into the cookies and tell the state (``SIGNED_IN`` or ``REFRESHED``)."""
        received = self.now()
        for line in grant_assignments(grant, received_ms=received, path=self.cookie_path, secure=self.secure):
            self.jar.write(line)
        session = grant.session(received)
        expires_at = received + grant.refresh_expires_in * 1000 if grant.refresh_expires_in else None
        self.state.process(event, session=session, refresh_expires_at_ms=expires_at)
        return session

    def end(self, reason: EndReason) -> tuple[bool, str | None]:
        """Clear the cookies and tell the state (its listeners announce the end once per session).
        Returns whether the end is announced, and what to log out: the refresh token, or in the
        HttpOnly mode the marker (the browser sends the API's cookie itself); ``None``: none held."""
        before = self.read()
        if any(name in parse_cookie_header(self.jar.read()) for name in PAGE_COOKIES):
            for line in clear_assignments(path=self.cookie_path, secure=self.secure):
                self.jar.write(line)
        announced = self.state.seen or not before.is_empty
        self.state.process(Event.ENDED, reason=reason, announced=announced)
        return announced, before.refresh_id
