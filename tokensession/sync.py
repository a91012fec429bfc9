"""The synchronous driver of :mod:`tokensession.flow`, shared by the ``urllib`` handler and
the ``requests`` auth: the rules live in the flows, the order of a session's end in
:func:`~tokensession.flow.end_session`, and this module runs both without an event loop.

Each synchronous front end supplies one thing, how to send a request directly
(the refresh, login and logout calls, untouched by the session rules)::

    driver = SyncDriver(ctx, hooks, send=lambda request: Response(200, {}, b"{}"))
    session = driver.complete(login_flow(ctx, "demo", "demo"))
    send = driver.advance(request_flow(ctx, Request.build("GET", "me")), None)  # the request to send

One thread, one request at a time: a refresh is never in flight while another
request decides, so ``Wait`` returns at once, and an R1 refresh runs inline
(synchronous code has no background) before the call that started it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

from tokensession.cookies import Session
from tokensession.errors import ApiError, EndReason, RefreshFailed
from tokensession.flow import (
    Acquire,
    Command,
    EndSession,
    Flow,
    Hooks,
    Refresh,
    Refreshed,
    Release,
    Send,
    SessionContext,
    StartRefresh,
    end_session,
    fire_hooks,
    login_flow,
    refresh_flow,
)
from tokensession.http import Request, Response

T = TypeVar("T")
log = logging.getLogger("tokensession.sync")

#: Sends one request as is; answers the response, or the ``NetworkError`` it met.
DirectSend = Callable[[Request], Response | ApiError]


class SyncDriver:
    """Runs flows to their end without an event loop; see the module docstring."""

    def __init__(self, ctx: SessionContext, hooks: Hooks, send: DirectSend) -> None:
        self.ctx, self.hooks, self._send = ctx, hooks, send
        self._lock = threading.Lock()

    def login(self, username: str, password: str) -> Session:
        """Sign in; the jar then holds the session (or an ``ApiError`` is raised)."""
        return self.complete(login_flow(self.ctx, username, password))

    def end_session(self, reason: EndReason) -> bool:
        """Cookies cleared, ``on_session_end(reason)`` fired, then the ``logout`` call sent
        (best effort). Returns whether the hooks fired (once per session)."""
        ending = end_session(self.ctx, self.hooks, reason, _schedule)
        if ending.logout is not None:
            with contextlib.suppress(ApiError):  # the session is over here already
                self.complete(ending.logout)
        return ending.announced

    def advance(self, flow: Flow[Response], reply: Any) -> Send | None:
        """Run a request flow until it sends its request (returned: the caller sends it
        its own way and comes back with the answer) or finishes (``None``)."""
        step: Callable[[], Command] = partial(flow.send, reply)
        while True:
            try:
                command = step()
            except StopIteration:
                return None
            if isinstance(command, Send):
                return command
            try:
                step = partial(flow.send, self._perform(command))
            except ApiError as exc:
                step = partial(flow.throw, exc)

    def complete(self, flow: Flow[T]) -> T:
        """Run a flow to its end, sending its requests directly (refresh, login, logout)."""
        held = False
        step: Callable[[], Command] = partial(flow.send, None)
        try:
            while True:
                try:
                    command = step()
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                try:
                    reply = self._send(command.request) if isinstance(command, Send) else self._perform(command)
                except ApiError as exc:
                    step = partial(flow.throw, exc)
                    continue
                if isinstance(command, (Acquire, Release)):
                    held = isinstance(command, Acquire)
                step = partial(flow.send, reply)
        finally:
            if held:
                self._lock.release()
            flow.close()

    def _perform(self, command: Command) -> Any:
        if isinstance(command, Acquire):
            self._lock.acquire()
        elif isinstance(command, Release):
            self._lock.release()
        elif isinstance(command, Refresh):
            return self.complete(refresh_flow(self.ctx, command.seen))
        elif isinstance(command, StartRefresh):
            try:  # no background here: refresh now; the answer already in hand stands either way
                self.complete(refresh_flow(self.ctx, command.seen))
            except RefreshFailed as exc:
                fire_hooks(self.hooks.on_error, exc, _schedule)
            except ApiError:
                pass  # SessionExpired: on_session_end has fired
        elif isinstance(command, EndSession):
            self.end_session(command.reason)
        elif isinstance(command, Refreshed):
            fire_hooks(self.hooks.on_refresh, command.session, _schedule)
        # Wait: one thread, one request at a time, so no refresh of ours is in flight.
        return None


_background: set[asyncio.Task[Any]] = set()  # strong references until the tasks finish


def _schedule(coro: Coroutine[Any, Any, Any]) -> None:
    # An async hook on a synchronous driver: run it on the loop of the caller, if any
    # (in a PyScript page a button's handler runs on Pyodide's loop), else drop it.
    try:
        task = asyncio.get_running_loop().create_task(coro)
    except RuntimeError:
        coro.close()
        log.warning("async hook skipped: no event loop in this synchronous caller")
        return
    _background.add(task)
    task.add_done_callback(_background.discard)
