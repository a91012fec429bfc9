# The benchmark page's Python (bench/client_bench.py drives it): the session library as the
# app builds it (page_client: config.json, FetchTransport, document.cookie, the Web Lock),
# signed in, and window.benchRun(name, spec_json) -> Promise of a JSON string of figures.
import asyncio
import json

from pyscript import window
from pyscript.ffi import create_proxy, to_js

from tokensession.browser.cookies import DocumentCookieJar, base_path
from tokensession.browser.fetch import FetchTransport
from tokensession.browser.locks import WebLock
from tokensession.browser.page import now_ms, page_client
from tokensession.browser.runtime import RUNTIME, to_bytes
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.cookies import assignment
from tokensession.http import Request, Response

LOCK = "bench-refresh"
perf = window.performance


class Counting:
    """The page's transport, counting what goes out by path (refresh_token calls, GET me)."""

    def __init__(self, inner):
        self.inner, self.counts = inner, {}

    async def send(self, request):
        self.counts[request.path] = self.counts.get(request.path, 0) + 1
        return await self.inner.send(request)


class Instant:
    """A transport that answers at once: what is left is the client's own cost."""

    async def send(self, request):
        return Response(200, {"content-type": "application/json"}, b'{"username": "demo", "demo": true}')


def full_hooks(api):
    # As pyapp.App installs them: the client fires these on errors, endings and refreshes.
    events = {"errors": 0, "ended": 0, "refreshed": 0}
    api.hooks.on_error.append(lambda _e: events.__setitem__("errors", events["errors"] + 1))
    api.hooks.on_session_end.append(lambda _r: events.__setitem__("ended", events["ended"] + 1))
    api.hooks.on_refresh.append(lambda _s: events.__setitem__("refreshed", events["refreshed"] + 1))
    return events


state = {}


async def setup():
    page = await page_client(lock_name=LOCK)
    counting = Counting(FetchTransport(page.config.api_base))
    jar = DocumentCookieJar()

    def client(config):
        api = ApiClient(config, counting, jar, now_ms, lock=WebLock(LOCK), cookie_path=base_path())
        return api, full_hooks(api)

    state["config"] = page.config
    state["counting"] = counting
    state["api"], state["events"] = client(page.config)
    # Every token in the refresh window: each success starts the R1 refresh (the storm).
    state["window_api"], state["window_events"] = client(
        Config(api_base=page.config.api_base, refresh_window_seconds=10**8, timeout_ms=page.config.timeout_ms)
    )
    state["jar"] = jar
    await state["api"].login("demo", "demo")


def js_floats(array):
    # A JS array of numbers as a list (MicroPython's proxies have no to_py; a JSON text crosses
    # the same on both runtimes).
    return json.loads(str(window.JSON.stringify(array)))


async def timed(n, call):
    times = []
    for _ in range(n):
        t = perf.now()
        await call()
        times.append(perf.now() - t)
    return times


async def per_request(spec):
    """Blocks of sequential GET me, the variants interleaved (rotating order per block)."""
    api = state["api"]
    token = api.session().access_token
    url = state["config"].api_base.rstrip("/") + "/me"
    transport = state["counting"].inner
    init = to_js(
        {
            "method": "GET",
            "headers": {"accept": "application/json", "authorization": "Bearer " + token},
            "credentials": "same-origin",
            "cache": "no-store",
            "redirect": "error",
        }
    )

    async def client_me():
        resp = await api.get("me")
        assert resp.status == 200

    async def py_fetch():
        resp = await window.fetch(url, init)
        await resp.arrayBuffer()

    async def transport_me():
        await transport.send(Request.build("GET", "me", headers={"authorization": "Bearer " + token}, timeout_ms=10000))

    lock = WebLock(LOCK)

    async def wait_idle():
        await lock.wait_idle()

    async def cookies():
        api.session()

    async def raw_block(n):
        return js_floats(await window.rawMe(n, token))

    async def raw_lock_block(n):
        return js_floats(await window.rawLock(n, LOCK))

    variants = {
        "client": lambda n: timed(n, client_me),
        "raw_js": raw_block,
        "py_fetch": lambda n: timed(n, py_fetch),
        "transport": lambda n: timed(n, transport_me),
    }
    sample = await window.fetch(url, init)
    sample_body = await sample.arrayBuffer()
    init_dict = {
        "method": "GET",
        "headers": {"accept": "application/json", "authorization": "Bearer " + token},
        "credentials": "same-origin",
        "cache": "no-store",
        "redirect": "error",
    }

    async def part_to_js():
        to_js(init_dict)

    async def part_signal():
        window.AbortSignal.timeout(10000)

    async def part_headers():  # as FetchTransport reads them: one JSON text
        json.loads(str(window.JSON.stringify(window.Object.fromEntries(sample.headers))))

    async def part_body():
        to_bytes(window.Uint8Array.new(sample_body))

    async def part_resolved():
        await window.Promise.resolve(1)

    instant = ApiClient(state["config"], Instant(), state["jar"], now_ms, lock=WebLock(LOCK), cookie_path=base_path())
    full_hooks(instant)

    async def client_instant():
        await instant.get("me")

    parts = {
        "client_own_cost": lambda n: timed(n, client_instant),
        "part_to_js_init": lambda n: timed(n, part_to_js),
        "part_abort_signal": lambda n: timed(n, part_signal),
        "part_headers_to_py": lambda n: timed(n, part_headers),
        "part_body_bytes": lambda n: timed(n, part_body),
        "part_await_resolved_promise": lambda n: timed(n, part_resolved),
        "lock_wait_idle_py": lambda n: timed(n, wait_idle),
        "lock_raw_js": raw_lock_block,
        "cookie_read_parse": lambda n: timed(n, cookies),
    }
    out = {name: [] for name in list(variants) + list(parts)}  # no starred displays on MicroPython
    names = list(variants)
    for block in range(spec["blocks"]):
        k = block % len(names)
        for name in names[k:] + names[:k]:
            out[name] += await variants[name](spec["size"])
    for name, run in parts.items():
        out[name] = await run(spec["size"] * 2)
    refreshes = state["counting"].counts.get("refresh_token", 0)
    return {"times": out, "refresh_calls": refreshes, "events": dict(state["events"]), "runtime": RUNTIME}


async def storm(spec):
    """``n`` concurrent GET me: outside the window (baseline), inside it, after an injected 401."""
    n, rounds = spec["n"], spec["rounds"]
    counting, jar = state["counting"], state["jar"]
    out = {"baseline": [], "window": [], "after_401": []}

    async def one(api):
        t = perf.now()
        try:
            resp = await api.get("me")
            ok = resp.status == 200
        except Exception:
            ok = False
        return perf.now() - t, ok

    async def burst(api, scenario):
        before = counting.counts.get("refresh_token", 0)
        me_before = counting.counts.get("me", 0)
        results = await asyncio.gather(*(one(api) for _ in range(n)))
        await api.settle()  # the background refresh, if any, is over
        out[scenario].append(
            {
                "times": [t for t, _ in results],
                "ok": sum(ok for _, ok in results),
                "refresh_calls": counting.counts.get("refresh_token", 0) - before,
                "me_calls": counting.counts.get("me", 0) - me_before,  # sent, retries included
            }
        )

    for _ in range(rounds):
        await burst(state["api"], "baseline")
        await burst(state["window_api"], "window")
        session = state["api"].session()
        left_s = max(1, int(session.remaining_ms(now_ms()) / 1000))
        # The access token replaced by one the server refuses (utilTime still valid): R4.
        jar.write(assignment("access_token", "eyJhbGciOiJIUzI1NiJ9.e30.bad", path=base_path(), max_age=left_s))
        await burst(state["api"], "after_401")
    return {
        "scenarios": out,
        "events": dict(state["events"]),
        "window_events": dict(state["window_events"]),
        "signed_in": not state["api"].session().is_empty,
    }


async def run(name, spec_json):
    spec = json.loads(spec_json)
    result = await {"per_request": per_request, "storm": storm}[name](spec)
    return json.dumps(result)


def bench_run(name, spec_json):
    """``window.benchRun``: a JS promise of ``run``'s JSON text (made here: a Python task is a
    promise to JS on Pyodide only)."""

    def executor(resolve, reject):
        async def go():
            try:
                resolve(await run(name, spec_json))
            except Exception as exc:
                reject(f"{type(exc).__name__}: {exc}")

        task = asyncio.create_task(go())
        running.add(task)
        task.add_done_callback(running.discard)

    return window.Promise.new(create_proxy(executor))


running = set()  # the bench runs under way (a task needs a reference while it runs)


window.benchRun = create_proxy(bench_run)
await setup()
window.document.documentElement.dataset.appState = "ready"
