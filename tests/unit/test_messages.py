"""R5: every seed status to its toast in both languages, and the 3-second deduplication."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.unit.conftest import FakeClock
from tokensession.errors import (
    ApiError,
    HttpStatusError,
    NetworkError,
    RefreshFailed,
    RequestTimeout,
    SessionExpired,
    UnauthorizedError,
)
from tokensession.http import Response
from tokensession.messages import ToastGate, lang_for, login_error_text, status_text, toast_text

# Contract section 6, R5, copied here by hand so a slip in the module's table shows.
SEED = [
    (400, "错误请求", "Bad request"),
    (401, "登录失效", "Session expired, please sign in again"),
    (403, "拒绝访问", "Access denied"),
    (404, "请求错误,未找到该资源", "Not found: the requested resource does not exist"),
    (405, "请求方法未允许", "Method not allowed"),
    (408, "请求超时", "Request timed out"),
    (500, "服务器端出错", "Server error"),
    (501, "网络未实现", "Not implemented"),
    (502, "网络错误", "Bad gateway"),
    (503, "服务不可用", "Service unavailable"),
    (504, "网络超时", "Gateway timeout"),
    (505, "http版本不支持该请求", "HTTP version not supported"),
]


@pytest.mark.parametrize(("status", "zh", "en"), SEED)
def test_every_seed_status_has_its_message_in_both_languages(status: int, zh: str, en: str) -> None:
    error = HttpStatusError(status)
    assert toast_text(error, "zh") == zh
    assert toast_text(error, "en") == en


@pytest.mark.parametrize("status", [402, 409, 418, 429, 599])
def test_any_other_status_is_a_connection_error_with_its_number(status: int) -> None:
    assert toast_text(HttpStatusError(status), "zh") == f"连接错误{status}"
    assert toast_text(HttpStatusError(status), "en") == f"Connection error {status}"


def test_no_response_and_client_timeout() -> None:
    assert toast_text(NetworkError("down"), "zh") == "连接服务器失败"
    assert toast_text(NetworkError("down"), "en") == "Cannot reach the server"
    assert toast_text(RequestTimeout("slow"), "zh") == "请求超时"
    assert toast_text(RequestTimeout("slow"), "en") == "Request timed out"
    assert toast_text(ValueError("anything else"), "en") == "Cannot reach the server"


def test_session_end_and_refresh_blips() -> None:
    assert toast_text(SessionExpired("expired"), "zh") == "登录失效"
    assert toast_text(SessionExpired("refresh_rejected"), "en") == "Session expired, please sign in again"
    assert toast_text(RefreshFailed("network", cause=NetworkError("x")), "en") == "Cannot reach the server"
    assert toast_text(RefreshFailed("timeout", cause=RequestTimeout("x")), "zh") == "请求超时"
    assert toast_text(RefreshFailed("server", response=Response(503)), "en") == "Service unavailable"
    assert toast_text(RefreshFailed("server"), "en") == "Cannot reach the server"


def test_login_form_words() -> None:
    assert login_error_text(UnauthorizedError(), "en") == "Wrong username or password"
    assert login_error_text(HttpStatusError(429), "zh") == "尝试次数过多,请稍后再试"
    limited = HttpStatusError(429, response=Response(429, {"retry-after": "42"}))
    assert login_error_text(limited, "en") == "Too many attempts, please try again in 42 s"
    assert login_error_text(limited, "zh") == "尝试次数过多,请42秒后再试"
    garbage = HttpStatusError(429, response=Response(429, {"retry-after": "soon"}))
    assert login_error_text(garbage, "en") == "Too many attempts, please try again later"
    assert login_error_text(NetworkError("x"), "en") == "Cannot reach the server"
    assert login_error_text(ApiError("odd"), "en") == "Cannot reach the server"


@pytest.mark.parametrize(
    ("config_lang", "navigator", "expected"),
    [
        ("auto", "zh-CN", "zh"),
        ("auto", "zh", "zh"),
        ("auto", "ZH-tw", "zh"),
        ("auto", "en-US", "en"),
        ("auto", "fr", "en"),
        ("auto", None, "en"),
        ("auto", "", "en"),
        ("AUTO", "zh-HK", "zh"),
        ("zh", "en-US", "zh"),
        ("zh-Hans", None, "zh"),
        ("en", "zh-CN", "en"),
        ("de", "zh-CN", "en"),  # only two languages: anything else is English
        ("", "zh-CN", "zh"),  # empty counts as auto
    ],
)
def test_lang_for(config_lang: str, navigator: str | None, expected: str) -> None:
    assert lang_for(config_lang, navigator) == expected


def test_status_text_formats_the_number() -> None:
    assert status_text(451, "en") == "Connection error 451"


def test_same_toast_within_three_seconds_is_shown_once() -> None:
    clock = FakeClock()
    gate = ToastGate(clock)
    assert gate.admit("Server error")
    clock.advance(2.999)
    assert not gate.admit("Server error")
    assert gate.admit("Access denied")  # another text is another toast
    clock.advance(0.001)  # 3 s after the first was shown
    assert gate.admit("Server error")
    assert not gate.admit("Server error")


def test_suppressed_toasts_do_not_extend_the_window() -> None:
    clock = FakeClock()
    gate = ToastGate(clock)
    assert gate.admit("x")
    for _ in range(5):
        clock.advance(0.5)
        assert not gate.admit("x")
    clock.advance(0.5)
    assert gate.admit("x")  # 3 s after it was *shown*, not after the last attempt


@pytest.mark.skipif(sys.implementation.name == "micropython", reason="reads the repository's README")
def test_the_wheels_readme_shows_the_same_r5_texts() -> None:
    # tokensession/README.md, "Errors and toasts": the table the docstrings point to.
    readme = (Path(__file__).resolve().parents[2] / "tokensession" / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Errors and toasts", 1)[1]
    rows = dict(
        (int(m.group(1)), (m.group(2), m.group(3)))
        for m in re.finditer(r"^\| (\d{3}) \| (.+?) \| (.+?) \|$", table, re.M)
    )
    assert rows == {status: (status_text(status, "zh"), status_text(status, "en")) for status in rows}
    assert len(rows) == 11  # every status row but 401, which names its case


@pytest.mark.parametrize("reason", ["provider", "state", "code", "id_token"])
def test_a_sign_in_at_a_provider_that_did_not_complete_says_so_not_cannot_reach(reason: str) -> None:
    from tokensession.errors import SignInFailed

    error = SignInFailed(reason, error="access_denied")  # type: ignore[arg-type]
    assert (toast_text(error, "en"), toast_text(error, "zh")) == (
        "Sign-in did not complete, please try again",
        "登录未完成,请重试",
    )
