"""``ApiClient.run`` and ``ApiClient.sign_in_with``: how a page signs in by a flow of its own
(an OpenID code exchange) and stores the grant only once it has checked it."""

from __future__ import annotations

import pytest

from tests.unit.conftest import World
from tokensession.context import SessionContext
from tokensession.cookies import TokenGrant, parse_cookie_header
from tokensession.flow import Flow, Send
from tokensession.http import Request, Response

pytestmark = pytest.mark.anyio


async def test_run_sends_a_flows_requests_through_the_client_and_stores_nothing(world: World) -> None:
    def info_flow(ctx: SessionContext) -> Flow[int]:
        reply = yield Send(Request.build("GET", "info", timeout_ms=ctx.timeout_ms), intercept=False)
        assert isinstance(reply, Response)
        return reply.status

    assert await world.client.run(info_flow) == 200
    assert [r.path for r in world.transport.sent] == ["info"]
    assert world.client.session().is_empty


async def test_sign_in_with_a_grant_writes_the_session_cookies(world: World) -> None:
    session = world.client.sign_in_with(TokenGrant("access-1", "refresh-1", 30))
    assert session == world.client.session()
    assert session.util_time_ms == world.clock() + 30_000
    cookies = parse_cookie_header(world.jar.read())
    assert cookies["access_token"] == "access-1" and cookies["refresh_token"] == "refresh-1"
