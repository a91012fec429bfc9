"""Token sources: the shape of each API kind's credential calls and answers, and the same
client and rules driving each (here against small in-memory stand-ins; the real servers are
in tests/backends)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.conftest import FakeClock
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.cookies import MemoryCookieJar, Session
from tokensession.http import Response
from tokensession.sources import ContractSource, OidcSource, SimpleJwtSource, jwt_claims, jwt_for
from tokensession.transport import InMemoryTransport

pytestmark = pytest.mark.anyio

NOW_MS = 1_800_000_000_500
TOKEN_URL, REFRESH_URL, BLACKLIST_URL = (
    "https://api.test/api/token/",
    "https://api.test/api/token/refresh/",
    "https://api.test/api/token/blacklist/",
)


def answer(data: dict[str, Any], status: int = 200) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps(data).encode())


def test_simplejwt_sign_in_posts_name_and_password_to_the_token_url() -> None:
    request = SimpleJwtSource(TOKEN_URL, REFRESH_URL).login_request("ada", "pw", timeout_ms=5000)
    assert (request.method, request.path, json.loads(request.body)) == (
        "POST",
        TOKEN_URL,
        {"username": "ada", "password": "pw"},
    )


def test_simplejwt_lifetimes_come_from_the_exp_claims_rounded_down() -> None:
    source = SimpleJwtSource(TOKEN_URL, REFRESH_URL)
    access, refresh = jwt_for({"exp": 1_800_000_300}), jwt_for({"exp": 1_800_086_400})
    grant = source.read_grant(answer({"access": access, "refresh": refresh}), now_ms=NOW_MS)
    assert grant is not None
    assert (grant.expires_in, grant.refresh_expires_in) == (299, 86_399)
    assert NOW_MS + grant.expires_in * 1000 <= 1_800_000_300_000  # utilTime never after the real expiry


def test_simplejwt_lifetime_is_never_more_than_granted_when_the_clock_is_behind_the_servers() -> None:
    source = SimpleJwtSource(TOKEN_URL, REFRESH_URL)
    issued = NOW_MS // 1000 + 60  # the server's clock is a minute ahead of this one
    access = jwt_for({"iat": issued, "exp": issued + 300})
    grant = source.read_grant(answer({"access": access, "refresh": "r"}), now_ms=NOW_MS)
    assert grant is not None and grant.expires_in == 300  # not 360: utilTime stays within the real life
    in_step = jwt_for({"iat": NOW_MS // 1000, "exp": NOW_MS // 1000 + 300})  # clocks agree: from exp as before
    grant = source.read_grant(answer({"access": in_step, "refresh": "r"}), now_ms=NOW_MS)
    assert grant is not None and grant.expires_in == 299


def test_simplejwt_refresh_without_rotation_keeps_the_refresh_token_held() -> None:
    source = SimpleJwtSource(TOKEN_URL, REFRESH_URL)
    held = Session("old", "r1", NOW_MS, 5)
    request = source.refresh_request(held, timeout_ms=5000)
    assert (request.path, json.loads(request.body)) == (REFRESH_URL, {"refresh": "r1"})
    grant = source.read_grant(answer({"access": jwt_for({"exp": 1_800_000_060})}), now_ms=NOW_MS, held=held)
    assert grant is not None and grant.refresh_token == "r1"


@pytest.mark.parametrize(
    "body",
    [
        {"access": "not-a-jwt", "refresh": "r"},
        {"access": jwt_for({"exp": 1_700_000_000}), "refresh": "r"},  # already expired
        {"access": jwt_for({"sub": "ada"}), "refresh": "r"},  # no exp
        {"access": jwt_for({"exp": "soon"}), "refresh": "r"},
        {"refresh": "r"},
        {"access": jwt_for({"exp": 1_800_000_060})},  # a sign-in must bring a refresh token
    ],
)
def test_simplejwt_answers_that_cannot_make_a_session_are_refused(body: dict[str, Any]) -> None:
    assert SimpleJwtSource(TOKEN_URL, REFRESH_URL).read_grant(answer(body), now_ms=NOW_MS) is None


def test_simplejwt_signs_out_at_its_blacklist_view_only_when_there_is_one() -> None:
    assert SimpleJwtSource(TOKEN_URL, REFRESH_URL).logout_request("r1", timeout_ms=1) is None
    request = SimpleJwtSource(TOKEN_URL, REFRESH_URL, BLACKLIST_URL).logout_request("r1", timeout_ms=1)
    assert request is not None and (request.path, json.loads(request.body)) == (BLACKLIST_URL, {"refresh": "r1"})


def test_simplejwt_calls_are_told_apart_by_url() -> None:
    source = SimpleJwtSource(TOKEN_URL, REFRESH_URL, BLACKLIST_URL)
    kinds = [source.call_kind(url) for url in (TOKEN_URL, REFRESH_URL, BLACKLIST_URL, "me", "login")]
    assert kinds == ["login", "refresh", "logout", "api", "api"]


def test_oidc_refresh_and_revocation_are_form_posts_of_a_public_client() -> None:
    source = OidcSource("https://id.test/token", "spa", revocation_endpoint="https://id.test/token/revocation")
    refresh = source.refresh_request(Session("a", "r1", 0, 5), timeout_ms=1)
    assert refresh.headers["content-type"] == "application/x-www-form-urlencoded"
    # As a set: MicroPython keeps no order in a dict, and a form's field order means nothing.
    assert set(refresh.body.split(b"&")) == {b"grant_type=refresh_token", b"refresh_token=r1", b"client_id=spa"}
    revoke = source.logout_request("r1", timeout_ms=1)
    assert revoke is not None
    assert set(revoke.body.split(b"&")) == {b"token=r1", b"token_type_hint=refresh_token", b"client_id=spa"}
    code = source.code_request("c", "v", "https://app.test/", timeout_ms=1)
    assert b"grant_type=authorization_code" in code.body and b"code_verifier=v" in code.body


def test_oidc_grant_keeps_the_held_refresh_token_when_the_provider_does_not_rotate() -> None:
    source = OidcSource("https://id.test/token", "spa")
    held = Session("a", "r1", 0, 5)
    grant = source.read_grant(answer({"access_token": "a2", "expires_in": 60}), now_ms=NOW_MS, held=held)
    assert grant is not None and (grant.refresh_token, grant.expires_in) == ("r1", 60)
    assert source.read_grant(answer({"access_token": "a2", "expires_in": 0}), now_ms=NOW_MS, held=held) is None


def test_the_contract_source_is_the_default_and_speaks_section_3() -> None:
    source = ContractSource()
    assert source.login_request("a", "b", timeout_ms=1).path == "login"
    assert source.call_kind("refresh_token") == "refresh"


def test_jwt_claims_reads_without_verifying_and_refuses_non_jwts() -> None:
    assert jwt_claims(jwt_for({"exp": 9, "sub": "ada"})) == {"exp": 9, "sub": "ada"}
    assert jwt_claims("a.b") is None and jwt_claims("a.!!!.c") is None


class SimpleJwtStandIn:
    """Just enough of a rotating, blacklisting SimpleJWT API for the client's rules."""

    def __init__(self, clock: FakeClock, lifetime_s: int = 300) -> None:
        self.clock, self.lifetime_s, self.issued = clock, lifetime_s, 0
        self.spent: set[str] = set()
        self.calls: list[str] = []

    def pair(self) -> dict[str, str]:
        self.issued += 1
        now = self.clock.seconds()
        return {
            "access": jwt_for({"exp": int(now) + self.lifetime_s, "n": self.issued}),
            "refresh": jwt_for({"exp": int(now) + 86400, "n": self.issued}),
        }

    async def __call__(self, call: Any) -> Response:
        path = call.path.partition("?")[0]
        self.calls.append(path)
        body = json.loads(call.body) if call.body else {}
        if path.endswith("token/"):
            return answer(self.pair())
        if path.endswith("token/refresh/") or path.endswith("token/blacklist/"):
            if body.get("refresh") in self.spent:
                return answer({"detail": "Token is blacklisted", "code": "token_not_valid"}, 401)
            self.spent.add(body["refresh"])
            return answer(self.pair() if path.endswith("refresh/") else {})
        return answer({"username": "ada"})


async def test_the_client_runs_r1_and_sign_out_against_a_simplejwt_api() -> None:
    clock = FakeClock()
    api = SimpleJwtStandIn(clock, lifetime_s=300)
    source = SimpleJwtSource("token/", "token/refresh/", "token/blacklist/")
    client = ApiClient(
        Config(refresh_window_seconds=60), InMemoryTransport(api), MemoryCookieJar(clock), clock, source=source
    )
    first = await client.login("ada", "pw")
    assert first.expires_in == 300 and first.util_time_ms == clock() + 300_000  # from exp
    clock.advance(250)  # 49 s left, inside the 60 s window: a success refreshes once (R1)
    await client.get("me")
    await client.get("me")
    await client.settle()
    assert api.calls.count("token/refresh/") == 1
    assert client.session().refresh_token != first.refresh_token  # rotated
    client.logout()
    await client.settle()
    assert api.calls[-1] == "token/blacklist/" and client.session().is_empty
