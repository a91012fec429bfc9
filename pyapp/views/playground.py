"""The seed's ``#/axios`` demo page: buttons that call the API and the session, live.

Contract section 7 names its hooks: ``session-expires-at``, ``refresh-count``,
``call-me``, ``call-burst``, ``status-<code>``, ``call-slow``. ``call-requests``
runs ``GET me`` through ``requests`` (synchronous, over ``pyodide-http``), which
the first click installs with micropip: the same session rules from sync code.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pyapp.ui import El, h
from pyapp.views import View
from tokensession.errors import SessionExpired

SEED_STATUSES = (400, 401, 403, 404, 405, 408, 500, 501, 502, 503, 504, 505)


class PlaygroundView(View):
    name = "playground"
    title = "Playground"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._ticker: asyncio.Task[Any] | None = None
        self._http: Any = None  # the requests session, made on the first requests call

    def body(self) -> list[El]:
        timeout_ms = self.app.config.timeout_ms
        return [
            h(
                "div",
                {"class": "card"},
                self.heading("Playground"),
                h(
                    "p",
                    {"class": "hint"},
                    "Each button calls the API through the session client: watch the token refresh "
                    "while you are active and the session end when you are idle.",
                ),
                h(
                    "dl",
                    {"class": "facts"},
                    h("dt", {}, "Access token expires at (ms)"),
                    h("dd", {"data-testid": "session-expires-at"}, "", ref="expires-at"),
                    h("dt", {}, "Expires in"),
                    h("dd", {"data-testid": "session-countdown", "aria-live": "off"}, "", ref="countdown"),
                    h("dt", {}, "Refreshes so far"),
                    h("dd", {"data-testid": "refresh-count"}, "0", ref="refresh-count"),
                    h("dt", {}, "Cookies seen by the page"),
                    h("dd", {"data-testid": "cookies"}, "", ref="cookies"),
                ),
                h(
                    "div",
                    {"class": "buttons", "role": "group", "aria-label": "Calls"},
                    self.button("call-me", "GET me", lambda: self.app.call("GET", "me")),
                    self.button("call-burst", "10 × GET me at once", self.burst),
                    self.button("call-requests", "GET me with requests (sync)", self.call_requests),
                    self.button(
                        "call-slow",
                        f"GET slow ({timeout_ms + 2000} ms, times out)",
                        lambda: self.app.call("GET", "slow", params={"ms": str(timeout_ms + 2000)}),
                    ),
                    h(
                        "button",
                        {"type": "button", "data-testid": "logout"},
                        "Sign out",
                        on={"click": lambda _e: self.app.sign_out()},
                    ),
                ),
                h(
                    "div",
                    {"class": "buttons", "role": "group", "aria-label": "Error statuses"},
                    *[self.status_button(code) for code in SEED_STATUSES],
                ),
                h("h2", {}, "Requests"),
                h("ol", {"class": "log", "data-testid": "request-log", "aria-live": "polite"}, ref="log"),
            )
        ]

    def button(self, testid: str, label: str, action: Any) -> El:
        return h(
            "button",
            {"type": "button", "data-testid": testid},
            label,
            on={"click": lambda _e: self.app.spawn(action())},
        )

    def status_button(self, code: int) -> El:
        return self.button(f"status-{code}", str(code), lambda: self.app.call("GET", f"status/{code}"))

    async def burst(self) -> None:
        await asyncio.gather(*(self.app.call("GET", "me") for _ in range(10)))

    async def call_requests(self) -> None:
        """One ``GET me`` through ``requests``; its line goes to the request log like the others."""
        config = self.app.config
        if self._http is None:
            # Page only, and only now: installs requests + pyodide-http (micropip) on first use.
            from tokensession.browser.sync_http import requests_session

            self._http = await requests_session(
                config.api_base, refresh_window_seconds=config.refresh_window_seconds, timeout_ms=config.timeout_ms
            )
            self._http.auth.hooks.on_refresh.append(
                lambda _session: self.log_request("POST", "refresh_token (requests)", "200", True)
            )
        try:
            # Synchronous XHR: the page waits for the answer (fine for one button).
            resp = self._http.get(self._http.auth.base + "me", timeout=config.timeout_ms / 1000)
        except SessionExpired as exc:
            self.log_request("GET", "me (requests)", type(exc).__name__, False)
            self.app.on_wake()  # the cookies are gone: the app ends its session view too
            return
        except Exception as exc:  # requests' own errors (no answer): logged like the others
            self.log_request("GET", "me (requests)", type(exc).__name__, False)
            return
        self.log_request("GET", "me (requests)", str(resp.status_code), bool(resp.ok))

    def mounted(self) -> None:
        self.app.request_listeners.append(self.log_request)
        self.update()
        self._ticker = self.app.spawn(self.tick())

    def unmount(self) -> None:
        if self.log_request in self.app.request_listeners:
            self.app.request_listeners.remove(self.log_request)
        if self._ticker is not None:
            self._ticker.cancel()

    async def tick(self) -> None:
        while True:
            self.update()
            await asyncio.sleep(0.25)

    def update(self) -> None:
        info = self.app.session_info()
        expires = info.get("expires_at_ms")
        screen = self.app.screen
        screen.set_text("expires-at", str(int(expires)) if expires else "")
        now = self.app.now_ms()
        screen.set_text("countdown", f"{max(0.0, (expires - now) / 1000):.1f} s" if expires else "no session")
        screen.set_text("refresh-count", str(info.get("refresh_count", 0)))
        screen.set_text("cookies", "; ".join(f"{k}={_short(v)}" for k, v in info.get("cookies", {}).items()) or "none")

    def log_request(self, method: str, path: str, outcome: str, ok: bool) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.app.screen.append(
            "log", h("li", {"class": "good" if ok else "bad"}, f"{stamp} {method} {path} → {outcome}"), limit=200
        )


def _short(value: str) -> str:
    return value if len(value) <= 24 else value[:10] + "…" + value[-8:]
