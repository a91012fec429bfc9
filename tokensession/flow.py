"""The request lifecycle, written once, as generators (like httpx's ``Auth.auth_flow``).

A flow yields only I/O and says what happened by its return value (or by
raising an :class:`~tokensession.errors.ApiError`). A refresh is just another
request it yields; one stepping helper (:mod:`tokensession.stepping`) runs the
flows for every driver: the async :class:`~tokensession.client.ApiClient`, the
synchronous driver, the ``urllib`` handler and the ``requests`` auth::

    flow = request_flow(ctx, Request.build("GET", "me"))
    command = next(flow)              # Send(request with "authorization: Bearer ...")
    command = flow.send(response)     # StopIteration(Answer(response, refresh_due=None)), or ...

The I/O a flow yields, and what the driver sends back:

    Send(request)                  -> the Response, or the NetworkError met (as a value)
    Send(request, background=True) -> None at once; the answer does not matter (``logout``)
    Acquire() / Release()          -> None; the refresh lock (across tabs in the page)
    Wait()                         -> None, once no refresh of this page is in flight
    Wait(elsewhere=True)           -> None, once no other tab holds the refresh lock

An error a driver meets performing a command (a lock not granted) is thrown
into the flow. The decisions come from :class:`~tokensession.policy.SessionPolicy`;
what a page remembers lives in :class:`~tokensession.state.SessionState`, whose
listeners fire the hooks. Nothing here awaits, sleeps or reads a clock but ``ctx``'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from tokensession.context import CSRF_HEADER, SessionContext
from tokensession.cookies import Session
from tokensession.errors import (
    ApiError,
    EndReason,
    HttpStatusError,
    RefreshFailed,
    RequestTimeout,
    SessionExpired,
    UnauthorizedError,
)
from tokensession.hooks import Hooks, fire_hooks
from tokensession.http import Request, Response
from tokensession.policy import Action, insufficient_scope
from tokensession.state import Event

__all__ = [
    "CSRF_HEADER",
    "Acquire",
    "Answer",
    "Command",
    "Flow",
    "Hooks",
    "Release",
    "Send",
    "SessionContext",
    "Wait",
    "end_flow",
    "fire_hooks",
    "login_flow",
    "logout_flow",
    "refresh_flow",
    "request_flow",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    request: Request
    intercept: bool = True  # False: bypass the user's interceptors (refresh, logout)
    background: bool = False  # True: the flow goes on at once; the answer is not awaited


@dataclass(frozen=True)
class Acquire:
    pass


@dataclass(frozen=True)
class Release:
    pass


@dataclass(frozen=True)
class Wait:
    elsewhere: bool = False  # False: a refresh of this page; True: one in another tab (R7)


Command: TypeAlias = Send | Acquire | Release | Wait
Flow: TypeAlias = Generator[Command, Any, T]


@dataclass(frozen=True)
class Answer:
    """What :func:`request_flow` returns: the response (status < 400), and the session to
    refresh in the background when it came inside the refresh window (R1), else ``None``."""

    response: Response
    refresh_due: Session | None = None


def _authorized(request: Request, token: str | None) -> Request:
    headers = dict(request.headers)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return dataclasses.replace(request, headers=headers)


def _status_error(request: Request, response: Response) -> HttpStatusError:
    if response.status == 401:
        return UnauthorizedError(request=request, response=response)
    return HttpStatusError(response.status, request=request, response=response)


def request_flow(ctx: SessionContext, request: Request) -> Flow[Answer]:
    """One API call under R1-R4: returns an :class:`Answer` or raises an :class:`ApiError`."""
    call = ctx.source.call_kind(request.path)
    retried = waited = synced = False
    while True:
        sent = ctx.observe()
        action = ctx.policy.before_send(
            ctx.now(),
            sent,
            call,
            refreshing=ctx.state.refreshing and not waited,
            synced=synced,
            refresh_elsewhere=not synced and ctx.refresh_elsewhere(),
        )
        if action is Action.WAIT:
            yield Wait()  # R1: go out with the token the refresh in flight brings
            waited = True
            continue
        if action is Action.WAIT_ELSEWHERE:
            yield Wait(elsewhere=True)  # R7: a refresh in another tab serves this request too
            synced = True
            continue
        if action is Action.END_SESSION:
            yield from end_flow(ctx, "expired")
            raise SessionExpired("expired", request=request)
        if action is Action.REFRESH_FIRST:
            if retried:  # a refresh left no usable token: no second round
                yield from end_flow(ctx, "unauthorized")
                raise SessionExpired("unauthorized", request=request)
            retried = True
            yield from refresh_flow(ctx, sent)
            continue
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
            refreshing=ctx.state.refreshing,
            retried=retried,
            insufficient_scope=insufficient_scope(reply.headers.get("www-authenticate")),
            retry_at_ms=ctx.state.retry_at_ms,
        )
        if action is Action.ACCEPT:
            return Answer(reply)
        if action is Action.START_REFRESH:
            return Answer(reply, refresh_due=sent)
        if action is Action.RETRY:
            retried = True
            continue
        if action is Action.REFRESH_FIRST:
            retried = True
            try:
                yield from refresh_flow(ctx, sent)
            except RefreshFailed:
                if ctx.policy.after_failed_refresh(after_401=True) is not Action.END_SESSION:
                    raise
                yield from end_flow(ctx, "unauthorized")
                raise SessionExpired("unauthorized", request=prepared, response=reply) from None
            continue
        if action is Action.END_SESSION:
            yield from end_flow(ctx, "unauthorized")
            raise SessionExpired("unauthorized", request=prepared, response=reply)
        raise _status_error(prepared, reply)


def refresh_flow(ctx: SessionContext, seen: Session) -> Flow[Session]:
    """One refresh of ``seen`` (the session that made us want one), single flight: while a
    refresh of this page is in flight, wait for it and share how it ended. Returns the
    session to use; raises :class:`SessionExpired` (refused) or :class:`RefreshFailed` (a blip)."""
    state = ctx.state
    ctx.observe()
    if state.refreshing:
        ticket = state.refreshes_done
        yield Wait()
        outcome = state.outcome_since(ticket)
        if isinstance(outcome, Session):
            return outcome
        if isinstance(outcome, ApiError):
            raise outcome
        raise RefreshFailed("timeout")  # the refresh waited for did not end in time
    state.process(Event.REFRESH_STARTED)
    try:
        session = yield from _rotate(ctx, seen)
    except RefreshFailed as exc:
        current = ctx.read()
        retry_at = ctx.now() + ctx.policy.retry_delay_ms(state.blips + 1)
        state.process(Event.REFRESH_FAILED, error=exc, retry_at_ms=retry_at, retry_for=current)
        raise
    except BaseException as exc:
        state.process(Event.REFRESH_SETTLED, outcome=exc)
        raise
    if state.refreshing:  # no token of ours stored: someone else's refresh stands
        state.process(Event.REFRESH_SETTLED, outcome=session)
    return session


def _rotate(ctx: SessionContext, seen: Session) -> Flow[Session]:
    # The refresh call itself, under the lock; the session is re-read once the lock is ours.
    try:
        yield Acquire()
    except ApiError as exc:  # the lock was not granted in time: a blip, tried again later
        raise RefreshFailed("timeout", cause=exc) from None
    current = ctx.observe()
    turn = ctx.policy.refresh_turn(seen, current)
    if turn is not Action.REFRESH or not current.has_refresh_token:
        yield Release()
        if turn is Action.ACCEPT:
            return current  # someone refreshed while we waited for the lock
        reason: EndReason = "elsewhere" if current.is_empty else "unauthorized"
        yield from end_flow(ctx, reason)
        raise SessionExpired(reason)
    request = ctx.source.refresh_request(current, timeout_ms=ctx.timeout_ms)
    reply = yield Send(request, intercept=False)
    response = reply if isinstance(reply, Response) else None
    action, kind = ctx.policy.after_refresh(
        None if response is None else response.status, timed_out=isinstance(reply, RequestTimeout)
    )
    grant = ctx.grant(response, held=current) if action is Action.ACCEPT else None
    if action is Action.ACCEPT and grant is None:
        action, kind = Action.KEEP_SESSION, "server"  # a 2xx we cannot read is the server's fault
    if grant is not None:
        if ctx.read().refresh_id != current.refresh_id:
            # Signed out (or in again) while the refresh was in flight: do not
            # resurrect; retire the family the server just extended.
            yield Release()
            yield from logout_flow(ctx, grant.refresh_token)
            raise SessionExpired("elsewhere", request=request, response=response)
        session = ctx.store(grant, Event.REFRESHED)
        yield Release()
        return session
    yield Release()
    if action is Action.END_SESSION:
        yield from end_flow(ctx, "refresh_rejected")
        raise SessionExpired("refresh_rejected", request=request, response=response)
    cause = reply if isinstance(reply, ApiError) else None
    raise RefreshFailed(kind or "server", cause=cause, request=request, response=response)


def login_flow(ctx: SessionContext, username: str, password: str) -> Flow[Session]:
    """Sign in: on success the cookies hold the new session, which is returned."""
    request = ctx.source.login_request(username, password, timeout_ms=ctx.timeout_ms)
    # In the HttpOnly mode the browser keeps whichever refresh cookie the API set last, whatever
    # the page decides: a sign-in takes the refresh lock so that no tab's refresh answer lands
    # on top of it. (The stepper releases a held lock itself if the flow is abandoned.)
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
    return ctx.store(grant, Event.SIGNED_IN)


def logout_flow(ctx: SessionContext, refresh_token: str | None) -> Flow[None]:
    """Tell the server to revoke the family; best effort, the answer does not matter.
    ``refresh_token`` is ``None`` in the HttpOnly mode (the browser sends the cookie)."""
    request = ctx.source.logout_request(refresh_token, timeout_ms=ctx.timeout_ms)
    if request is not None:  # an API without a sign-out call lets its tokens expire
        yield Send(request, intercept=False, background=True)


def end_flow(ctx: SessionContext, reason: EndReason) -> Flow[bool]:
    """End the session, in the one order every driver keeps: the cookies are cleared,
    ``on_session_end(reason)`` fires (once per session, by the state's listeners), and only
    then does the ``logout`` call go out, without waiting for its answer. A hook thus sees
    the cookies gone and the server not yet told. Returns whether the end was announced."""
    announced, token = ctx.end(reason)
    if token is not None:
        # In the HttpOnly mode ``token`` is the marker: the cookie goes by itself, nothing in the body.
        yield from logout_flow(ctx, None if ctx.refresh_cookie == "httponly" else token)
    return announced
