"""Boot the app in the page: build the browser adapters and hand them to ``App``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from js import MutationObserver, document, history, location, navigator, window  # type: ignore[import-not-found]
from pyscript.ffi import create_proxy, to_js  # type: ignore[import-not-found]

from authapi.inpage import DEMO_BANNER, in_page_demo
from pyapp import i18n
from pyapp.app import App
from pyapp.browser.channel import BroadcastTabChannel
from pyapp.browser.dom import DomDialog, DomFrame, DomScreen, LocalPreferences
from pyapp.browser.toasts import DomToasts
from pyapp.tabs import channel_name
from tokensession.browser.cookies import base_path
from tokensession.browser.page import now_ms, page_client
from tokensession.messages import Lang, pick

log = logging.getLogger("pyapp")


class BrowserLocation:
    """The ``Location`` seam over ``window.location`` and ``history``."""

    def get_hash(self) -> str:
        return str(location.hash)

    def replace(self, hash_: str) -> None:
        history.replaceState(history.state, "", hash_)

    def reload(self) -> None:
        location.reload()


async def start() -> App:
    # config.json, then fetch or the in-page demo API (decided once, here); the lock
    # name is the app's own: tabs of one app must agree on it.
    page = await page_client(lock_name="pyapp-refresh", transport=in_page_demo())
    config, problems = page.config, page.problems
    root = document.getElementById("app")
    prefs = LocalPreferences()
    app = App(
        config,
        DomScreen(root),
        BrowserLocation(),
        DomToasts(document.getElementById("toasts")),
        page.api,
        page.jar,
        page.transport,  # GET info goes to the same API as the client's calls
        lang=i18n.choose_lang(prefs.get(i18n.PREFERENCE_KEY), config.lang, str(navigator.language or "")),
        clock_ms=now_ms,
        frame=DomFrame(),
        header=DomScreen(_header_slot()),
        prefs=prefs,
        channel=BroadcastTabChannel.open(channel_name(base_path())),
        dialog=DomDialog(_layer("dialogs", "dialog-layer")),
        provider=page.oidc,
        demo=page.demo,
    )
    if page.demo:
        show_demo_banner(app.lang)
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
    # Back from an OpenID provider: signed in (or not) and on the kept route before the first
    # render, so that "ready" means the landing route is shown.
    await app.finish_provider_sign_in()
    app.start()
    app.spawn(app.watchdog())
    handover = _adopt_preboot_login(root)
    _reveal(root)
    handover()  # focus (only once visible) and a submit pressed before Python was up
    return app


def show_demo_banner(lang: Lang) -> None:
    """Say, above the app, that the API runs in the page (shown only while the demo API serves).

    The text follows ``<html lang>`` when the page's language is switched later.
    """
    if document.getElementById("demo-banner"):
        return
    banner = document.createElement("p")
    banner.id = "demo-banner"
    banner.className = "demo-banner"
    banner.setAttribute("data-testid", "demo-banner")
    banner.setAttribute("role", "note")

    def say(in_lang: Lang) -> None:
        banner.lang = "zh-CN" if in_lang == "zh" else "en"
        banner.textContent = pick(DEMO_BANNER, in_lang)

    def on_lang_change(_records: Any, _observer: Any) -> None:
        say("zh" if str(document.documentElement.lang or "").lower().startswith("zh") else "en")

    say(lang)
    document.getElementById("main").before(banner)
    # Lives as long as the page, like the banner: the proxy is never destroyed.
    MutationObserver.new(create_proxy(on_lang_change)).observe(
        document.documentElement, to_js({"attributeFilter": ["lang"]})
    )


def _listen(target: Any, event: str, handler: Any) -> None:
    # Lives as long as the page: the proxy is never destroyed.
    target.addEventListener(event, create_proxy(handler))


def _listen_for_activity(app: App, events: tuple[str, ...]) -> None:
    # User input as activity, only when configured; passive, so scrolling is never held up.
    if not events:
        return
    handler = create_proxy(app.on_user_activity)
    options = to_js({"capture": True, "passive": True})  # pyscript.ffi: a plain JS object
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


def _adopt_preboot_login(root: Any) -> Callable[[], None]:
    """Take over index.html's sign-in form (typed into while Python booted), then remove it.

    The values move into the login view's form, if the app shows one; the pre-boot form goes
    either way, before ``ready``, so the contract's test ids are never in the page twice.
    Returns what is left for once the view is visible (a hidden element takes no focus): move
    the focus and caret to the field the person was typing in, and send a submit pressed
    before boot (boot.js marks it ``data-pending="submit"``).
    Usage: ``after = _adopt_preboot_login(root); _reveal(root); after()``.
    """
    preboot = document.getElementById("preboot")
    if not preboot:  # a JS null is falsy
        return lambda: None
    old = document.getElementById("preboot-login")
    form = root.querySelector('form[data-testid="login-form"]')
    focus: tuple[Any, int, int] | None = None
    submit = False
    if old and form:
        active = document.activeElement
        active_id = str(active.id) if active else ""
        for name in ("username", "password"):
            src, dst = old.elements.namedItem(name), form.elements.namedItem(name)
            if not src or not dst:
                continue
            if src.value:
                dst.value = src.value
            if active_id == str(src.id):
                focus = (dst, int(src.selectionStart or 0), int(src.selectionEnd or 0))
        submit = old.getAttribute("data-pending") == "submit"
    preboot.remove()

    def after() -> None:
        if focus is not None:
            field, start, end = focus
            field.focus()
            field.setSelectionRange(start, end)
        if submit:
            form.requestSubmit()  # through the view's own handler: checks, busy state, errors

    return after


def _reveal(root: Any) -> None:
    boot = document.getElementById("boot")
    if boot is not None:
        boot.remove()
    root.hidden = False
    document.documentElement.dataset.appState = "ready"
