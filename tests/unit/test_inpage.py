"""The in-page demo API (``authapi.inpage``) through the real client: the reference rules, its state
in a key-value store, and the choice at boot."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from authapi.inpage import DemoTransport, api_request, choose_transport, in_page_demo, transport_handler
from authapi.kvstore import MemoryKeyValue
from authapi.messages import ApiResponse
from tests.unit.conftest import FakeClock
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.cookies import MemoryCookieJar, Session
from tokensession.errors import (
    EndReason,
    HttpStatusError,
    NetworkError,
    RequestTimeout,
    SessionExpired,
    UnauthorizedError,
)
from tokensession.http import Request, Response
from tokensession.transport import InMemoryTransport

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Tab:
    """One page: a demo transport and a client over shared storage and cookies."""

    transport: DemoTransport
    client: ApiClient
    ended: list[EndReason] = field(default_factory=list)
    refreshed: list[Session] = field(default_factory=list)

    def sent(self, path: str) -> list[Request]:
        return [r for r in self.transport.sent if r.path.partition("?")[0] == path]


@dataclass
class Home:
    """What tabs of one browser share: ``localStorage`` (a dict), cookies, the clock, the refresh lock."""

    clock: FakeClock = field(default_factory=FakeClock)
    kv: MemoryKeyValue = field(default_factory=MemoryKeyValue)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    slept: list[float] = field(default_factory=list)
    tokens_seen: set[str] = field(default_factory=set)
    refresh_tokens_seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.jar = MemoryCookieJar(self.clock)

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def open_tab(self, window: float = 1800) -> Tab:
        """A page load: a new demo API over the same storage (a reload, or another tab)."""
        transport = DemoTransport(self.kv, clock=self.clock.seconds, sleep=self._sleep)
        config = Config(refresh_window_seconds=window, timeout_ms=10000)
        tab = Tab(transport, ApiClient(config, transport, self.jar, self.clock, lock=self.lock))
        tab.client.hooks.on_session_end.append(tab.ended.append)
        tab.client.hooks.on_refresh.append(tab.refreshed.append)
        return tab

    def remember_tokens(self, tab: Tab) -> None:
        """Note the tokens the client holds now (to look for them in the storage later)."""
        session = tab.client.session()
        self.tokens_seen.update(t for t in (session.access_token, session.refresh_token) if t)
        if session.refresh_token:
            self.refresh_tokens_seen.add(session.refresh_token)


@pytest.fixture
def home() -> Home:
    return Home()


async def login(tab: Tab) -> Session:
    return await tab.client.login("demo", "demo")


async def post_refresh(tab: Tab, refresh_token: str) -> Response:
    """A refresh as a client that lost the answer would send it again: straight to the API."""
    return await tab.transport.send(Request.build("POST", "refresh_token", json={"refresh_token": refresh_token}))


async def test_demo_demo_signs_in_and_me_answers(home: Home) -> None:
    tab = home.open_tab()
    session = await login(tab)
    assert session.util_time_ms == home.clock() + 20_000  # contract section 2: --access-ttl 20
    me = await tab.client.get("me")
    assert me.json() == {"username": "demo", "demo": True}


async def test_wrong_password_is_refused(home: Home) -> None:
    tab = home.open_tab()
    with pytest.raises(UnauthorizedError):
        await tab.client.login("demo", "nope")
    assert tab.client.session().is_empty


async def test_r1_a_success_inside_the_window_rotates_the_refresh_token(home: Home) -> None:
    tab = home.open_tab()
    before = await login(tab)
    home.clock.advance(5)
    await tab.client.get("me")
    await tab.client.settle()
    after = tab.client.session()
    assert len(tab.sent("refresh_token")) == 1
    assert tab.refreshed == [after]
    assert after.refresh_token != before.refresh_token
    assert after.util_time_ms == home.clock() + 20_000
    # rotation: the old token is spent, so presenting it after the grace interval is reuse
    home.clock.advance(11)
    assert (await post_refresh(tab, before.refresh_token or "")).status == 401


async def test_a_lost_answer_replayed_within_grace_gets_the_current_tokens(home: Home) -> None:
    tab = home.open_tab()
    first = await login(tab)
    rotated = await tab.client.refresh()
    home.clock.advance(9)  # --refresh-grace 10
    again = await post_refresh(tab, first.refresh_token or "")
    assert again.status == 200
    assert again.json()["refresh_token"] == rotated.refresh_token  # nothing new minted
    assert (await tab.client.get("me")).status == 200  # and nothing revoked


async def test_reuse_after_grace_revokes_the_whole_family(home: Home) -> None:
    tab = home.open_tab(window=0)  # no R1 refreshes in the way
    first = await login(tab)
    await tab.client.refresh()
    home.clock.advance(10)
    assert (await post_refresh(tab, first.refresh_token or "")).status == 401
    # the family's live token and access token went with it: the next call ends the session (R4)
    with pytest.raises(SessionExpired):
        await tab.client.get("me")
    await tab.client.settle()
    assert tab.ended == ["refresh_rejected"]  # the 401 made it refresh once (R4): refused


async def test_logout_revokes_the_family(home: Home) -> None:
    tab = home.open_tab(window=0)
    session = await login(tab)
    tab.client.logout()
    await tab.client.settle()
    assert len(tab.sent("logout")) == 1
    assert (await post_refresh(tab, session.refresh_token or "")).status == 401


async def test_status_codes_slow_and_info_answer_as_the_server_does(home: Home) -> None:
    tab = home.open_tab()
    with pytest.raises(HttpStatusError) as teapot:
        await tab.client.get("status/418")
    assert teapot.value.status == 418
    with pytest.raises(HttpStatusError) as out_of_range:
        await tab.client.get("status/700")
    assert out_of_range.value.status == 400
    slow = await tab.client.get("slow?ms=1234")
    assert slow.json() == {"slept_ms": 1234}
    assert home.slept == [1.234]
    info = await tab.client.get("info")
    assert info.json() == {"demo": True, "demo_user": "demo", "demo_password": "demo"}


async def test_a_body_over_64_kib_answers_413(home: Home) -> None:
    tab = home.open_tab()
    with pytest.raises(HttpStatusError) as info:
        await tab.client.post("login", body=b"x" * (64 * 1024 + 1))
    assert info.value.status == 413


async def test_ten_failed_sign_ins_then_429_with_retry_after(home: Home) -> None:
    tab = home.open_tab()
    for _ in range(10):
        with pytest.raises(UnauthorizedError):
            await tab.client.login("demo", "wrong")
    with pytest.raises(HttpStatusError) as info:
        await tab.client.login("demo", "demo")
    assert info.value.status == 429
    assert info.value.response is not None
    assert int(info.value.response.headers["retry-after"]) > 0


async def test_a_reload_keeps_the_session(home: Home) -> None:
    before = home.open_tab(window=0)
    session = await login(before)
    reloaded = home.open_tab(window=0)  # a new API object over the same storage and cookies
    assert reloaded.client.session() == session
    assert (await reloaded.client.get("me")).status == 200  # same signing key
    rotated = await reloaded.client.refresh()  # same refresh-chain key and families
    assert rotated.refresh_token != session.refresh_token


async def test_two_tabs_share_one_session_and_its_rotations(home: Home) -> None:
    one, two = home.open_tab(), home.open_tab()
    await login(one)
    assert (await two.client.get("me")).status == 200  # inside the window: tab two refreshes
    await two.client.settle()
    assert len(two.sent("refresh_token")) == 1
    # tab one reads the rotated tokens from the shared cookies and refreshes from them
    assert (await one.client.get("me")).status == 200
    await one.client.settle()
    assert len(one.sent("refresh_token")) == 1
    assert one.ended == two.ended == []
    assert one.client.session() == two.client.session()


async def test_concurrent_refreshes_in_two_tabs_rotate_once(home: Home) -> None:
    one, two = home.open_tab(), home.open_tab()
    await login(one)
    results = await asyncio.gather(one.client.refresh(), two.client.refresh())
    # the shared lock (the Web Lock in the page) lets one refresh; the other reads its result
    assert results[0] == results[1]
    assert len(one.sent("refresh_token")) + len(two.sent("refresh_token")) == 1


async def test_the_storage_never_holds_a_usable_token(home: Home) -> None:
    one, two = home.open_tab(), home.open_tab()
    await login(one)
    home.remember_tokens(one)
    for _ in range(3):
        await two.client.get("me")
        await two.client.settle()
        home.remember_tokens(two)
        home.clock.advance(3)
    one.client.logout()
    await one.client.settle()
    await login(two)
    home.remember_tokens(two)
    assert len(home.tokens_seen) == 10  # five sessions: a login, three rotations, a login
    stored = json.dumps(home.kv)
    assert all(token not in stored for token in home.tokens_seen)
    # what is kept instead: each refresh token's SHA-256 (so reuse can still be recognised)
    state = json.loads(home.kv["pyauth-demo-api"])
    hashes = {
        base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode()
        for t in home.refresh_tokens_seen
    }
    assert hashes == set(state["tokens"])


async def test_two_apps_with_their_own_keys_do_not_share_a_demo_api(home: Home) -> None:
    a = DemoTransport(home.kv, key="pyauth-demo-api:/a/", clock=home.clock.seconds)
    b = DemoTransport(home.kv, key="pyauth-demo-api:/b/", clock=home.clock.seconds)
    login_body = {"username": "demo", "password": "demo"}
    token = (await a.send(Request.build("POST", "login", json=login_body))).json()["access_token"]
    me = Request.build("GET", "me", headers={"authorization": f"Bearer {token}"})
    assert (await a.send(me)).status == 200
    assert (await b.send(me)).status == 401  # another signing key
    assert sorted(home.kv) == ["pyauth-demo-api:/a/", "pyauth-demo-api:/b/"]


# -- choosing the transport at boot ----------------------------------------------------------


class ScriptedTransport:
    """The real transport's stand-in: answers the probe as a host would, records what was sent."""

    def __init__(self, answer: Response | type[NetworkError]) -> None:
        self.answer = answer
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Response:
        self.sent.append(request)
        if isinstance(self.answer, Response):
            return self.answer
        raise self.answer("scripted", request=request)


NO_API: dict[str, Response | type[NetworkError]] = {
    "404 page": Response(404, {"content-type": "text/html"}, b"<!doctype html><h1>404</h1>"),
    "404 json": Response(404, {"content-type": "application/json"}, b'{"error": "not_found"}'),
    "index for any path": Response(200, {"content-type": "text/html"}, b"<!doctype html><title>app</title>"),
    "json that is no object": Response(200, {"content-type": "application/json"}, b"[]"),
    "network error": NetworkError,
    "timeout": RequestTimeout,
}


@pytest.mark.parametrize("answer", NO_API.values(), ids=list(NO_API))
async def test_auto_opens_the_demo_api_when_no_api_answers(answer: Response | type[NetworkError]) -> None:
    real = ScriptedTransport(answer)
    transport, is_demo = await choose_transport(Config(demo_api="auto"), real, MemoryKeyValue())
    assert is_demo and isinstance(transport, DemoTransport)
    assert [(r.method, r.path) for r in real.sent] == [("GET", "info")]  # probed once
    assert real.sent[0].timeout_ms is not None


@pytest.mark.parametrize("status", [200, 500])
async def test_auto_keeps_the_real_api_when_info_answers_json(status: int) -> None:
    real = ScriptedTransport(Response(status, {"content-type": "application/json"}, b'{"demo": false}'))
    kv = MemoryKeyValue()
    transport, is_demo = await choose_transport(Config(demo_api="auto"), real, kv)
    assert (transport, is_demo) == (real, False)
    assert kv == {}  # no demo API opened: nothing stored


async def test_false_never_probes_nor_opens_a_demo_api() -> None:
    real = ScriptedTransport(NetworkError)
    kv = MemoryKeyValue()
    transport, is_demo = await choose_transport(Config(demo_api=False), real, kv)
    assert (transport, is_demo) == (real, False)
    assert real.sent == [] and kv == {}


async def test_the_default_config_never_probes_nor_opens_a_demo_api() -> None:
    real = ScriptedTransport(NetworkError)
    kv = MemoryKeyValue()
    transport, is_demo = await choose_transport(Config(), real, kv)
    assert (transport, is_demo) == (real, False)
    assert real.sent == [] and kv == {}
    transport, is_demo = await in_page_demo(kv, key="k")(Config(), real)
    assert (transport, is_demo) == (real, False)
    assert real.sent == [] and kv == {}


async def test_in_page_demo_is_page_clients_choice_over_the_given_storage() -> None:
    real = ScriptedTransport(Response(404, {}, b""))
    kv = MemoryKeyValue()
    transport, is_demo = await in_page_demo(kv, key="pyauth-demo-api:/app/")(Config(demo_api="auto"), real)
    assert is_demo and isinstance(transport, DemoTransport)
    await transport.send(Request.build("POST", "login", json={"username": "demo", "password": "demo"}))
    assert list(kv) == ["pyauth-demo-api:/app/"]


async def test_the_api_gets_its_own_request_with_the_query_split_off() -> None:
    seen = []

    async def handle(call):  # AuthApi.handle's shape
        seen.append(call)
        return ApiResponse(204)

    transport = InMemoryTransport(transport_handler(handle, client="page"))
    await transport.send(Request.build("GET", "slow?ms=50", headers={"X-Req-Id": "7"}))
    assert seen == [api_request(Request.build("GET", "slow?ms=50", headers={"X-Req-Id": "7"}), client="page")]
    assert (seen[0].path, seen[0].query, seen[0].client, seen[0].headers["x-req-id"]) == ("slow", "ms=50", "page", "7")


async def test_true_opens_the_demo_api_without_probing() -> None:
    real = ScriptedTransport(Response(200, {}, b'{"demo": false}'))
    transport, is_demo = await choose_transport(Config(demo_api=True), real, MemoryKeyValue())
    assert is_demo and isinstance(transport, DemoTransport)
    assert real.sent == []


def run_isolated(script: str, blocked: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter where importing any of ``blocked`` fails."""
    prelude = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)], cwd=ROOT, capture_output=True, text=True
    )


def test_the_library_imports_and_runs_with_authapi_blocked() -> None:
    out = run_isolated(
        """
        import asyncio, pkgutil, importlib, tokensession
        names = [m.name for m in pkgutil.walk_packages(tokensession.__path__, "tokensession.")]
        for name in names:
            if not name.startswith("tokensession.browser") and name != "tokensession.requests_auth":
                importlib.import_module(name)
        from tokensession import Config, InMemoryTransport, Request, Response

        async def handler(request):
            return Response(200, body=request.path.encode())

        print(asyncio.run(InMemoryTransport(handler).send(Request.build("GET", "me?x=1"))).text)
        """,
        ["authapi", "pyapp"],
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "me?x=1"


def test_the_demo_api_runs_without_sqlite_pyjwt_or_argon2() -> None:
    out = run_isolated(
        """
        import asyncio, json
        from authapi.kvstore import MemoryKeyValue
        from authapi.inpage import DemoTransport
        from tokensession.http import Request

        async def main():
            transport = DemoTransport(MemoryKeyValue())
            login = await transport.send(Request.build("POST", "login", json={"username": "demo", "password": "demo"}))
            token = login.json()["access_token"]
            me = await transport.send(Request.build("GET", "me", headers={"authorization": "Bearer " + token}))
            print(json.dumps([login.status, me.json()]))

        asyncio.run(main())
        """,
        ["sqlite3", "_sqlite3", "jwt", "argon2"],
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [200, {"username": "demo", "demo": True}]


def test_docstring_examples_run() -> None:
    import doctest

    import authapi.inpage

    assert doctest.testmod(authapi.inpage).failed == 0
