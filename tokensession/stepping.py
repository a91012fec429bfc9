"""One stepping helper for every driver: runs a flow's generator, feeding each command's result back.

The generator protocol (``send``, ``throw``, ``StopIteration``), which lock a
flow holds, and closing an abandoned flow live here once. A driver only says
how to perform one command; the loops below are the whole of "driving"::

    answer = run_sync(request_flow(ctx, request), perform)            # urllib, requests, CPython
    answer = await run_async(request_flow(ctx, request), perform)     # the async client

``perform`` returns the command's result; an :class:`~tokensession.errors.ApiError`
it raises is thrown into the flow (which may handle it). A flow abandoned while
it holds the refresh lock gets the lock released: ``release`` is called.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from tokensession.errors import ApiError
from tokensession.flow import Acquire, Command, Flow, Release, Send

T = TypeVar("T")


class Stepper(Generic[T]):
    """One flow, stepped. ``command`` is what it waits on (``None`` once it has finished, then
    ``result`` holds its return value); ``holds_lock`` whether it is between Acquire and Release.

    >>> from tokensession.flow import Wait
    >>> def flow():
    ...     yield Wait()
    ...     return "done"
    >>> stepper = Stepper(flow())
    >>> stepper.command, stepper.resume(None), stepper.result
    (Wait(elsewhere=False), None, 'done')
    """

    def __init__(self, flow: Flow[T]) -> None:
        self._flow = flow
        self.holds_lock = False
        self.result: T | None = None
        self.command: Command | None = self._advance(lambda: next(flow))

    def resume(self, reply: Any = None, error: ApiError | None = None) -> Command | None:
        """Hand the current command's result (or the error performing it raised) to the flow;
        returns its next command, or ``None`` when it finished."""
        done = self.command
        if error is None and isinstance(done, Acquire):
            self.holds_lock = True
        elif isinstance(done, Release):
            self.holds_lock = False
        if error is not None:
            self.command = self._advance(lambda: self._flow.throw(error))
        else:
            self.command = self._advance(lambda: self._flow.send(reply))
        return self.command

    def close(self) -> bool:
        """Stop the flow where it is; returns whether it held the lock (the caller releases it)."""
        self._flow.close()
        held, self.holds_lock = self.holds_lock, False
        return held

    def _advance(self, step: Callable[[], Command]) -> Command | None:
        try:
            return step()
        except StopIteration as stop:
            self.result = stop.value
            return None


def run_sync(flow: Flow[T], perform: Callable[[Command], Any], release: Callable[[], None]) -> T:
    """Run ``flow`` to its end, performing each command with ``perform``."""
    stepper = Stepper(flow)
    try:
        while stepper.command is not None:
            step(stepper, perform)
        return stepper.result  # type: ignore[return-value]
    finally:
        if stepper.close():
            release()


def step(stepper: Stepper[T], perform: Callable[[Command], Any]) -> Command | None:
    """Perform the stepper's current command and resume the flow with its result."""
    command = stepper.command
    assert command is not None
    try:
        reply = perform(command)
    except ApiError as exc:
        return stepper.resume(error=exc)
    return stepper.resume(reply)


def run_until_send(stepper: Stepper[T], perform: Callable[[Command], Any]) -> Send | None:
    """Step until the flow yields a request its caller sends its own way (an intercepted
    :class:`Send`: the ``urllib`` and ``requests`` chains send the user's request themselves);
    ``None`` once the flow has finished."""
    while stepper.command is not None:
        command = stepper.command
        if isinstance(command, Send) and command.intercept and not command.background:
            return command
        step(stepper, perform)
    return None


async def run_async(
    stepper: Stepper[T], perform: Callable[[Command], Awaitable[Any]], release: Callable[[], Awaitable[None]]
) -> T:
    """Run a started flow to its end on an event loop, awaiting each command.

    From ``Acquire`` to ``Release`` a flow is one transaction (a refresh rotates the token
    and stores the new one): that stretch runs as a task of its own and is awaited shielded,
    so a caller cancelled meanwhile cannot leave a rotated token unstored; the task finishes
    the stretch and gives the lock back."""
    locked: asyncio.Task[None] | None = None
    try:
        while stepper.command is not None:
            if isinstance(stepper.command, Acquire):
                locked = asyncio.get_running_loop().create_task(_locked_stretch(stepper, perform))
                await asyncio.shield(locked)
                locked = None
            else:
                await _step_async(stepper, perform)
        return stepper.result  # type: ignore[return-value]
    finally:
        if locked is not None and not locked.done():
            locked.add_done_callback(lambda _task: _close_later(stepper, release))
        elif stepper.close():
            await release()


async def _step_async(stepper: Stepper[T], perform: Callable[[Command], Awaitable[Any]]) -> None:
    command = stepper.command
    assert command is not None
    try:
        reply = await perform(command)
    except ApiError as exc:
        stepper.resume(error=exc)
    else:
        stepper.resume(reply)


async def _locked_stretch(stepper: Stepper[T], perform: Callable[[Command], Awaitable[Any]]) -> None:
    await _step_async(stepper, perform)  # the Acquire
    while stepper.holds_lock and stepper.command is not None:
        await _step_async(stepper, perform)


def _close_later(stepper: Stepper[T], release: Callable[[], Awaitable[None]]) -> None:
    # The caller is gone; its flow stops here (a lock still held is given back).
    if stepper.close():
        task = asyncio.ensure_future(release())
        _releasing.add(task)
        task.add_done_callback(_releasing.discard)


_releasing: set[asyncio.Future[None]] = set()  # strong references until the releases finish
