"""Firefox ESR and WebKitGTK, one small interface for both (tests/browser/engines).

Playwright cannot drive a stock Firefox or WebKitGTK, so each engine has its own driver:

- Firefox ESR: npm ``puppeteer-core`` over WebDriver BiDi (Debian has no geckodriver), in a Node
  process (``firefox_driver.mjs``) that this module talks to in JSON lines;
- WebKitGTK: Selenium's ``webdriver.WebKitGTK`` with Debian's ``WebKitWebDriver`` and
  ``MiniBrowser --automation``, on an Xvfb display started here.

Both evaluate JavaScript expressions in the page, type with the keyboard and open a second tab;
waits poll a condition in the page (never a fixed sleep) with a generous hang guard.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import ROOT

HERE = Path(__file__).resolve().parent
BOOT_TIMEOUT_S = 120
WAIT_TIMEOUT_S = 60  # a hang guard: a loaded machine boots and answers slowly
#: Hang guard for one driver command (a boot is polled, so no single command lasts long).
COMMAND_TIMEOUT_S = 120


#: When each toast appeared (``window.__toastTimes``, ``performance.now()``), once per document.
WATCH_TOASTS_JS = """(window.__toastTimes || (window.__toastTimes = [],
  new MutationObserver(() => window.__toastTimes.push(performance.now()))
    .observe(document.getElementById('toasts'), {childList: true})), null)"""


def found_browsers() -> dict[str, str]:
    """What scripts/find-browsers.sh found: ``{"firefox": path, "webkit-driver": ..., ...}``."""
    out = subprocess.run([str(ROOT / "scripts" / "find-browsers.sh")], capture_output=True, text=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


class EnginePage:
    """One browser with tabs; ``tab`` selects which one later calls act in."""

    name = ""
    version = ""

    def __init__(self) -> None:
        self.tab = 0
        self.first_visit: dict[str, Any] = {}  # set by the engines' conftest

    # What each driver provides.
    def eval(self, js: str) -> Any:
        """The value of the JavaScript expression ``js`` in the current tab."""
        raise NotImplementedError

    def run(self, script: str) -> None:
        """Run the JavaScript statements ``script`` in the current tab (a page's own CSP aside)."""
        raise NotImplementedError

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def type_into(self, selector: str, text: str, enter: bool = False) -> None:
        """Type ``text`` with the keyboard into the element the CSS ``selector`` finds; then Enter."""
        raise NotImplementedError

    def click_on(self, selector: str) -> None:
        """Click the element the CSS ``selector`` finds (a page of another site: no test ids)."""
        raise NotImplementedError

    def cookies(self) -> list[dict[str, Any]]:
        """The cookies the browser would send to the current page: ``name``, ``value``, ``path``,
        ``sameSite`` (``Strict``, ``Lax``, ``None``), ``secure``, ``httpOnly``."""
        raise NotImplementedError

    def press_enter(self) -> None:
        """Enter on whatever has the focus."""
        raise NotImplementedError

    def new_tab(self) -> int:
        raise NotImplementedError

    def close_tab(self, tab: int) -> None:
        raise NotImplementedError

    def clear_cookies(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # Shared.
    def type(self, testid: str, text: str, enter: bool = False) -> None:
        """Type ``text`` with the keyboard into the element ``data-testid=testid``; then Enter."""
        self.type_into(f"[data-testid={testid}]", text, enter)

    def click(self, testid: str) -> None:
        self.click_on(f"[data-testid={testid}]")

    def wait_for(self, js: str, what: str, timeout_s: float = WAIT_TIMEOUT_S, *, navigating: bool = False) -> Any:
        """Poll the expression ``js`` until it is truthy; its value, or fail after ``timeout_s``.
        ``navigating``: the tab may be between two documents meanwhile (a redirect to another
        site and back), so a poll that finds no document to evaluate in counts as not yet."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = self.eval(js)
            except Exception:  # the drivers' errors differ: puppeteer's in RuntimeError, Selenium's own
                if not navigating:
                    raise
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name}: timed out after {timeout_s} s waiting for {what} ({js})")
            time.sleep(0.05)  # the poll's interval, not a synchronisation

    def boot(self, url: str) -> None:
        self.goto(url)
        self.wait_ready()

    def wait_ready(self, navigating: bool = False) -> None:
        """Until the page is the app, booted (``navigating``: coming back from another site)."""
        self.wait_for(
            "document.documentElement.dataset.appState === 'ready'",
            "the app to boot",
            BOOT_TIMEOUT_S,
            navigating=navigating,
        )

    def requests_to(self, path: str) -> int:
        """How many requests whose URL contains ``path`` this document has seen answered (Resource
        Timing: the same in every engine; Playwright's request events exist only in Chromium)."""
        return int(
            self.eval(
                f"performance.getEntriesByType('resource').filter(r => r.name.includes({json.dumps(path)})).length"
            )
        )

    def cookie_names(self) -> set[str]:
        return {c["name"] for c in self.cookies()}

    def route(self) -> str:
        return str(self.eval("document.querySelector('[data-testid=route-view]')?.dataset.route || ''"))

    def wait_route(self, route: str, timeout_s: float = WAIT_TIMEOUT_S) -> None:
        self.wait_for(
            f"document.querySelector('[data-testid=route-view]')?.dataset.route === {json.dumps(route)}",
            f"route {route}",
            timeout_s,
        )

    def go(self, hash_: str) -> None:
        """Navigate inside the booted app (no reload), like a click on a link."""
        self.eval(f"(location.hash = {json.dumps(hash_)}, null)")

    def clear_toasts(self) -> None:
        """Remove the toasts shown, and from now on note when each new one appears."""
        self.eval(WATCH_TOASTS_JS)
        self.eval("(document.getElementById('toasts').replaceChildren(), null)")

    def settle_toasts(self) -> None:
        """Clear the toasts and wait until none seen can still hold back a new one as a duplicate
        (R5: the same text within 3 s is not shown again)."""
        self.clear_toasts()
        self.wait_for(
            "(t => !t.length || performance.now() - t[t.length - 1] > 3100)(window.__toastTimes)",
            "the 3 s in which a toast's text is not shown again",
        )

    def text(self, testid: str) -> str:
        return str(self.eval(f"document.querySelector('[data-testid={testid}]')?.textContent ?? ''"))

    def sign_in(self, username: str = "demo", password: str = "demo") -> None:
        """The keyboard path: type both fields, Enter in the password field."""
        self.type("login-username", username)
        self.type("login-password", password, enter=True)


class Firefox(EnginePage):
    name = "firefox"

    def __init__(self, executable: str) -> None:
        super().__init__()
        self.proc = subprocess.Popen(
            ["node", str(HERE / "firefox_driver.mjs")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "FIREFOX": executable},
        )
        self.seq = 0
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        hello = self._read()
        self.version = str(hello.get("version", "")).removeprefix("firefox/")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def _read(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=COMMAND_TIMEOUT_S)
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError(f"firefox_driver.mjs did not answer within {COMMAND_TIMEOUT_S} s") from None
        if not line:
            raise RuntimeError(f"firefox_driver.mjs ended (exit {self.proc.poll()})")
        return dict(json.loads(line))

    def _call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None
        self.seq += 1
        self.proc.stdin.write(json.dumps({"id": self.seq, "op": op, "tab": self.tab, **args}) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"firefox {op}: {answer['error']}")
        return answer["value"]

    def eval(self, js: str) -> Any:
        return self._call("eval", js=js)

    def run(self, script: str) -> None:
        self._call("eval", js=script + "\n;null")

    def goto(self, url: str) -> None:
        self._call("goto", url=url)

    def type_into(self, selector: str, text: str, enter: bool = False) -> None:
        self._call("type", selector=selector, text=text)
        if enter:
            self._call("press", key="Enter")

    def click_on(self, selector: str) -> None:
        self._call("click", selector=selector)

    def cookies(self) -> list[dict[str, Any]]:
        return list(self._call("cookies"))

    def press_enter(self) -> None:
        self._call("press", key="Enter")

    def new_tab(self) -> int:
        return int(self._call("newTab"))

    def close_tab(self, tab: int) -> None:
        current, self.tab = self.tab, tab
        self._call("closeTab")
        self.tab = 0 if current == tab else current

    def clear_cookies(self) -> None:
        self._call("clearCookies")

    def console(self) -> list[str]:
        return list(self._call("console"))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError, ValueError):  # it exits without an answer
            self._call("close")
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_xvfb(xvfb: str) -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb on the first display number no other X server holds, once its socket is there.
    (``-displayfd`` failed here once: "Cannot write display number to fd 17".)"""
    for number in range(90, 190):
        if os.path.exists(f"/tmp/.X{number}-lock") or os.path.exists(f"/tmp/.X11-unix/X{number}"):
            continue
        proc = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "1280x900x24", "-nolisten", "tcp"])
        deadline = time.monotonic() + 30  # a hang guard only
        while proc.poll() is None and time.monotonic() < deadline:
            if os.path.exists(f"/tmp/.X11-unix/X{number}"):
                return proc, str(number)
            time.sleep(0.05)
        proc.kill()
        proc.wait(10)
    pytest.fail("Xvfb did not start on any display from :90 to :189")


class WebKit(EnginePage):
    name = "webkit"

    def __init__(self, driver_path: str, minibrowser: str, xvfb: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        super().__init__()
        self.xvfb, display = start_xvfb(xvfb)
        options = Options()
        options.binary_location = minibrowser
        options.add_argument("--automation")
        env = {**os.environ, "DISPLAY": f":{display}", "LANG": "en_US.UTF-8", "LANGUAGE": "en_US"}
        self.driver = webdriver.WebKitGTK(options=options, service=Service(executable_path=driver_path, env=env))
        self.driver.set_page_load_timeout(COMMAND_TIMEOUT_S)
        self.driver.set_script_timeout(COMMAND_TIMEOUT_S)
        self.version = str(self.driver.capabilities.get("browserVersion", ""))
        self.handles = [self.driver.current_window_handle]

    def _switch(self) -> None:
        if self.driver.current_window_handle != self.handles[self.tab]:
            self.driver.switch_to.window(self.handles[self.tab])

    def eval(self, js: str) -> Any:
        self._switch()
        return self.driver.execute_script(f"return ({js});")

    def run(self, script: str) -> None:
        self._switch()
        self.driver.execute_script(script)

    def goto(self, url: str) -> None:
        self._switch()
        self.driver.get(url)

    def _element(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        self._switch()
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def type_into(self, selector: str, text: str, enter: bool = False) -> None:
        from selenium.webdriver.common.keys import Keys

        # WebKitWebDriver: a bare "\n" does not submit, Keys.ENTER does.
        self._element(selector).send_keys(text + (Keys.ENTER if enter else ""))

    def click_on(self, selector: str) -> None:
        self._element(selector).click()

    def cookies(self) -> list[dict[str, Any]]:
        self._switch()
        keys = ("name", "value", "path", "sameSite", "secure", "httpOnly")
        return [{k: c.get(k) for k in keys} for c in self.driver.get_cookies()]

    def press_enter(self) -> None:
        from selenium.webdriver.common.keys import Keys

        self._switch()
        self.driver.switch_to.active_element.send_keys(Keys.ENTER)

    def new_tab(self) -> int:
        self._switch()
        self.driver.switch_to.new_window("tab")
        self.handles.append(self.driver.current_window_handle)
        return len(self.handles) - 1

    def close_tab(self, tab: int) -> None:
        current, self.tab = self.tab, tab
        self._switch()
        self.driver.close()
        self.tab = 0 if current == tab else current
        self.driver.switch_to.window(self.handles[self.tab])

    def clear_cookies(self) -> None:
        self._switch()
        self.driver.delete_all_cookies()

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self.xvfb.terminate()
            self.xvfb.wait(10)


def launch(engine: str) -> EnginePage:
    """The engine's browser, or a skip that says what is missing."""
    found = found_browsers()
    if engine == "firefox":
        if "firefox" not in found or shutil.which("node") is None:
            pytest.skip("Firefox ESR or Node.js missing: see scripts/find-browsers.sh")
        if not (ROOT / "node_modules" / "puppeteer-core").is_dir():
            pytest.skip("npm puppeteer-core missing: run scripts/setup.sh test")
        return Firefox(found["firefox"])
    if not {"webkit-driver", "minibrowser", "xvfb"} <= found.keys():
        pytest.skip("WebKitGTK or Xvfb missing: see scripts/find-browsers.sh")
    return WebKit(found["webkit-driver"], found["minibrowser"], found["xvfb"])
