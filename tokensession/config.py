"""Client config: ``config.json`` next to ``index.html`` (the keys: README, "Config keys").

    cfg, problems = Config.from_json('{"timeoutMs": 5000}')
    assert cfg.timeout_ms == 5000 and problems == []

``apiBase`` is a path on the page's origin, unless the file also says
``"crossOriginApi": true``: then an ``http(s)://host[:port]/path`` URL is taken
too (that API must allow the page's origin with CORS, and the page's
Content-Security-Policy must list it in ``connect-src``).

A bad file never stops the app: each bad field falls back to its default and
is reported in ``problems`` (the shell logs them and shows one toast).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from tokensession.cookies import REFRESH_COOKIE_MODES, RefreshCookie

DemoApi = bool | Literal["auto"]


@dataclass(frozen=True)
class Config:
    api_base: str = "api/v1"
    refresh_window_seconds: float = 1800
    timeout_ms: int = 10000
    lang: str = "auto"
    #: ``"auto"``: the in-page demo API when nothing answers ``GET info`` at ``api_base``;
    #: ``True``/``False`` force it. Off unless asked for: a page never swaps a real API for a
    #: demo that accepts ``demo`` / ``demo`` because its config said nothing.
    demo_api: DemoApi = False
    #: The idle warning shows ``min(warn_before_seconds, expires_in / 2)`` before ``utilTime``; 0: off.
    warn_before_seconds: float = 60
    #: DOM events that count as activity besides API calls (e.g. ``("pointerdown", "keydown")``).
    activity_events: tuple[str, ...] = ()
    #: Where the refresh token lives (README, "HttpOnly refresh mode"): ``"js"`` (a cookie the page
    #: reads, the default) or ``"httponly"`` (the API's own cookie, which page scripts never see).
    refresh_cookie: RefreshCookie = "js"

    @classmethod
    def from_json(cls, text: str) -> tuple[Config, list[str]]:
        """Parse ``config.json`` text; returns the config and what was wrong with it."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            return cls(), [f"config.json is not valid JSON ({exc}); using defaults"]
        if not isinstance(data, dict):
            return cls(), ["config.json must hold a JSON object; using defaults"]
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> tuple[Config, list[str]]:
        cfg, problems = cls(), []

        def bad(key: str, why: str) -> None:
            problems.append(f"config.json: {key} {why}; using {getattr(cls(), FIELDS[key])!r}")

        if "apiBase" in data:
            v = data["apiBase"]
            if isinstance(v, str) and _is_same_origin_path(v):
                cfg = replace(cfg, api_base=v.strip("/") or ".")
            elif isinstance(v, str) and data.get("crossOriginApi") is True and _is_http_url(v):
                # Opted in: an API on another origin (it must allow ours, CORS; the CSP must list it).
                cfg = replace(cfg, api_base=v.strip().rstrip("/"))
            else:
                why = "must be a path on this origin (no scheme, no //host)"
                bad("apiBase", why + ', or an http(s) URL with "crossOriginApi": true')
        if "refreshWindowSeconds" in data:
            v = data["refreshWindowSeconds"]
            if _is_number(v) and v >= 0:
                cfg = replace(cfg, refresh_window_seconds=float(v))
            else:
                bad("refreshWindowSeconds", "must be a number >= 0")
        if "timeoutMs" in data:
            v = data["timeoutMs"]
            if _is_number(v) and v == int(v) and 0 < v <= MAX_TIMEOUT_MS:
                cfg = replace(cfg, timeout_ms=int(v))
            else:
                bad("timeoutMs", f"must be a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS}")
        if "lang" in data:
            v = data["lang"]
            if isinstance(v, str) and v.strip():
                cfg = replace(cfg, lang=v.strip())
            else:
                bad("lang", 'must be "auto" or a language tag')
        if "demoApi" in data:
            v = data["demoApi"]
            if v is True or v is False or v == "auto":
                cfg = replace(cfg, demo_api=v)
            else:
                bad("demoApi", 'must be true, false or "auto"')
        if "warnBeforeSeconds" in data:
            v = data["warnBeforeSeconds"]
            if _is_number(v) and v >= 0:
                cfg = replace(cfg, warn_before_seconds=float(v))
            else:
                bad("warnBeforeSeconds", "must be a number >= 0 (0 turns the warning off)")
        if "activityEvents" in data:
            v = data["activityEvents"]
            if isinstance(v, list) and len(v) <= 20 and all(isinstance(e, str) and _EVENT.fullmatch(e) for e in v):
                cfg = replace(cfg, activity_events=tuple(dict.fromkeys(v)))
            else:
                bad("activityEvents", 'must be a list of DOM event names such as ["pointerdown", "keydown"]')
        if "refreshCookie" in data:
            v = data["refreshCookie"]
            if v in REFRESH_COOKIE_MODES:
                cfg = replace(cfg, refresh_cookie=v)
            else:
                bad("refreshCookie", 'must be "js" or "httponly"')
        return cfg, problems

    def for_api_in_page(self) -> tuple[Config, str | None]:
        """The config to run with when the API answers inside the page (a demo API), and why it
        changed: the HttpOnly refresh mode falls back to ``"js"`` (:data:`NO_HTTPONLY_IN_PAGE`),
        since no server stands behind the page to keep a cookie that scripts cannot read.

        >>> Config(refresh_cookie="httponly").for_api_in_page()[0].refresh_cookie
        'js'
        >>> Config().for_api_in_page() == (Config(), None)
        True
        """
        if self.refresh_cookie == "httponly":
            return replace(self, refresh_cookie="js"), NO_HTTPONLY_IN_PAGE
        return self, None


#: Why the HttpOnly refresh mode falls back to ``"js"`` when the API runs in the page.
NO_HTTPONLY_IN_PAGE = (
    'config.json: refreshCookie "httponly" needs a server: an API inside the page (the demo API) '
    "cannot set an HttpOnly cookie (page scripts can only set cookies they can read), so the refresh "
    'token stays in a script-readable cookie ("js")'
)

#: The longest ``timeoutMs`` taken (10 minutes): a longer wait is a hung page, not a slow API,
#: and the browser's ``AbortSignal.timeout`` refuses delays past its own limit.
MAX_TIMEOUT_MS = 600_000

_EVENT = re.compile(r"[a-z][a-z0-9]{0,31}")
#: ``config.json`` key -> :class:`Config` field.
FIELDS = {
    "apiBase": "api_base",
    "refreshWindowSeconds": "refresh_window_seconds",
    "timeoutMs": "timeout_ms",
    "lang": "lang",
    "demoApi": "demo_api",
    "warnBeforeSeconds": "warn_before_seconds",
    "activityEvents": "activity_events",
    "refreshCookie": "refresh_cookie",
}


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_http_url(v: str) -> bool:
    # http(s)://host[:port]/path and nothing else: no credentials, query, fragment or odd characters.
    s = v.strip()
    if not s.isprintable() or any(c in s for c in " \\"):
        return False
    try:
        parts = urlsplit(s)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and not parts.query
        and not parts.fragment
        and "?" not in s
        and "#" not in s
    )


def _is_same_origin_path(v: str) -> bool:
    # Every request the page makes goes to the origin that served it.
    s = v.strip()
    return bool(s) and ":" not in s and not s.startswith("//") and "\\" not in s and s.isprintable()
