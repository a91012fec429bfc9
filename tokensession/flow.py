"""The request lifecycle, written once, as generators (like httpx's ``Auth.auth_flow``).

A flow yields commands and receives their results; a refresh is just another
request it yields. Two drivers run these flows: the async
:class:`~tokensession.client.ApiClient` and the synchronous
:class:`~tokensession.urllib_handler.SessionHandler`. The decisions come from
:class:`~tokensession.policy.SessionPolicy`; the cookies, read through
:class:`SessionContext`, are the only state that matters::

    flow = request_flow(ctx, Request.build("GET", "me"))
    command = next(flow)            # Send(request with "authorization: Bearer ...")
    command = flow.send(response)   # StopIteration(response), or a Refresh, or ...

Commands and what the driver sends back:

    Send(request, intercept)  -> Response, or the NetworkError it raised
    Refresh(seen)             -> the Session after the one shared refresh (or its error, thrown in)
    StartRefresh(seen)        -> None; the shared refresh runs in the background
    Wait()                    -> None, once the refresh in flight is over
    Acquire() / Release()     -> None; the cross-tab refresh lock
    EndSession(reason)        -> None; cookies cleared, logout sent, hooks fired
    Refreshed(session)        -> None; on_refresh hooks fired
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
from tokensession.errors import (
    ApiError,
    EndReason,
    HttpStatusError,
    RefreshFailed,
    RequestTimeout,
    SessionExpired,
    UnauthorizedError,
)
from tokensession.http import Request, Response
from tokensession.policy import Action, SessionPolicy, call_kind, insufficient_scope

T = TypeVar("T")
log = logging.getLogger("tokensession")

#: The header ``refresh_token`` and ``logout`` carry in the HttpOnly refresh mode (the API
#: answers 403 without it): a cross-site form cannot send it, so the cookie alone is not enough.
CSRF_HEADER = ("x-requested-with", "pyauth")


@dataclass(frozen=True)
class Send:
    request: Request
    intercept: bool = True  # False: bypass the user's interceptors (refresh, logout)


@dataclass(frozen=True)
class Refresh:
    seen: Session


@dataclass(frozen=True)
class StartRefresh:
    seen: Session


@dataclass(frozen=True)
class Wait:
    """Wait for the refresh in flight in this page; ``elsewhere``: for one another tab
    may be running (R7), which only a cross-tab lock can tell."""

    elsewhere: bool = False


@dataclass(frozen=True)
class Acquire:
    pass


@dataclass(frozen=True)
class Release:
    pass


@dataclass(frozen=True)
class EndSession:
    reason: EndReason


@dataclass(frozen=True)
class Refreshed:
    session: Session


Command = Send | Refresh | StartRefresh | Wait | Acquire | Release | EndSession | Refreshed
Flow = Generator[Command, Any, T]


@dataclass
class Hooks:
    """What the app plugs in (STYLE #5). Interceptors may return a replacement or ``None``.

    >>> api.hooks.request.append(lambda req: req.headers.update({"x-app": "demo"}))   # doctest: +SKIP
    >>> api.hooks.on_session_end.append(lambda reason: router.to_login())            # doctest: +SKIP
    """

    request: list[Callable[[Request], Any]] = field(default_factory=list)
    response: list[Callable[[Response], Any]] = field(default_factory=list)
    on_session_end: list[Callable[[EndReason], Any]] = field(default_factory=list)
    on_refresh: list[Callable[[Session], Any]] = field(default_factory=list)
    on_error: list[Callable[[ApiError], Any]] = field(default_factory=list)
    on_idle_warning: list[Callable[[int], Any]] = field(default_factory=list)


class SessionContext:
    """The cookies and the clock, as the flows see them. No token is kept here.

    ``seen`` says this page has seen a session since the last one ended, so a
    session that vanishes (another tab signed out) is announced once.

    ``refresh_cookie`` is where the refresh token lives (contract section 4):
    ``"js"``, a cookie the page reads and sends in the JSON body of
    ``refresh_token`` and ``logout``; ``"httponly"``, the API's own cookie the
    browser sends by itself (the page keeps a marker, and those two calls go
    with an empty body and :data:`CSRF_HEADER`). The flows are the same in both.
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
        refreshing: Callable[[], bool] = lambda: False,
        refresh_cookie: RefreshCookie = "js",
        refresh_elsewhere: Callable[[], bool] = lambda: False,
    ) -> None:
        self.jar, self.clock_ms, self.policy = jar, clock_ms, policy
        self.refresh_cookie: RefreshCookie = refresh_cookie
        self.timeout_ms, self.cookie_path, self.secure = timeout_ms, cookie_path, secure
        self.refreshing = refreshing
        # Whether another tab said it is refreshing (a cross-tab lock's hint; False: none known).
        self.refresh_elsewhere = refresh_elsewhere
        self._header, self._session = "", Session()  # the last cookie header read, parsed
        self.seen = False
        self.warned_for: int | None = None  # the utilTime the idle warning fired for
        # When the refresh token stored last expires (ms since the epoch; None: not told). Its
        # cookie's lifetime is not readable from document.cookie, so this tab remembers it.
        self.refresh_expires_at_ms: int | None = None
        # The utilTime of the last session this page saw: cookies that vanish after it passed
        # were cleared by another tab's R2, not by a sign-out (same toast in every tab, R7).
        self.last_util_ms: int | None = None

    def now(self) -> int:
        return int(self.clock_ms())

    def read(self) -> Session:
        header = self.jar.read()
        if header != self._header:  # parsing costs more than reading, in the page: once per change
            self._header, self._session = header, Session.from_header(header, refresh_cookie=self.refresh_cookie)
        return self._session

    def credential_request(self, path: str, refresh_token: str | None) -> Request:
        """The ``refresh_token`` or ``logout`` call: the token in the JSON body, or in the
        HttpOnly mode an empty body and the CSRF header (the browser adds the cookie)."""
        if self.refresh_cookie == "httponly":
            return Request.build("POST", path, headers=dict([CSRF_HEADER]), timeout_ms=self.timeout_ms)
        return Request.build("POST", path, json={"refresh_token": refresh_token}, timeout_ms=self.timeout_ms)

    def grant(self, response: Response | None) -> TokenGrant | None:
        """The tokens of a ``login`` or ``refresh_token`` answer, read for this mode."""
        try:
            data = response.json() if response is not None else None
        except ValueError:
            return None
        if self.refresh_cookie == "httponly" and isinstance(data, dict) and "refresh_token" in data:
            # The API is not in the HttpOnly mode: its token is not kept where scripts read it.
            log.warning('refreshCookie is "httponly" but the API sent a refresh token in the body; not kept')
        return TokenGrant.from_json(data, refresh_cookie=self.refresh_cookie)

    def observe(self) -> Session:
        session = self.read()
        self.seen = self.seen or not session.is_empty
        if not session.is_empty:
            self.last_util_ms = session.util_time_ms
        return session

    def store(self, grant: TokenGrant) -> Session:
        received = self.now()
        for line in grant_assignments(grant, received_ms=received, path=self.cookie_path, secure=self.secure):
            self.jar.write(line)
        self.refresh_expires_at_ms = received + grant.refresh_expires_in * 1000 if grant.refresh_expires_in else None
        self.seen = True
        return grant.session(received)

    def end(self) -> tuple[bool, str | None]:
        """Clear the cookies; returns (announce the end?, what to log out or None): the refresh
        token, or in the HttpOnly mode the marker (the browser sends the API's cookie itself)."""
        before = self.read()
        if any(name in parse_cookie_header(self.jar.read()) for name in PAGE_COOKIES):
            for line in clear_assignments(path=self.cookie_path, secure=self.secure):
                self.jar.write(line)
        announce = self.seen or not before.is_empty
        self.seen, self.last_util_ms = False, None
        return announce, before.refresh_id


def _authorized(request: Request, token: str | None) -> Request:
    headers = dict(request.headers)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return dataclasses.replace(request, headers=headers)


def _status_error(request: Request, response: Response) -> HttpStatusError:
    if response.status == 401:
        return UnauthorizedError(request=request, response=response)
    return HttpStatusError(response.status, request=request, response=response)


def request_flow(ctx: SessionContext, request: Request) -> Flow[Response]:
    """One API call under R1-R4: returns the response or raises an :class:`ApiError`."""
    call = call_kind(request.path)
    retried = waited = synced = False
    while True:
        sent = ctx.observe()
        action = ctx.policy.before_send(
            ctx.now(),
            sent,
            call,
            refreshing=ctx.refreshing() and not waited,
            synced=synced,
            refresh_elsewhere=not synced and ctx.refresh_elsewhere(),
        )
        if action is Action.WAIT:
            yield Wait()
            waited = True
            continue
        if action is Action.WAIT_ELSEWHERE:
            yield Wait(elsewhere=True)  # R7: a refresh in another tab serves this request too
            synced = True
            continue  # decide again on what the cookies say now
        if action is Action.END_SESSION:
            yield EndSession("expired")
            raise SessionExpired("expired", request=request)
        if action is Action.REFRESH_FIRST and not retried:
            yield Refresh(sent)
            retried = True
            continue
        if action is Action.REFRESH_FIRST:
            yield EndSession("unauthorized")  # a refresh left no usable token: no second round
            raise SessionExpired("unauthorized", request=request)
        prepared = _authorized(request, sent.access_token if action is Action.SEND_WITH_TOKEN else None)
        reply: Response | ApiError = yield Send(prepared)
        if isinstance(reply, ApiError):
            raise reply
        action = ctx.policy.after_response(
            ctx.now(),
            reply.status,
            call,
            sent=sent,
            current=ctx.read(),
            refreshing=ctx.refreshing(),
            retried=retried,
            insufficient_scope=insufficient_scope(reply.headers.get("www-authenticate")),
        )
        if action is Action.ACCEPT:
            return reply
        if action is Action.START_REFRESH:
            yield StartRefresh(sent)
            return reply
        if action is Action.RETRY:
            retried = True
            continue
        if action is Action.REFRESH_FIRST:
            retried = True
            try:
                yield Refresh(sent)
            except RefreshFailed:
                if ctx.policy.after_failed_refresh(after_401=True) is not Action.END_SESSION:
                    raise
                yield EndSession("unauthorized")
                raise SessionExpired("unauthorized", request=prepared, response=reply) from None
            continue
        if action is Action.END_SESSION:
            yield EndSession("unauthorized")
            raise SessionExpired("unauthorized", request=prepared, response=reply)
        raise _status_error(prepared, reply)


def refresh_flow(ctx: SessionContext, seen: Session) -> Flow[Session]:
    """One refresh, under the lock. Returns the session to use; raises
    :class:`SessionExpired` (refused) or :class:`RefreshFailed` (a blip)."""
    yield Acquire()
    current = ctx.observe()
    turn = ctx.policy.refresh_turn(seen, current)
    if turn is not Action.REFRESH or not current.has_refresh_token:
        yield Release()
        if turn is Action.ACCEPT:
            return current  # someone refreshed while we waited for the lock
        reason: EndReason = "elsewhere" if current.is_empty else "unauthorized"
        yield EndSession(reason)
        raise SessionExpired(reason)
    request = ctx.credential_request("refresh_token", current.refresh_token)
    reply = yield Send(request, intercept=False)
    response = reply if isinstance(reply, Response) else None
    action, kind = ctx.policy.after_refresh(
        None if response is None else response.status, timed_out=isinstance(reply, RequestTimeout)
    )
    grant = ctx.grant(response) if action is Action.ACCEPT else None
    if action is Action.ACCEPT and grant is None:
        action, kind = Action.KEEP_SESSION, "server"  # a 2xx we cannot read is the server's fault
    if grant is not None:
        if ctx.read().refresh_id != current.refresh_id:
            # Signed out (or in again) while the refresh was in flight: do not
            # resurrect; retire the family the server just extended.
            yield Release()
            yield from logout_flow(ctx, grant.refresh_token)
            raise SessionExpired("elsewhere", request=request, response=response)
        session = ctx.store(grant)
        yield Release()
        yield Refreshed(session)
        return session
    yield Release()
    if action is Action.END_SESSION:
        yield EndSession("refresh_rejected")
        raise SessionExpired("refresh_rejected", request=request, response=response)
    cause = reply if isinstance(reply, ApiError) else None
    raise RefreshFailed(kind or "server", cause=cause, request=request, response=response)


def login_flow(ctx: SessionContext, username: str, password: str) -> Flow[Session]:
    """Sign in: on success the cookies hold the new session, which is returned."""
    request = Request.build(
        "POST", "login", json={"username": username, "password": password}, timeout_ms=ctx.timeout_ms
    )
    # In the HttpOnly mode the browser keeps whichever refresh cookie the API set last, whatever
    # the page decides: a sign-in takes the refresh lock so that no tab's refresh answer lands
    # on top of it. (The drivers release a held lock themselves if the flow is abandoned.)
    locked = ctx.refresh_cookie == "httponly"
    if locked:
        yield Acquire()
    reply = yield Send(request)
    if locked:
        yield Release()
    if isinstance(reply, ApiError):
        raise reply
    if reply.status >= 400:
        raise _status_error(request, reply)
    grant = ctx.grant(reply)
    if grant is None:
        raise ApiError("login answered without usable tokens", request=request, response=reply)
    ctx.warned_for = None
    return ctx.store(grant)


def logout_flow(ctx: SessionContext, refresh_token: str | None) -> Flow[None]:
    """Tell the server to revoke the family; best effort, the answer does not matter.
    ``refresh_token`` is ``None`` in the HttpOnly mode (the browser sends the cookie)."""
    yield Send(ctx.credential_request("logout", refresh_token), intercept=False)


# -- what every driver does the same way ---------------------------------------------------

#: Where a driver puts the coroutine an async hook returned (the async client: a task).
Schedule = Callable[[Coroutine[Any, Any, Any]], None]


def fire_hooks(hooks: list[Callable[[Any], Any]], argument: Any, schedule: Schedule) -> None:
    """Call each hook with ``argument``, in order. A hook that raises is logged and the
    others still run: a broken hook must not break the session machinery (in every driver).

    >>> fire_hooks([print, lambda _: 1 / 0, print], "logout", schedule=lambda coro: None)  # doctest: +SKIP
    """
    for hook in list(hooks):
        try:
            result = hook(argument)
            if inspect.iscoroutine(result):
                schedule(result)
        except Exception:
            log.exception("hook %r failed", hook)


@dataclass(frozen=True)
class Ending:
    """What :func:`end_session` did: ``announced`` (the hooks fired) and the ``logout``
    call left for the driver to send (``None``: no refresh token was held)."""

    announced: bool
    logout: Flow[None] | None


def end_session(ctx: SessionContext, hooks: Hooks, reason: EndReason, schedule: Schedule) -> Ending:
    """End the session, in the one order every driver keeps: the cookies are cleared,
    ``on_session_end(reason)`` fires (once per session), and only then does the
    ``logout`` call go out (returned as a flow: the async client sends it in the
    background, the synchronous drivers at once). A hook thus sees the cookies
    gone and the server not yet told.

    >>> ending = end_session(ctx, hooks, "logout", schedule)   # doctest: +SKIP
    >>> ending.logout is not None and drive(ending.logout)     # doctest: +SKIP
    """
    announce, token = ctx.end()
    if announce:
        fire_hooks(hooks.on_session_end, reason, schedule)
    if token is None:
        return Ending(announce, None)
    # In the HttpOnly mode ``token`` is the marker: the cookie goes by itself, nothing in the body.
    return Ending(announce, logout_flow(ctx, None if ctx.refresh_cookie == "httponly" else token))
