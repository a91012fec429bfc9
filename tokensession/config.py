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
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit

from tokensession.cookies import REFRESH_COOKIE_MODES, RefreshCookie
from tokensession.sources import ContractSource, SimpleJwtSource, TokenSource

DemoApi: TypeAlias = bool | Literal["auto"]
AuthKind: TypeAlias = Literal["contract", "simplejwt", "oidc"]
#: The scope an OpenID sign-in asks for when ``auth`` names none (a refresh token needs ``offline_access``).
DEFAULT_OIDC_SCOPE = "openid offline_access"


@dataclass(frozen=True)
class AuthConfig:
    """``config.json`` ``"auth"``: which kind of API issues the tokens (README, "Any backend").

    >>> AuthConfig.from_json({"kind": "simplejwt", "tokenUrl": "https://a.test/t/", "refreshUrl": "https://a.test/r/"})
    (AuthConfig(kind='simplejwt', token_url='https://a.test/t/', refresh_url='https://a.test/r/', logout_url=None, \
issuer='', client_id='', scope='openid offline_access', auth_params=()), None)
    >>> AuthConfig.from_json({"kind": "oidc", "issuer": "https://id.test"})[1]
    'clientId must be a non-empty string'
    """

    kind: AuthKind = "contract"
    token_url: str = ""
    refresh_url: str = ""
    logout_url: str | None = None
    issuer: str = ""
    client_id: str = ""
    scope: str = DEFAULT_OIDC_SCOPE
    auth_params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> tuple[AuthConfig, str | None]:
        """The auth config in ``data``, or the default and what is wrong with it."""
        if not isinstance(data, dict) or data.get("kind") not in ("contract", "simplejwt", "oidc"):
            return cls(), 'must be an object whose "kind" is "contract", "simplejwt" or "oidc"'
        if data["kind"] == "contract":
            return cls(), None
        if data["kind"] == "simplejwt":
            urls = {key: data.get(key) for key in ("tokenUrl", "refreshUrl", "logoutUrl")}
            for key, url in urls.items():
                if (url is not None or key != "logoutUrl") and not _is_endpoint(url):
                    return cls(), f"{key} must be an http(s) URL or a path on this origin"
            return cls("simplejwt", str(urls["tokenUrl"]), str(urls["refreshUrl"]), urls["logoutUrl"]), None
        issuer, client_id, scope = data.get("issuer"), data.get("clientId"), data.get("scope", DEFAULT_OIDC_SCOPE)
        params = data.get("authParams", {})
        if not isinstance(issuer, str) or not _is_http_url(issuer):
            return cls(), "issuer must be an http(s) URL"
        if not isinstance(client_id, str) or not client_id.strip():
            return cls(), "clientId must be a non-empty string"
        if not isinstance(scope, str) or "openid" not in scope.split():
            return cls(), 'scope must be a string of scopes that includes "openid"'
        if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            return cls(), "authParams must be an object of strings"
        return cls(
            "oidc", issuer=issuer.strip(), client_id=client_id.strip(), scope=scope, auth_params=tuple(params.items())
        ), None

    def source(self, refresh_cookie: RefreshCookie = "js") -> TokenSource:
        """The token source of a kind known without asking a server (``oidc`` needs its provider's
        discovery document first: :func:`tokensession.oidc.source_for`)."""
        if self.kind == "simplejwt":
            return SimpleJwtSource(self.token_url, self.refresh_url, self.logout_url)
        if self.kind == "oidc":
            raise ValueError("an OpenID source is made from the provider's discovery document")
        return ContractSource(refresh_cookie)


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
    #: The kind of API that issues the tokens (README, "Any backend"); absent: this project's.
    auth: AuthConfig = AuthConfig()

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
            if isinstance(v, list) and len(v) <= 20 and all(isinstance(e, str) and _event_name(e) for e in v):
                cfg = replace(cfg, activity_events=tuple(dict.fromkeys(v)))
            else:
                bad("activityEvents", 'must be a list of DOM event names such as ["pointerdown", "keydown"]')
        if "refreshCookie" in data:
            v = data["refreshCookie"]
            if v in REFRESH_COOKIE_MODES:
                cfg = replace(cfg, refresh_cookie=v)
            else:
                bad("refreshCookie", 'must be "js" or "httponly"')
        if "auth" in data:
            auth, wrong = AuthConfig.from_json(data["auth"])
            if wrong is None:
                cfg = replace(cfg, auth=auth)
            else:
                bad("auth", wrong)
        return cfg._for_kind(problems)

    def _for_kind(self, problems: list[str]) -> tuple[Config, list[str]]:
        # Another kind of API than this project's: no demo of this project's API stands in for it,
        # and only this project's API keeps a refresh token in an HttpOnly cookie of its own.
        cfg = self
        if cfg.auth.kind != "contract" and cfg.demo_api is not False:
            problems.append(f'config.json: demoApi is for this project\'s API, not "{cfg.auth.kind}"; using false')
            cfg = replace(cfg, demo_api=False)
        if cfg.auth.kind != "contract" and cfg.refresh_cookie == "httponly":
            problems.append(
                f'config.json: refreshCookie "httponly" needs this project\'s API, not "{cfg.auth.kind}"; using "js"'
            )
            cfg = replace(cfg, refresh_cookie="js")
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

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_LOWER_OR_DIGIT = _LOWER | frozenset("0123456789")


def _event_name(text: str) -> bool:
    """A DOM event name as ``activityEvents`` takes them: a-z, then up to 31 of a-z or 0-9."""
    return 0 < len(text) <= 32 and text[0] in _LOWER and all(c in _LOWER_OR_DIGIT for c in text)


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
    "auth": "auth",
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


def _is_endpoint(v: object) -> bool:
    return isinstance(v, str) and (_is_http_url(v) or _is_same_origin_path(v))
