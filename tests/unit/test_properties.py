"""Properties of the session rules over random event sequences (Hypothesis, CPython, fast).

A ``RuleBasedStateMachine`` drives a client wired to the real ``authapi`` (in-memory
SQLite, plain passwords) through random sequences of: requests answered with any
status (``status/<code>``), bursts of concurrent requests, network outages,
explicit refreshes, another tab (a second client on the same cookie jar) signing
in, refreshing, calling or signing out, time passing and the page's clock jumping
forward or backward. Both drivers run through it: the async :class:`ApiClient`
and the synchronous urllib :class:`SessionHandler`.

A probe between transport and API checks, at the moment each request arrives:
no expired token is sent (judged by the page's clock against the cookies'
``utilTime``, R3), no two refreshes are in flight (R1, one tab or two), no request
is retried more than once (R4). After every step the cookies are whole (all four
session cookies or none, ``utilTime`` = write time + ``expires_in``; only the
refresh token may outlive an expired access token until the watchdog looks), and
after the watchdog looks the state is one the contract allows.
"""

from __future__ import annotations

import asyncio
import email.message
import io
import itertools
import urllib.error
import urllib.request
import urllib.response
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from authapi.app import AuthApi, Settings
from authapi.inpage import transport_handler
from authapi.messages import ApiRequest
from tests.unit.conftest import T0_MS, PlainPasswords
from tokensession.client import ApiClient
from tokensession.cookies import SESSION_COOKIES, MemoryCookieJar, Session, parse_cookie_header
from tokensession.errors import ApiError
from tokensession.transport import InMemoryTransport
from tokensession.urllib_handler import SessionHandler

ACCESS_TTL = 20
WINDOW = 8
BASE = "http://api.test/api/v1/"
ALLOWED_ENDINGS = {"expired", "unauthorized", "refresh_rejected", "logout", "elsewhere"}
STATUSES = st.one_of(st.sampled_from([400, 401, 403, 404, 500, 502, 503, 504]), st.integers(400, 599))


class Clocks:
    """The server's true time, and the page's clock, which may be off by ``skew_ms``."""

    def __init__(self) -> None:
        self.true_ms = T0_MS
        self.skew_ms = 0

    def server_seconds(self) -> float:
        return self.true_ms / 1000

    def page_ms(self) -> int:
        return self.true_ms + self.skew_ms


class RecordingJar(MemoryCookieJar):
    """A jar that remembers, per cookie, the page time it was last written."""

    def __init__(self, clocks: Clocks) -> None:
        super().__init__(clocks.page_ms)
        self.written_at: dict[str, int] = {}
        self.foreign = False  # someone else wrote the cookies since the library last stored a grant

    def write(self, assignment: str) -> None:
        super().write(assignment)
        name = assignment.partition("=")[0].strip()
        self.written_at[name] = self._clock_ms()
        if name == "access_token" and "Max-Age=0" not in assignment:
            self.foreign = False

    def write_foreign(self, assignment: str) -> None:
        """A write the library did not make (another app version, a script, a user)."""
        self.write(assignment)
        self.foreign = True


class Probe:
    """Stands between the clients and the API; records every rule broken at send time."""

    def __init__(self, api: AuthApi, jar: RecordingJar, clocks: Clocks) -> None:
        self.api, self.jar, self.clocks = api, jar, clocks
        self.violations: list[str] = []
        self.refreshing = 0
        self.sends: Counter[str] = Counter()

    def check(self, path: str, headers: dict[str, str]) -> None:
        broken = len(self.violations)
        self._check(path, headers)
        if len(self.violations) > broken:
            # Fail the send too: a broken rule often loops (a retry without end).
            raise ConnectionAbortedError(self.violations[-1])

    def _check(self, path: str, headers: dict[str, str]) -> None:
        auth = headers.get("authorization")
        if auth is not None:
            token = auth.removeprefix("Bearer ")
            now = Session.from_header(self.jar.read())
            if now.access_token != token:
                self.violations.append(f"{path}: sent a token the cookies do not hold")
            elif now.expired(self.clocks.page_ms()):
                self.violations.append(f"{path}: sent an expired token (R3)")
        rid = headers.get("x-req-id")
        if rid is not None:
            self.sends[rid] += 1
            if self.sends[rid] > 2:
                self.violations.append(f"{path}: request {rid} sent {self.sends[rid]} times (R4 retries once)")

    async def handle(self, call: Any) -> Any:
        self.check(call.path, dict(call.headers))
        if call.path != "refresh_token":
            return await self.api.handle(call)
        self.refreshing += 1
        if self.refreshing > 1:
            self.violations.append("two refreshes in flight (R1)")
        try:
            await asyncio.sleep(0)  # let other tasks run while this refresh is in flight
            return await self.api.handle(call)
        finally:
            self.refreshing -= 1


def cookie_problems(jar: RecordingJar, clocks: Clocks) -> list[str]:
    """What is wrong with the session cookies as they are now (empty: nothing)."""
    if jar.foreign:
        return []  # not ours to judge until the library next stores a grant
    cookies = parse_cookie_header(jar.read())
    present = {name for name in SESSION_COOKIES if name in cookies}
    if present in (set(), set(SESSION_COOKIES)):
        pass
    elif present == {"refresh_token"}:
        return []  # the access side expired (Max-Age = utilTime); the watchdog has yet to look
    else:
        return [f"half-written session cookies: {sorted(present)}"]
    if not present:
        return []
    session = Session.from_cookies(cookies)
    problems = []
    if session.util_time_ms is None or session.expires_in is None or session.access_token is None:
        return [f"unreadable session cookies: {cookies}"]
    written = jar.written_at["utilTime"]
    if session.util_time_ms != written + session.expires_in * 1000:
        problems.append("utilTime is not write time + expires_in")
    if not (jar.written_at["access_token"] == jar.written_at["expires_in"] == written):
        problems.append("access_token, utilTime and expires_in come from different writes")
    if session.util_time_ms <= clocks.page_ms():
        problems.append("an expired access cookie outlived utilTime")
    return problems


class SessionMachine(RuleBasedStateMachine):
    """What both drivers share: the world, the probe and the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.clocks = Clocks()
        self.loop = asyncio.new_event_loop()
        settings_ = Settings(
            access_ttl=ACCESS_TTL, refresh_ttl=3600, users=[("demo", "demo")], db_path=":memory:", refresh_grace=10
        )
        self.api = AuthApi.open(settings_, clock=self.clocks.server_seconds, passwords=PlainPasswords({"demo": "demo"}))
        self.jar = RecordingJar(self.clocks)
        self.probe = Probe(self.api, self.jar, self.clocks)
        self.ids = itertools.count()
        self.ended: list[str] = []
        self.unexpected: list[BaseException] = []

    def teardown(self) -> None:
        self.loop.close()
        self.api.close()

    def rid(self) -> str:
        return f"r{next(self.ids)}"

    # -- the world moves -------------------------------------------------------------------------

    @rule(seconds=st.integers(0, 25))
    def time_passes(self, seconds: int) -> None:
        self.clocks.true_ms += seconds * 1000

    @rule(ms=st.integers(-15_000, 15_000))
    def page_clock_jumps(self, ms: int) -> None:
        self.clocks.skew_ms += ms

    @rule(
        name=st.sampled_from(["utilTime", "access_token", "expires_in", "refresh_token"]),
        value=st.one_of(
            st.integers(-30_000, 30_000).map(lambda d: f"@{d}"),  # utilTime-like: now + d ms
            st.sampled_from(["", "garbage", "abc.def.ghi", "1e400", "-5", "NaN", "%ZZ", '"quoted"', "x" * 5000]),
        ),
        max_age=st.sampled_from(["", "; Max-Age=3", "; Max-Age=0"]),
    )
    def foreign_cookie_write(self, name: str, value: str, max_age: str) -> None:
        # Another tab or script rewrites one cookie by hand (as document.cookie = ... would).
        if value.startswith("@"):
            value = str(self.clocks.page_ms() + int(value[1:]))
        self.jar.write_foreign(f"{name}={value}; Path=/{max_age}")

    # -- invariants --------------------------------------------------------------------------------

    @invariant()
    def no_rule_was_broken_at_send_time(self) -> None:
        assert self.probe.violations == []
        assert self.unexpected == []
        assert set(self.ended) <= ALLOWED_ENDINGS

    @invariant()
    def cookies_are_never_half_written(self) -> None:
        assert cookie_problems(self.jar, self.clocks) == []


class AsyncClientMachine(SessionMachine):
    """The async driver (the page's): two tabs sharing the cookie jar and the refresh lock."""

    def __init__(self) -> None:
        super().__init__()
        lock = asyncio.Lock()  # the Web Lock of the page, shared by both tabs
        self.transport = InMemoryTransport(transport_handler(self.probe.handle))
        self.client = ApiClient(_Config(), self.transport, self.jar, self.clocks.page_ms, lock=lock)
        self.other = ApiClient(
            _Config(), InMemoryTransport(transport_handler(self.probe.handle)), self.jar, self.clocks.page_ms, lock=lock
        )
        self.client.hooks.on_session_end.append(self.ended.append)

    def run(self, *coros: Any) -> list[Any]:
        async def all_of() -> list[Any]:
            results = await asyncio.gather(*coros, return_exceptions=True)
            await self.client.settle()
            await self.other.settle()
            return results

        results = self.loop.run_until_complete(all_of())
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, ApiError):
                self.unexpected.append(result)
        return results

    def call(self, client: ApiClient, path: str) -> Any:
        return client.request("GET", path, headers={"x-req-id": self.rid()})

    @rule()
    def sign_in(self) -> None:
        self.run(self.client.login("demo", "demo"))

    @rule(path=st.one_of(st.just("me"), st.just("info"), STATUSES.map(lambda c: f"status/{c}")))
    def request(self, path: str) -> None:
        self.run(self.call(self.client, path))

    @rule(n=st.integers(2, 6), fail=st.booleans())
    def burst(self, n: int, fail: bool) -> None:
        paths = ["me"] * n + (["status/401"] if fail else [])
        self.run(*(self.call(self.client, p) for p in paths))

    @rule()
    def refresh(self) -> None:
        self.run(self.client.refresh(), self.call(self.client, "me"))

    @rule(down=st.booleans())
    def network(self, down: bool) -> None:
        self.transport.offline = down

    @rule()
    def sign_out(self) -> None:
        self.client.logout()
        self.run()

    @rule(action=st.sampled_from(["login", "refresh", "me", "logout", "both_refresh"]))
    def other_tab(self, action: str) -> None:
        if action == "login":
            self.run(self.other.login("demo", "demo"))
        elif action == "refresh":
            self.run(self.other.refresh())
        elif action == "me":
            self.run(self.call(self.other, "me"))
        elif action == "both_refresh":  # both tabs want a refresh at once
            self.run(self.other.refresh(), self.client.refresh(), self.call(self.client, "me"))
        else:
            self.other.logout()
            self.run()

    @rule()
    def watchdog_looks(self) -> None:
        self.client.check_expiry()
        self.run()
        session = Session.from_header(self.jar.read())
        # After the watchdog: no usable token left, or one whose utilTime is still ahead.
        if session.access_token is not None:
            assert not session.expired(self.clocks.page_ms())
        if not self.jar.foreign:
            cookies = parse_cookie_header(self.jar.read())
            assert {n for n in SESSION_COOKIES if n in cookies} in (set(), set(SESSION_COOKIES))


class _Config:
    refresh_window_seconds = WINDOW
    timeout_ms = 5000


class InProcessHTTP(urllib.request.HTTPHandler):
    """``http://api.test/api/v1/...`` answered by the probe (and so the API), no socket."""

    def __init__(self, machine: UrllibMachine) -> None:
        super().__init__()
        self.machine = machine
        self.offline = False

    def http_open(self, req: urllib.request.Request) -> Any:
        if self.offline:
            raise urllib.error.URLError(ConnectionRefusedError("the network is down (simulated)"))
        path, _, query = req.full_url.removeprefix(BASE).partition("?")
        headers = {k.lower(): v for k, v in req.header_items()}
        call = ApiRequest(req.get_method(), path, query, headers, req.data or b"")  # type: ignore[arg-type]
        answer = self.machine.loop.run_until_complete(self.machine.probe.handle(call))
        msg = email.message.Message()
        for k, v in answer.headers.items():
            msg[k] = v
        response = urllib.response.addinfourl(io.BytesIO(answer.body), msg, req.full_url, answer.status)
        response.msg = "answer"  # type: ignore[attr-defined]  # HTTPErrorProcessor reads it
        return response


class UrllibMachine(SessionMachine):
    """The synchronous driver: urllib's handler chain, two "tabs" (handlers) on one jar."""

    def __init__(self) -> None:
        super().__init__()
        self.http = InProcessHTTP(self)
        self.handler = SessionHandler(BASE, self.jar, self.clocks.page_ms, refresh_window_seconds=WINDOW)
        self.opener = urllib.request.build_opener(self.handler, self.http)
        self.other = SessionHandler(BASE, self.jar, self.clocks.page_ms, refresh_window_seconds=WINDOW)
        self.other_opener = urllib.request.build_opener(self.other, InProcessHTTP(self))
        self.handler.hooks.on_session_end.append(self.ended.append)

    def attempt(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except (ApiError, urllib.error.URLError):  # HTTPError is a URLError
            pass
        except Exception as exc:  # anything else is a bug in the driver
            self.unexpected.append(exc)

    def get(self, opener: urllib.request.OpenerDirector, path: str) -> None:
        req = urllib.request.Request(BASE + path, headers={"X-Req-Id": self.rid()})
        with opener.open(req) as answer:
            answer.read()

    @rule()
    def sign_in(self) -> None:
        self.attempt(self.handler.login, "demo", "demo")

    @rule(path=st.one_of(st.just("me"), st.just("info"), STATUSES.map(lambda c: f"status/{c}")))
    def request(self, path: str) -> None:
        self.attempt(self.get, self.opener, path)

    @rule(down=st.booleans())
    def network(self, down: bool) -> None:
        self.http.offline = down

    @rule()
    def sign_out(self) -> None:
        self.attempt(self.handler.logout)

    @rule(action=st.sampled_from(["login", "me", "logout"]))
    def other_tab(self, action: str) -> None:
        if action == "login":
            self.attempt(self.other.login, "demo", "demo")
        elif action == "me":
            self.attempt(self.get, self.other_opener, "me")
        else:
            self.attempt(self.other.logout)

    @precondition(lambda self: not self.http.offline)
    @rule()
    def a_request_after_expiry_sends_nothing_stale(self) -> None:
        # The sync driver has no watchdog: its next request is where R3 applies.
        self.attempt(self.get, self.opener, "me")
        cookies = parse_cookie_header(self.jar.read())
        if any(name in cookies for name in ("access_token", "utilTime")):
            assert not Session.from_cookies(cookies).expired(self.clocks.page_ms())


FAST = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestAsyncClientProperties = pytest.mark.filterwarnings("ignore::ResourceWarning")(AsyncClientMachine.TestCase)
TestAsyncClientProperties.settings = FAST
TestUrllibHandlerProperties = UrllibMachine.TestCase
TestUrllibHandlerProperties.settings = FAST
