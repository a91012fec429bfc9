#!/usr/bin/env python3
"""Many tabs, one session (issue 11, item 5): refreshes per rotation, sign-outs, and how long a
sign-out takes to reach every tab.

    .venv/bin/python bench/tabs_bench.py                       # 5 tabs, 3 rotations, 3 sign-outs
    .venv/bin/python bench/tabs_bench.py --tabs 2 --rotations 1 --signouts 1   # smoke size

The real app from the real ``serve.py`` (``--access-ttl 6 --refresh-window 4``: a token
enters the window 2 s after it is issued), ``--tabs`` tabs of one browser context (one
cookie jar, as one browser profile). Every tab is kept active: it presses its
playground's ``GET me`` button every ``--interval-ms`` (a timer in each page), so every
tab meets every refresh window. Counted from the context's requests until ``--rotations``
refreshes have answered: ``refresh_token`` calls, the refresh tokens they presented (a
token presented twice would be two refreshes for one rotation), ``logout`` calls, 401s and
tabs that left the playground (sign-outs).

Then ``--signouts`` times: sign in again, every tab on the playground, a click on
``logout`` in the first tab; each tab notes (``performance.timeOrigin + performance.now()``,
one clock for all tabs) when its route view turns ``login``. Reported: the time from the
click to the last tab.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVER_ARGS = ["--access-ttl", "6", "--refresh-window", "4", "--timeout-ms", "3000"]
BOOT_TIMEOUT_MS = 120_000

for p in (str(ROOT), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

KEEP_ACTIVE = """(ms) => {
    clearInterval(window.__activeTimer);
    window.__activeTimer = setInterval(() => {
        const button = document.querySelector('[data-testid="call-me"]');
        if (button) button.click();
    }, ms);
}"""
STOP_ACTIVE = "() => clearInterval(window.__activeTimer)"
WATCH_LOGIN = """() => {
    window.__signedOutAt = null;
    const check = () => {
        const view = document.querySelector('[data-testid="route-view"]');
        if (window.__signedOutAt === null && view && view.dataset.route === "login") {
            window.__signedOutAt = performance.timeOrigin + performance.now();
        }
    };
    window.__loginWatch && window.__loginWatch.disconnect();
    window.__loginWatch = new MutationObserver(check);
    window.__loginWatch.observe(document.body, { subtree: true, childList: true, attributes: true });
}"""
CLICK_LOGOUT = """() => {
    const t = performance.timeOrigin + performance.now();
    document.querySelector('[data-testid="logout"]').click();
    return t;
}"""


def route(page: Any) -> str | None:
    return page.get_by_test_id("route-view").get_attribute("data-route")


def wait_route(page: Any, name: str, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        "(name) => document.querySelector('[data-testid=\"route-view\"]')?.dataset.route === name",
        arg=name,
        timeout=timeout_ms,
    )


def sign_in_all(pages: list[Any]) -> None:
    first = pages[0]
    first.evaluate("() => { location.hash = '#/login?redirect=%2Fplayground' }")
    wait_route(first, "login")
    first.get_by_test_id("login-username").fill("demo")
    first.get_by_test_id("login-password").fill("demo")
    first.get_by_test_id("login-password").press("Enter")
    wait_route(first, "playground")
    for page in pages[1:]:
        page.evaluate("() => { location.hash = '#/playground' }")
        wait_route(page, "playground")


def measure(context: Any, origin: str, args: argparse.Namespace) -> dict[str, Any]:
    """Open ``args.tabs`` tabs in ``context`` (the app at ``origin``), run both parts, close them.
    Also used by tests/browser/test_tabs_rotation.py (the counts, not the times)."""
    refresh_bodies: list[str] = []
    logouts: list[str] = []
    unauthorized: list[str] = []

    def on_request(r: Any) -> None:
        if r.url.endswith("/api/v1/refresh_token"):
            refresh_bodies.append(r.post_data or "")
        elif r.url.endswith("/api/v1/logout"):
            logouts.append(r.url)

    def on_response(r: Any) -> None:
        if "/api/v1/" in r.url and r.status == 401:
            unauthorized.append(r.url)

    pages: list[Any] = []
    context.on("request", on_request)
    context.on("response", on_response)
    try:
        for _ in range(args.tabs):
            page = context.new_page()
            page.goto(origin + "#/login")
            page.wait_for_function(
                "() => document.documentElement.dataset.appState === 'ready'", timeout=BOOT_TIMEOUT_MS
            )
            pages.append(page)
        sign_in_all(pages)
        refresh_bodies.clear()
        started = time.monotonic()
        for page in pages:
            page.evaluate(KEEP_ACTIVE, args.interval_ms)
        # Bounded: a rotation takes about (ttl - window) = 2 s; allow far more, then stop anyway.
        deadline = started + 10 + 8 * args.rotations
        while len(refresh_bodies) < args.rotations and time.monotonic() < deadline:
            pages[0].wait_for_timeout(100)  # a bench's polling loop, not a test's wait
        # The last refresh's answer lands in the cookies; give the tabs one more round of calls.
        pages[0].wait_for_timeout(2 * args.interval_ms)
        for page in pages:
            page.evaluate(STOP_ACTIVE)
        rotations_seconds = time.monotonic() - started
        routes = [route(page) for page in pages]
        presented = [json.loads(b).get("refresh_token") if b else None for b in refresh_bodies]
        active = {
            "refresh_calls": len(refresh_bodies),
            "distinct_tokens_presented": len(set(presented)),
            "logout_calls": len(logouts),
            "unauthorized": len(unauthorized),
            "sign_outs": sum(r != "playground" for r in routes),
            "seconds": round(rotations_seconds, 2),
        }
        active["correct"] = (
            active["refresh_calls"] == args.rotations
            and active["distinct_tokens_presented"] == active["refresh_calls"]
            and active["sign_outs"] == 0
            and active["logout_calls"] == 0
        )
        spreads = []
        for n in range(args.signouts):
            if n:
                sign_in_all(pages)
            for page in pages:
                page.evaluate(WATCH_LOGIN)
            clicked = pages[0].evaluate(CLICK_LOGOUT)
            for page in pages:
                page.wait_for_function("() => window.__signedOutAt !== null", timeout=30_000)
            arrived = [page.evaluate("window.__signedOutAt") for page in pages]
            spreads.append(
                {
                    "to_last_tab_ms": round(max(arrived) - clicked, 1),
                    "per_tab_ms": [round(t - clicked, 1) for t in arrived],
                }
            )
        to_last = [s["to_last_tab_ms"] for s in spreads]
        return {
            "tabs": args.tabs,
            "rotations": args.rotations,
            "active": active,
            "signout": {
                "runs": spreads,
                "to_last_tab_ms_median": round(statistics.median(to_last), 1) if to_last else None,
                "to_last_tab_ms_max": max(to_last) if to_last else None,
                "logout_calls": len(logouts),
            },
        }
    finally:
        context.remove_listener("request", on_request)
        context.remove_listener("response", on_response)
        for page in pages:
            page.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from client_bench import launch

    from tests.serverproc import ServerProcess

    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        srv = stack.enter_context(ServerProcess(SERVER_ARGS))
        browser = launch(stack)
        context = browser.new_context(locale="en-US")
        stack.callback(context.close)
        out = measure(context, srv.url, args)
        out["meta"] = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "chromium": browser.version,
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "server_args": SERVER_ARGS,
            "interval_ms": args.interval_ms,
        }
    return out


def report(out: dict[str, Any]) -> str:
    a, s = out["active"], out["signout"]
    return "\n".join(
        [
            "| tabs | rotations | refresh calls | tokens presented | 401s | logout calls | sign-outs | correct |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {out['tabs']} | {out['rotations']} | {a['refresh_calls']} | {a['distinct_tokens_presented']}"
            f" | {a['unauthorized']} | {a['logout_calls']} | {a['sign_outs']} | {'yes' if a['correct'] else 'NO'} |",
            "",
            f"sign-out to the last of {out['tabs']} tabs: median {s['to_last_tab_ms_median']} ms, max"
            f" {s['to_last_tab_ms_max']} ms over {len(s['runs'])} sign-outs (per tab, ms after the click:"
            f" {[r['per_tab_ms'] for r in s['runs']]}); logout calls: {s['logout_calls']}"
            f" (one per sign-out expected)",
        ]
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tabs", type=int, default=5)
    p.add_argument("--rotations", type=int, default=3)
    p.add_argument("--signouts", type=int, default=3)
    p.add_argument("--interval-ms", type=int, default=500, help="each tab presses GET me this often")
    p.add_argument("--json", type=Path, help="also write the results here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = run(args)
    print(f"# {out['meta']['when']}, {out['meta']['machine']}, chromium {out['meta']['chromium']}")
    print(report(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
