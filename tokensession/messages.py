"""Toast text (R5): the seed's Chinese for ``zh*`` locales, English otherwise::

    lang = lang_for(config.lang, navigator_language)      # "zh" or "en"
    gate = ToastGate(clock_ms)
    text = toast_text(error, lang)
    if gate.admit(text):
        show(text)

The texts are the table of R5 in the README ("Errors and toasts"), word for word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

from tokensession.errors import (
    ApiError,
    HttpStatusError,
    NetworkError,
    RefreshFailed,
    RequestTimeout,
    SessionExpired,
    SignInFailed,
)

Lang: TypeAlias = Literal["zh", "en"]

#: R5 (README, "Errors and toasts"): (zh, en) per status the seed named.
STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: ("错误请求", "Bad request"),
    401: ("登录失效", "Session expired, please sign in again"),
    403: ("拒绝访问", "Access denied"),
    404: ("请求错误,未找到该资源", "Not found: the requested resource does not exist"),
    405: ("请求方法未允许", "Method not allowed"),
    408: ("请求超时", "Request timed out"),
    500: ("服务器端出错", "Server error"),
    501: ("网络未实现", "Not implemented"),
    502: ("网络错误", "Bad gateway"),
    503: ("服务不可用", "Service unavailable"),
    504: ("网络超时", "Gateway timeout"),
    505: ("http版本不支持该请求", "HTTP version not supported"),
}
OTHER_STATUS = ("连接错误{status}", "Connection error {status}")
NO_RESPONSE = ("连接服务器失败", "Cannot reach the server")
CLIENT_TIMEOUT = ("请求超时", "Request timed out")
SESSION_EXPIRED = STATUS_TEXT[401]
#: Not in the seed (it had no OpenID sign-in): a sign-in at the provider that did not complete.
SIGN_IN_FAILED = ("登录未完成,请重试", "Sign-in did not complete, please try again")
#: Not R5 toasts: what the login view says for its own failures.
BAD_CREDENTIALS = ("用户名或密码错误", "Wrong username or password")
TOO_MANY_ATTEMPTS = ("尝试次数过多,请稍后再试", "Too many attempts, please try again later")
TOO_MANY_ATTEMPTS_WAIT = ("尝试次数过多,请{seconds}秒后再试", "Too many attempts, please try again in {seconds} s")


def lang_for(config_lang: str, navigator_language: str | None) -> Lang:
    """``"zh"`` or ``"en"``: the config's ``lang`` unless it is ``"auto"``, then the browser's.

    >>> lang_for("auto", "zh-CN"), lang_for("auto", "en-US"), lang_for("zh-TW", "en")
    ('zh', 'en', 'zh')
    """
    chosen = navigator_language if (config_lang or "auto").strip().lower() == "auto" else config_lang
    return "zh" if (chosen or "").strip().lower().startswith("zh") else "en"


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """One side of a ``(zh, en)`` pair."""
    return pair[0] if lang == "zh" else pair[1]


def status_text(status: int, lang: Lang) -> str:
    """R5 text for an error status.

    >>> status_text(404, "en"), status_text(418, "zh")
    ('Not found: the requested resource does not exist', '连接错误418')
    """
    return pick(STATUS_TEXT.get(status, OTHER_STATUS), lang).format(status=status)


def toast_text(error: BaseException, lang: Lang) -> str:
    """The one toast for ``error`` (R5).

    >>> toast_text(RequestTimeout("slow"), "zh")
    '请求超时'
    """
    if isinstance(error, RefreshFailed):
        if error.kind == "server" and error.response is not None:
            # A 2xx the client could not use (not JSON, no token, a nonsense lifetime)
            # is the server's fault: say so, not "Connection error 200".
            return status_text(error.response.status if error.response.status >= 400 else 500, lang)
        error = error.cause if error.cause is not None else NetworkError(str(error))
    if isinstance(error, SessionExpired):
        return pick(SESSION_EXPIRED, lang)
    if isinstance(error, SignInFailed):  # refused by the provider or by a check: not "cannot reach"
        return pick(SIGN_IN_FAILED, lang)
    if isinstance(error, RequestTimeout):
        return pick(CLIENT_TIMEOUT, lang)
    if isinstance(error, HttpStatusError):
        if error.status == 401 and error.response is not None and _lacks_scope(error):
            return status_text(403, lang)  # RFC 6750 insufficient_scope: a refusal, not a lost session
        return status_text(error.status, lang)
    # NetworkError, and anything unexpected: from the user's side nothing answered.
    return pick(NO_RESPONSE, lang)


def _lacks_scope(error: HttpStatusError) -> bool:
    from tokensession.policy import insufficient_scope  # the policy's reading of the header

    return error.response is not None and insufficient_scope(error.response.headers.get("www-authenticate"))


def login_error_text(error: BaseException, lang: Lang) -> str:
    """What the login form says when sign-in fails (401 and 429 have their own words)."""
    status = error.status if isinstance(error, HttpStatusError) else None
    if status == 401:
        return pick(BAD_CREDENTIALS, lang)
    if status == 429:
        retry = error.response.headers.get("retry-after", "") if isinstance(error, ApiError) and error.response else ""
        if retry.isdigit() and 0 < int(retry) < 86400:
            return pick(TOO_MANY_ATTEMPTS_WAIT, lang).format(seconds=int(retry))
        return pick(TOO_MANY_ATTEMPTS, lang)
    return toast_text(error, lang)


class ToastGate:
    """Lets a text through unless the same text was let through in the last ``window_ms``.

    >>> now = [0]
    >>> gate = ToastGate(lambda: now[0])
    >>> gate.admit("x"), gate.admit("x"), gate.admit("y")
    (True, False, True)
    >>> now[0] = 3000
    >>> gate.admit("x")
    True
    >>> now[0] = -60_000   # the clock jumped back a minute: not "shown 63 s from now"
    >>> gate.admit("x")
    True
    """

    def __init__(self, clock_ms: Callable[[], float], window_ms: int = 3000) -> None:
        self._clock_ms = clock_ms
        self._window_ms = window_ms
        self._shown: dict[str, float] = {}

    def admit(self, text: str) -> bool:
        now = self._clock_ms()
        # Forget old entries so a long-lived page does not grow this dict forever, and
        # entries from "the future": after the page's clock jumps back they would
        # otherwise hold their text back for as long as the jump.
        self._shown = {t: at for t, at in self._shown.items() if 0 <= now - at < self._window_ms}
        if text in self._shown:
            return False
        self._shown[text] = now
        return True
