"""A real subset of the browser suite in Firefox ESR and WebKitGTK (issue 18), against serve.py.

Access tokens live 6 s and a request with <= 4 s left refreshes (tests/browser/conftest.py's
SERVER_ARGS). Chromium runs the whole suite; these are the paths every engine must keep.
"""

from __future__ import annotations

import pytest

from tests.browser.engines.drivers import EnginePage
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.browser

SESSION_EXPIRED = "Session expired, please sign in again"
TOASTS = "[...document.querySelectorAll('[data-testid=toast]')]"


def to_playground(page: EnginePage) -> None:
    page.go("#/playground")
    page.wait_route("login")
    page.sign_in()
    page.wait_route("playground")


def test_boot_is_ready_and_says_how_the_runtime_started(engine: EnginePage) -> None:
    html = engine.eval(
        "({state: document.documentElement.dataset.appState, boot: document.documentElement.dataset.pyodideBoot,"
        " lang: document.documentElement.lang})"
    )
    assert html["state"] == "ready"
    assert html["boot"] in ("snapshot", "plain")
    assert html["lang"] == "en"
    assert engine.route() == "login"


def test_sign_in_with_the_keyboard_lands_on_the_kept_route(ff_wk: EnginePage) -> None:
    ff_wk.go("#/playground")
    ff_wk.wait_route("login")
    assert ff_wk.eval("location.hash") == "#/login?redirect=%2Fplayground"
    ff_wk.sign_in()
    ff_wk.wait_route("playground")
    assert ff_wk.eval("location.hash") == "#/playground"
    assert ff_wk.eval(f"{TOASTS}.length") == 0


def test_wrong_password_shows_an_alert_and_stays_on_login(ff_wk: EnginePage) -> None:
    ff_wk.sign_in("demo", "wrong")
    ff_wk.wait_for(
        "[...document.querySelectorAll('[role=alert]')].some(t => t.textContent.includes('Wrong username or password'))",
        "the wrong-password alert",
    )
    assert ff_wk.route() == "login"


def test_R1_a_call_inside_the_window_refreshes_once(ff_wk: EnginePage) -> None:
    to_playground(ff_wk)
    assert ff_wk.text("refresh-count") == "0"
    ff_wk.wait_for(
        "Number((document.cookie.match(/utilTime=(\\d+)/) || [0, 0])[1]) - Date.now() < 3500", "the refresh window"
    )
    ff_wk.click("call-me")
    ff_wk.wait_for("document.querySelector('[data-testid=refresh-count]').textContent === '1'", "one refresh")
    ff_wk.wait_for(
        "document.querySelector('[data-testid=request-log]').textContent.includes('GET me → 200')", "GET me → 200"
    )
    assert ff_wk.eval("location.hash") == "#/playground"
    assert ff_wk.eval(f"{TOASTS}.length") == 0


def test_R2_idle_to_expiry_ends_the_session_with_a_toast(ff_wk: EnginePage) -> None:
    to_playground(ff_wk)
    # Nothing is done: at utilTime (6 s) the session ends by itself.
    ff_wk.wait_for(
        f"{TOASTS}.some(t => t.getAttribute('role') === 'alert' && t.textContent.includes({SESSION_EXPIRED!r}))",
        "the session-expired toast",
    )
    ff_wk.wait_route("login")
    assert ff_wk.eval("location.hash") == "#/login?redirect=%2Fplayground"
    assert "access_token" not in ff_wk.eval("document.cookie")


def test_lang_switch_changes_html_lang_and_the_texts(ff_wk: EnginePage) -> None:
    ff_wk.click("lang-switch")
    try:
        ff_wk.wait_for("document.documentElement.lang === 'zh-CN'", "<html lang=zh-CN>")
        assert ff_wk.text("login-submit").strip() == "登录"
        assert ff_wk.text("lang-switch").strip() == "English"
        assert ff_wk.eval("document.title") == "登录 · PyAuth"
    finally:
        ff_wk.eval("localStorage.removeItem('pyauth.lang')")
        if ff_wk.eval("document.documentElement.lang") != "en":
            ff_wk.click("lang-switch")
        ff_wk.wait_for("document.documentElement.lang === 'en'", "<html lang=en> again")
    assert ff_wk.text("login-submit").strip() == "Sign in"


def test_R7_signing_out_in_one_tab_signs_out_the_other(ff_wk: EnginePage, engine_server: ServerProcess) -> None:
    second = ff_wk.new_tab()
    try:
        ff_wk.tab = second
        ff_wk.boot(engine_server.url + "#/login")  # booted first: a boot takes seconds, tokens live 6 s
        ff_wk.tab = 0
        ff_wk.go("#/")
        ff_wk.sign_in()
        ff_wk.wait_route("home")
        ff_wk.tab = second
        ff_wk.go("#/playground")  # the same cookies: signed in here too
        ff_wk.wait_route("playground")
        ff_wk.tab = 0
        ff_wk.click("logout")
        ff_wk.wait_route("login")
        ff_wk.tab = second
        ff_wk.wait_route("login", timeout_s=5)
        assert ff_wk.eval("location.hash") == "#/login?redirect=%2Fplayground"
    finally:
        ff_wk.close_tab(second)
        ff_wk.tab = 0
