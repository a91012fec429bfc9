"""The one stepping helper every driver runs its flows with, and the async client's use of it:
locks given back, refreshes finished even when their caller goes away, waits that end,
background failures that are never lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.unit.conftest import Handler, WorldFactory
from tokensession.errors import ApiError, RequestTimeout, UnexpectedError
from tokensession.flow import Acquire, Command, Release, Send
from tokensession.http import Request, Response
from tokensession.state import Event, Phase
from tokensession.stepping import Stepper, run_sync, run_until_send

pytestmark = pytest.mark.anyio


def locked_flow() -> Any:
    yield Acquire()
    reply = yield Send(Request.build("POST", "refresh_token"), intercept=False)
    yield Release()
    return reply


def test_a_flow_abandoned_while_it_holds_the_lock_gives_the_lock_back() -> None:
    released: list[bool] = []

    def perform(command: Command) -> Any:
        if isinstance(command, Send):
            raise RuntimeError("a bug in a driver")
        return None

    with pytest.raises(RuntimeError):
        run_sync(locked_flow(), perform, lambda: released.append(True))
    assert released == [True]


def test_an_api_error_performing_a_command_is_thrown_into_the_flow() -> None:
    def flow() -> Any:
        try:
            yield Acquire()
        except ApiError as exc:
            return f"handled {exc}"
        return "granted"

    def perform(command: Command) -> None:
        raise RequestTimeout("not granted")

    assert run_sync(flow(), perform, lambda: None) == "handled not granted"


def test_run_until_send_stops_at_the_callers_own_request_only() -> None:
    def flow() -> Any:
        yield Acquire()
        yield Send(Request.build("POST", "refresh_token"), intercept=False)
        yield Release()
        yield Send(Request.build("GET", "logout"), intercept=False, background=True)
        answer = yield Send(Request.build("GET", "me"))
        return answer

    performed: list[str] = []
    stepper = Stepper(flow())
    send = run_until_send(stepper, lambda command: performed.append(type(command).__name__))
    assert send is not None and send.request.path == "me"
    assert performed == ["Acquire", "Send", "Release", "Send"]
    stepper.resume(Response(204))
    assert stepper.command is None and stepper.result == Response(204)


async def test_a_refresh_whose_caller_is_cancelled_still_stores_the_rotated_token(make_world: WorldFactory) -> None:
    # A rotated refresh token is spent on the server the moment the call is answered: if the
    # caller goes away mid-refresh, the new tokens must still be stored (a provider without
    # grace would refuse the old one for good).
    answer_now = asyncio.Event()
    arrived = asyncio.Event()

    def wrap(handler: Handler) -> Handler:
        async def slow_refresh(call: Any) -> Any:
            if call.path == "refresh_token":
                arrived.set()
                await answer_now.wait()
            return await handler(call)

        return slow_refresh

    world = make_world(wrap=wrap)
    old = await world.login()
    caller = asyncio.ensure_future(world.client.refresh())
    await arrived.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    answer_now.set()
    await world.client.settle()
    await _until(lambda: world.client._ctx.state.phase is Phase.IN)
    renewed = world.client.session()
    assert renewed.refresh_token != old.refresh_token and renewed.access_token is not None
    assert [r.access_token for r in world.refreshed] == [renewed.access_token]
    assert (await world.client.get("me")).status == 200  # the lock was given back


async def test_a_request_never_hangs_on_a_refresh_that_does_not_end(make_world: WorldFactory) -> None:
    world = make_world(timeout_ms=50)
    await world.login()
    world.client._ctx.state.process(Event.REFRESH_STARTED)  # a refresh that will never end
    response = await world.client.get("me")  # waits at most 2 x timeoutMs (+1 s), then goes on
    assert response.status == 200


async def test_a_background_refresh_failing_unexpectedly_is_logged_once_and_reported(
    make_world: WorldFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def wrap(handler: Handler) -> Handler:
        async def broken(call: Any) -> Any:
            if call.path == "refresh_token":
                raise TypeError("a bug behind the transport")
            return await handler(call)

        return broken

    world = make_world(access_ttl=20, window=1800, wrap=wrap)
    await world.login()
    with caplog.at_level(logging.ERROR, logger="tokensession"):
        await world.client.get("me")  # inside the window: starts an R1 refresh in the background
        await world.client.settle()
    assert [type(e) for e in world.errors] == [UnexpectedError]
    assert isinstance(world.errors[0].cause, TypeError)  # type: ignore[attr-defined]
    assert len([r for r in caplog.records if "unexpectedly" in r.getMessage()]) == 1
    assert not world.client._ctx.state.refreshing  # nothing stuck: the next refresh can run
    assert world.client.session().access_token is not None


async def _until(condition: Any, rounds: int = 1000) -> None:
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")
