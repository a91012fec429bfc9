"""The seed's ``#/axios`` demo page: buttons that call the API and the session, live.

Contract section 7 names its hooks: ``session-expires-at``, ``refresh-count``,
``call-me``, ``call-burst``, ``status-<code>``, ``call-slow``. ``call-requests``
runs ``GET me`` through ``requests`` (synchronous, over ``pyodide-http``), which
the first click installs with micropip: the same session rules from sync code. On
Pyodide it runs in the page; on MicroPython the first click starts a Pyodide worker
(:mod:`tokensession.browser.requests_worker`), which shares the page's session through
its cookies. With the in-page demo API there is nothing for ``requests`` to reach.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from pyapp.timeline import TimelineModel, duration, layout
from pyapp.ui import El, h
from pyapp.views import View
from tokensession.errors import SessionExpired

SEED_STATUSES = (400, 401, 403, 404, 405, 408, 500, 501, 502, 503, 504, 505)
#: The requests worker's script and PyScript config (web/), for pages without requests.
REQUESTS_WORKER = ("requests_worker.py", "requests-worker.toml")


class PlaygroundView(View):
    name = "playground"
    title_key = "playground.title"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._ticker: asyncio.Task[Any] | None = None
        self._http: Any = None  # the requests session, made on the first requests call
        self._drawn: dict[str, str | None] = {}  # what the timeline's attributes hold: write only changes

    def body(self) -> list[El]:
        timeout_ms = self.app.config.timeout_ms
        return [
            h(
                "div",
                {"class": "card"},
                self.heading(self.t("playground.title")),
                h(
                    "p",
                    {"class": "hint"},
                    self.t("playground.hint"),
                ),
                h(
                    "dl",
                    {"class": "facts"},
                    h("dt", {}, self.t("playground.expires_at")),
                    h("dd", {"data-testid": "session-expires-at"}, "", ref="expires-at"),
                    h("dt", {}, self.t("playground.expires_in")),
                    h("dd", {"data-testid": "session-countdown", "aria-live": "off"}, "", ref="countdown"),
                    h("dt", {}, self.t("playground.refreshes")),
                    h("dd", {"data-testid": "refresh-count"}, "0", ref="refresh-count"),
                    h("dt", {}, self.t("playground.cookies")),
                    h("dd", {"data-testid": "cookies"}, "", ref="cookies"),
                ),
                self.timeline(),
                h(
                    "div",
                    {"class": "buttons", "role": "group", "aria-label": self.t("playground.calls")},
                    self.button("call-me", "GET me", lambda: self.app.call("GET", self.app.me_path)),
                    self.button("call-burst", self.t("playground.burst"), self.burst),
                    self.button("call-requests", self.t("playground.call_requests"), self.call_requests),
                    self.button(
                        "call-slow",
                        self.t("playground.slow", ms=timeout_ms + 2000),
                        lambda: self.app.call("GET", "slow", params={"ms": str(timeout_ms + 2000)}),
                    ),
                    h(
                        "button",
                        {"type": "button", "data-testid": "logout"},
                        self.t("logout"),
                        on={"click": lambda _e: self.app.sign_out()},
                    ),
                ),
                h(
                    "div",
                    {"class": "buttons", "role": "group", "aria-label": self.t("playground.statuses")},
                    *[self.status_button(code) for code in SEED_STATUSES],
                ),
                h("h2", {}, self.t("playground.requests")),
                h("ol", {"class": "log", "data-testid": "request-log", "aria-live": "polite"}, ref="log"),
            )
        ]

    def timeline(self) -> El:
        """The picture of the session: a track (decoration) and its text equivalent."""
        return h(
            "figure",
            {"class": "timeline", "data-testid": "session-timeline", "aria-labelledby": "timeline-title"},
            h("h2", {"id": "timeline-title"}, self.t("timeline.title")),
            h(
                "div",
                {"class": "timeline-track", "aria-hidden": "true"},
                h("div", {"class": "timeline-window"}, ref="tl-window"),
                h("div", {"class": "timeline-marks"}, ref="tl-marks"),
                h("div", {"class": "timeline-warn"}, ref="tl-warn"),
                h("div", {"class": "timeline-now"}, ref="tl-now"),
            ),
            h("p", {"class": "hint", "aria-hidden": "true"}, self.t("timeline.legend")),
            h("figcaption", {"data-testid": "session-timeline-text"}, ref="tl-text"),
        )

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
        await asyncio.gather(*(self.app.call("GET", self.app.me_path) for _ in range(10)))

    async def call_requests(self) -> None:
        """One ``GET me`` through ``requests``; its line goes to the request log like the others."""
        if self.app.demo:  # the API answers inside this page: no HTTP for requests to send
            self.log_request("GET", "me (requests)", self.t("playground.requests_needs_api"), False)
            self.app.toast(self.t("playground.requests_needs_api"))
            return
        if sys.implementation.name == "micropython":
            await self.call_requests_in_worker()
            return
        config = self.app.config
        if self._http is None:
            # Page only, and only now: installs requests + pyodide-http (micropip) on first use.
            from tokensession.browser.sync_http import requests_session

            self._http = await requests_session(
                config.api_base,
                refresh_window_seconds=config.refresh_window_seconds,
                timeout_ms=config.timeout_ms,
                refresh_cookie=config.refresh_cookie,
                source=self.app.api.source,  # the same kind of API as the page's own calls
            )
            self._http.auth.hooks.on_refresh.append(
                lambda _session: self.log_request("POST", "refresh_token (requests)", "200", True)
            )
        try:
            # Synchronous XHR: the page waits for the answer (fine for one button).
            me = self.app.me_path  # the provider's userinfo URL for the oidc kind
            url = me if me.startswith(("https://", "http://")) else self._http.auth.base + me
            resp = self._http.get(url, timeout=config.timeout_ms / 1000)
        except SessionExpired as exc:
            self.log_request("GET", "me (requests)", type(exc).__name__, False)
            self.app.on_wake()  # the cookies are gone: the app ends its session view too
            return
        except Exception as exc:  # requests' own errors (no answer): logged like the others
            self.log_request("GET", "me (requests)", type(exc).__name__, False)
            return
        self.log_request("GET", "me (requests)", str(resp.status_code), bool(resp.ok))

    async def call_requests_in_worker(self) -> None:
        """``GET me`` through ``requests`` in a Pyodide worker (this page's MicroPython has
        no ``requests``), started on the first click; the cookies it writes become the page's."""
        if self.app.api.check_expiry():  # R2/R3: an expired session ends here, the usual way
            self.log_request("GET", "me (requests)", "SessionExpired", False)
            return
        config = self.app.config
        try:
            if self._http is None:
                from tokensession.browser.requests_worker import RequestsWorker

                self._http = RequestsWorker(*REQUESTS_WORKER)
            result = await self._http.get(
                self.app.me_path,
                api_base=config.api_base,
                refresh_window_seconds=config.refresh_window_seconds,
                timeout_ms=config.timeout_ms,
                refresh_cookie=config.refresh_cookie,
                source=self.app.api.source,
            )
        except Exception as exc:  # the worker did not start (or died): logged like the others
            self.log_request("GET", "me (requests)", type(exc).__name__, False)
            raise
        for _ in range(result["refreshes"]):
            self.log_request("POST", "refresh_token (requests)", "200", True)
            if result["applied"]:
                self.app.adopt_refresh()
        status = result["status"]
        self.log_request("GET", "me (requests)", str(status) if status else str(result["error"]), bool(result["ok"]))
        self.app.on_wake()  # the session the worker ended (R3, R4) ends in the page too

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
        if expires:
            seconds = f"{max(0.0, (expires - now) / 1000):.1f}"
            screen.set_text("countdown", self.t("playground.seconds", seconds=seconds))
        else:  # no session (it may have ended a moment ago, between the view's ticks)
            screen.set_text("countdown", self.t("playground.no_session"))
        screen.set_text("refresh-count", str(info.get("refresh_count", 0)))
        cookies = "; ".join(f"{k}={_short(v)}" for k, v in info.get("cookies", {}).items())
        screen.set_text("cookies", cookies or self.t("playground.no_cookies"))
        self.update_timeline(now)

    def update_timeline(self, now: float) -> None:
        """One tick of the picture: attribute writes only (no reads, so no forced layout);
        the moving "now" is a transform, and the rest changes only when the token does."""
        app = self.app
        session = app.api.session()
        model = layout(
            now,
            session,
            window_ms=app.api.policy.refresh_window_ms,
            warn_lead_ms=app.api.policy.warning_lead_ms(session),
            refreshes_ms=app.refresh_times_ms,
        )
        self._draw("tl-now", f"transform: translateX({model.now * 100:.2f}%)" if model else "display: none")
        self._draw("tl-window", f"left: {model.window_from * 100:.2f}%" if model else "display: none")
        warn = model.warn_at if model else None
        self._draw("tl-warn", f"left: {warn * 100:.2f}%" if warn is not None else "display: none")
        self._draw("tl-marks", _marks_style(model.marks) if model and model.marks else None)
        app.screen.set_text("tl-text", self.timeline_text(model, now))

    def timeline_text(self, model: TimelineModel | None, now: float) -> str:
        if model is None:
            return self.t("timeline.none")
        app, t = self.app, self.t
        window_ms = app.api.policy.refresh_window_ms
        parts = [
            t("timeline.access", left=duration(model.left_ms, t), life=duration(model.life_ms, t)),
            t(
                "timeline.window_active" if model.left_ms <= window_ms else "timeline.window",
                window=duration(window_ms, t),
            ),
        ]
        if model.warn_at is not None:
            lead = app.api.policy.warning_lead_ms(app.api.session())
            parts.append(t("timeline.warning", lead=duration(lead, t)))
        parts.append(t("timeline.refreshes", count=app.refresh_count))
        refresh_at = app.api.refresh_expires_at_ms()
        if refresh_at is None:
            parts.append(t("timeline.refresh_token_unknown"))
        else:
            parts.append(t("timeline.refresh_token", left=duration(refresh_at - now, t)))
        return " ".join(parts)

    def _draw(self, ref: str, style: str | None) -> None:
        if self._drawn.get(ref, "") != style:
            self._drawn[ref] = style
            self.app.screen.set_attr(ref, "style", style)

    def log_request(self, method: str, path: str, outcome: str, ok: bool) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime())
        self.app.screen.append(
            "log", h("li", {"class": "good" if ok else "bad"}, f"{stamp} {method} {path} → {outcome}"), limit=200
        )


def _short(value: str) -> str:
    return value if len(value) <= 24 else value[:10] + "…" + value[-8:]


def _marks_style(marks: tuple[float, ...]) -> str:
    # All marks in one attribute (a gradient of 2 px stripes): no element per refresh.
    stops = ", ".join(
        f"transparent {m * 100:.2f}%, var(--ok) {m * 100:.2f}%, var(--ok) calc({m * 100:.2f}% + 2px), "
        f"transparent calc({m * 100:.2f}% + 2px)"
        for m in sorted(marks)
    )
    return f"background-image: linear-gradient(to right, {stops})"
