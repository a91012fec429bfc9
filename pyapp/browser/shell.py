"""Boot the app in the page: build the browser adapters and hand them to ``App``."""

from __future__ import annotations

import logging
from typing import Any

from js import Date, Object, document, history, location, navigator, window  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy, to_js  # type: ignore[import-not-found]
from pyscript import fetch  # type: ignore[import-not-found]

from pyapp import i18n
from pyapp.app import App
from pyapp.browser.channel import BroadcastTabChannel
from pyapp.browser.dom import DomDialog, DomFrame, DomScreen, LocalPreferences
from pyapp.browser.toasts import DomToasts
from pyapp.tabs import channel_name
from tokensession.browser.cookies import DocumentCookieJar, base_path, is_https
from tokensession.browser.fetch import FetchTransport
from tokensession.browser.locks import WebLock
from tokensession.client import ApiClient
from tokensession.config import Config

log = logging.getLogger("pyapp")


class BrowserLocation:
    """The ``Location`` seam over ``window.location`` and ``history``."""

    def get_hash(self) -> str:
        return str(location.hash)

    def replace(self, hash_: str) -> None:
        history.replaceState(history.state, "", hash_)

    def reload(self) -> None:
        location.reload()


async def load_config() -> tuple[Config, list[str]]:
    try:
        resp = await fetch("config.json", cache="no-cache")
        if not resp.ok:
            return Config(), [f"config.json answered {resp.status}; using defaults"]
        return Config.from_json(await resp.text())
    except Exception as exc:  # network failure: the app still routes
        return Config(), [f"config.json could not be loaded ({exc}); using defaults"]


def patch_http() -> None:
    """Make ``urllib``/``requests``-style code work in the page, against our origin."""
    try:
        import pyodide_http

        pyodide_http.patch_all()
    except ImportError as exc:  # the wheel is unpacked at boot; say so if it is missing
        log.error("pyodide-http unavailable: %s", exc)


def now_ms() -> float:
    return float(Date.now())


async def start() -> App:
    patch_http()
    config, problems = await load_config()
    jar = DocumentCookieJar()
    transport = FetchTransport(config.api_base)
    api = ApiClient(
        config,
        transport,
        jar,
        now_ms,
        lock=WebLock("pyapp-refresh"),
        cookie_path=base_path(),
        secure=is_https(),
        idle_warning_seconds=config.warn_before_seconds,
    )
    root = document.getElementById("app")
    prefs = LocalPreferences()
    app = App(
        config,
        DomScreen(root),
        BrowserLocation(),
        DomToasts(document.getElementById("toasts")),
        api,
        jar,
        transport,
        lang=i18n.choose_lang(prefs.get(i18n.PREFERENCE_KEY), config.lang, str(navigator.language or "")),
        clock_ms=now_ms,
        frame=DomFrame(),
        header=DomScreen(_header_slot()),
        prefs=prefs,
        channel=BroadcastTabChannel.open(channel_name(base_path())),
        dialog=DomDialog(_layer("dialogs", "dialog-layer")),
    )
    for problem in problems:
        window.console.warn(problem)
    if problems:
        app.toast(problems[0])
    _listen(window, "hashchange", lambda _e: app.render())
    _listen(document, "visibilitychange", lambda _e: app.on_wake())
    _listen(window, "focus", lambda _e: app.on_wake())
    _listen(window, "pageshow", lambda _e: app.on_wake())
    _listen(window, "online", lambda _e: app.on_online())
    _listen_for_activity(app, config.activity_events)
    app.start()
    app.spawn(app.watchdog())
    _reveal(root)
    return app


def _listen(target: Any, event: str, handler: Any) -> None:
    # Lives as long as the page: the proxy is never destroyed.
    target.addEventListener(event, create_proxy(handler))


def _listen_for_activity(app: App, events: tuple[str, ...]) -> None:
    # User input as activity, only when configured; passive, so scrolling is never held up.
    if not events:
        return
    handler = create_proxy(app.on_user_activity)
    options = to_js({"capture": True, "passive": True}, dict_converter=Object.fromEntries)
    for name in events:
        document.addEventListener(name, handler, options)


def _header_slot() -> Any:
    # The header's tools (the language switch) live in a slot Python adds to the static frame.
    slot = document.getElementById("header-tools")
    if not slot:  # getElementById answers JS null, which is falsy but not None
        slot = document.createElement("div")
        slot.id = "header-tools"
        slot.className = "header-tools"
        document.querySelector(".app-header").appendChild(slot)
    return slot


def _layer(id_: str, class_name: str) -> Any:
    # A hidden layer for dialogs, after the main content in the tab order.
    layer = document.getElementById(id_)
    if not layer:
        layer = document.createElement("div")
        layer.id, layer.className, layer.hidden = id_, class_name, True
        document.body.appendChild(layer)
    return layer


def _reveal(root: Any) -> None:
    boot = document.getElementById("boot")
    if boot is not None:
        boot.remove()
    root.hidden = False
    document.documentElement.dataset.appState = "ready"
