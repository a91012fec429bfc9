"""The synchronous driver of :mod:`tokensession.flow`, shared by the ``urllib`` handler and
the ``requests`` auth: the rules live in the flows, the stepping in :mod:`tokensession.stepping`,
and this module only says how to perform a command without an event loop.

Each synchronous front end supplies one thing, how to send a request directly
(the refresh, login and logout calls, untouched by the session rules)::

    driver = SyncDriver(ctx, hooks, send=lambda request: Response(200, {}, b"{}"))
    session = driver.login("demo", "demo")
    stepper = driver.start(request_flow(ctx, Request.build("GET", "me")))   # .command: the request to send

An R1 refresh runs inline (synchronous code has no background) before the call
that started it returns. Threads may share a driver: the refresh lock is a
``threading.Lock``, and a request that finds another thread's refresh in flight
waits for it (bounded by twice ``timeout_ms``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias, TypeVar

from tokensession.context import SessionContext
from tokensession.cookies import Session
from tokensession.errors import ApiError, EndReason
from tokensession.flow import Acquire, Answer, Command, Flow, Release, Send, end_flow, login_flow, refresh_flow
from tokensession.hooks import Hooks, bind_hooks
from tokensession.http import Request, Response
from tokensession.state import Event
from tokensession.stepping import Stepper, run_sync, run_until_send

T = TypeVar("T")
log = logging.getLogger("tokensession.sync")

#: Sends one request as is; answers the response, or the ``NetworkError`` it met.
DirectSend: TypeAlias = Callable[[Request], Response | ApiError]


class SyncDriver:
    """Runs flows without an event loop; see the module docstring."""

    def __init__(self, ctx: SessionContext, hooks: Hooks, send: DirectSend) -> None:
        self.ctx, self.hooks, self._send = ctx, hooks, send
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        ctx.state.listeners.append(bind_hooks(hooks, _schedule))
        ctx.state.listeners.append(self._on_state)

    def login(self, username: str, password: str) -> Session:
        """Sign in; the jar then holds the session (or an ``ApiError`` is raised)."""
        return self.complete(login_flow(self.ctx, username, password))

    def end_session(self, reason: EndReason) -> bool:
        """Cookies cleared, ``on_session_end(reason)`` fired, then the ``logout`` call sent
        (best effort). Returns whether the hooks fired (once per session)."""
        return self.complete(end_flow(self.ctx, reason))

    def complete(self, flow: Flow[T]) -> T:
        """Run a flow to its end, sending its requests directly (refresh, login, logout)."""
        return run_sync(flow, self._perform, self._lock.release)

    def start(self, flow: Flow[Answer]) -> Stepper[Answer]:
        """Start a request flow and step it to the request its caller sends (``stepper.command``)."""
        stepper = Stepper(flow)
        self.advance(stepper, None)
        return stepper

    def advance(self, stepper: Stepper[Answer], reply: Any) -> Send | None:
        """Hand the caller's answer to the flow (``reply`` is ignored right after :meth:`start`)
        and step to its next request the caller sends; ``None`` once it finished, when an R1
        refresh it asked for has run."""
        if reply is not None:
            stepper.resume(reply)
        try:
            send = run_until_send(stepper, self._perform)
        except BaseException:
            if stepper.close():
                self._lock.release()
            raise
        if send is None and stepper.result is not None and stepper.result.refresh_due is not None:
            self._refresh_now(stepper.result.refresh_due)
        return send

    def _refresh_now(self, seen: Session) -> None:
        # R1 without a background: refresh now. The answer already in hand stands either way;
        # a blip reaches on_error and a refusal on_session_end through the state's listeners.
        with contextlib.suppress(ApiError):
            self.complete(refresh_flow(self.ctx, seen))

    def _perform(self, command: Command) -> Any:
        if isinstance(command, Send):
            reply = self._send(command.request)
            return None if command.background else reply
        if isinstance(command, Acquire):
            self._lock.acquire()
        elif isinstance(command, Release):
            self._lock.release()
        elif not command.elsewhere:
            with self._changed:  # another thread's refresh in flight: wait until it ends
                timeout = 2 * self.ctx.timeout_ms / 1000 + 1
                self._changed.wait_for(lambda: not self.ctx.state.refreshing, timeout)
        return None

    def _on_state(self, _event: Event, _detail: dict[str, Any]) -> None:
        with self._changed:
            self._changed.notify_all()


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
