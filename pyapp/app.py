"""The app controller: routes, views, and what the session does to them.

Pure Python over the seams of ``pyapp.screen`` and an :class:`ApiClient`, so
CPython tests drive it with fakes and the in-memory transport;
``pyapp.browser.shell`` builds the real adapters and calls :meth:`start`.

    app = App(config, screen, location, toasts, api, jar, transport, lang="en", clock_ms=now)
    app.start()              # ends a stale session, renders the current hash
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias
from urllib.parse import urlencode

from pyapp import i18n, router
from pyapp.idle import IdleWarning
from pyapp.screen import Dialog, Frame, Location, Preferences, Provider, Screen, Toasts
from pyapp.tabs import Channel, Message
from pyapp.ui import El, h
from pyapp.views import ErrorView, View
from pyapp.views.home import HomeView
from pyapp.views.login import LoginView
from pyapp.views.playground import PlaygroundView
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.cookies import CookieJar, parse_cookie_header
from tokensession.errors import ApiError, EndReason, HttpStatusError
from tokensession.http import Request
from tokensession.messages import (
    SESSION_EXPIRED,
    SIGN_IN_FAILED,
    Lang,
    ToastGate,
    login_error_text,
    pick,
    toast_text,
)
from tokensession.transport import Transport

log = logging.getLogger("pyapp")

#: At most one look per this many ms however fast the configured activity events fire.
ACTIVITY_THROTTLE_MS = 1000
# When to look at the cookies again after another tab's message that they do not reflect yet.
COOKIE_CATCH_UP_S = (0.02, 0.05, 0.1, 0.2, 0.4)
#: Session endings the user did not ask for: they get the "session expired" toast.
UNASKED_ENDINGS = frozenset({"expired", "unauthorized", "refresh_rejected"})

RequestListener: TypeAlias = Callable[[str, str, str, bool], None]
#: The view of each route name; anything else is the not-found view.
VIEWS: dict[str, type[View]] = {"login": LoginView, "home": HomeView, "playground": PlaygroundView}


class App:
    """Owns the current view; installs the toasts and the login redirect as client hooks."""

    def __init__(
        self,
        config: Config,
        screen: Screen,
        location: Location,
        toasts: Toasts,
        api: ApiClient,
        jar: CookieJar,
        transport: Transport,
        *,
        lang: Lang = "en",
        clock_ms: Callable[[], float],
        frame: Frame | None = None,
        header: Screen | None = None,
        prefs: Preferences | None = None,
        channel: Channel | None = None,
        dialog: Dialog | None = None,
        provider: Provider | None = None,
        demo: bool = False,
    ) -> None:
        self.config = config
        #: The in-page demo API answers the calls (contract section 8): nothing goes over HTTP.
        self.demo = demo
        #: The OpenID provider (config ``auth`` kind ``oidc``): the login view signs in there.
        self.provider = provider
        #: ``GET me``: the API's ``me``, or the provider's userinfo endpoint (contract section 10).
        self.me_path = (provider.userinfo_endpoint if provider is not None else None) or "me"
        self.screen = screen
        self.location = location
        self.toasts = toasts
        self.api = api
        self.jar = jar
        self.transport = transport
        self.lang: Lang = lang
        self.frame = frame
        self.header = header
        self.prefs = prefs
        self.channel = channel
        self.now_ms = clock_ms
        self.gate = ToastGate(clock_ms)
        self.view: View | None = None
        self.route: router.Route | None = None
        self.refresh_count = 0
        self.refresh_times_ms: list[float] = []  # when refreshes happened (here or in another tab), for the timeline
        self.request_listeners: list[RequestListener] = []
        self._shown_hash: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_activity_ms = float("-inf")
        self._heard_end = False  # ending a session another tab announced: do not announce it back
        self.idle_warning = IdleWarning(self, dialog) if dialog is not None else None
        if self.idle_warning is not None:
            api.hooks.on_idle_warning.append(self.idle_warning.open)
        if channel is not None:
            channel.listen(self.on_tab_message)
        api.hooks.on_error.append(self._on_error)
        api.hooks.on_session_end.append(self._on_session_end)
        api.hooks.on_refresh.append(self._on_refresh)

    # -- routing ---------------------------------------------------------------------------

    def start(self) -> None:
        """First render: a session that expired while the page was closed ends first (R2)."""
        self.api.check_expiry()
        self._apply_lang()
        self.render()

    # -- language ----------------------------------------------------------------------------

    def t(self, key: str, **values: object) -> str:
        """A text of the app in the current language (``pyapp.i18n``)."""
        return i18n.text(self.lang, key, **values)

    def around(self, key: str, field: str) -> tuple[str, str]:
        """The current language's text before and after ``{field}`` in ``key``."""
        return i18n.around(self.lang, key, field)

    def set_lang(self, lang: Lang) -> None:
        """Switch language at once: frame, header and view re-rendered, choice remembered."""
        self.lang = lang
        if self.prefs is not None:
            self.prefs.set(i18n.PREFERENCE_KEY, lang)
        self._apply_lang()
        self.render(force=True)
        if self.idle_warning is not None:
            self.idle_warning.render()

    def _apply_lang(self) -> None:
        if self.frame is not None:
            self.frame.set_lang(i18n.html_lang(self.lang), self.t)
        if self.header is not None:
            self.header.show(self._header_tree())

    def _header_tree(self) -> El:
        other: Lang = "en" if self.lang == "zh" else "zh"
        return h(
            "button",
            {
                "type": "button",
                "class": "lang-switch",
                "data-testid": "lang-switch",
                "lang": i18n.html_lang(other),
                "title": self.t("lang.switch.title"),
            },
            self.t("lang.switch"),
            on={"click": lambda _e: self.set_lang(other)},
        )

    def signed_in(self) -> bool:
        session = self.api.session()
        return session.access_token is not None and not session.expired(self.now_ms())

    def render(self, force: bool = False) -> router.Route:
        """Render the route in ``location.hash``, after the guard's redirect if any."""
        hash_ = self.location.get_hash()
        route = router.parse(hash_)
        target = router.guard(route, self.signed_in())
        if target is not None:
            self.location.replace(target)
            hash_, route = target, router.parse(target)
        if hash_ == self._shown_hash and not force:
            return route
        if self.view is not None:
            self.view.unmount()
        self.route, self._shown_hash = route, hash_
        try:
            self.view = VIEWS.get(route.name, View)(self)
            self.screen.show(self.view.render())
            self.screen.set_title(self.t("title", view=self.view.title))
            self.view.mounted()
        except Exception as exc:
            # A bug in a view must not leave a half-drawn page or a traceback: a friendly
            # screen with a reload button; the details go to the console (logging). The
            # exception is named (not log.exception): MicroPython's sys has no exc_info.
            log.error("rendering the %s view failed", route.name, exc_info=exc)
            self.view = ErrorView(self)
            self.screen.show(self.view.render())
            self.screen.set_title(self.t("title", view=self.view.title))
            self.view.mounted()
        return route

    def go_after_login(self) -> None:
        """Where a successful sign-in lands: the safe ``redirect`` route, else home."""
        redirect = self.route.query.get("redirect") if self.route else None
        self.location.replace("#" + (router.safe_redirect(redirect) or "/"))
        self.render()

    def current_route_path(self) -> str:
        """The seed's ``router.currentRoute.fullPath``, for ``redirect=``."""
        route = router.parse(self.location.get_hash())
        if route.name == "login":  # already there: keep its own redirect, not login itself
            return router.safe_redirect(route.query.get("redirect")) or "/"
        return route.full_path

    # -- what views call -------------------------------------------------------------------

    async def sign_in(self, username: str, password: str) -> str | None:
        """Sign in and navigate; None on success, else the message for the form."""
        try:
            await self.api.login(username, password)
        except ApiError as exc:
            return login_error_text(exc, self.lang)
        self.refresh_count = 0
        self._post({"type": "signed-in"})
        self.go_after_login()
        return None

    async def sign_in_at_provider(self) -> bool:
        """Leave for the OpenID provider, to come back to the login route's safe ``redirect``.
        False (after a toast) when the sign-in could not start."""
        assert self.provider is not None
        redirect = self.route.query.get("redirect") if self.route else None
        try:
            await self.provider.start_sign_in(router.safe_redirect(redirect) or "/")
        except Exception as exc:
            self._sign_in_failed(exc)
            return False
        return True

    async def finish_provider_sign_in(self) -> bool:
        """At boot, before the first render: complete the provider's answer in the URL, if this
        page load is one. Signed in: the location is the kept route (a safe one, else home).
        Failed: a toast, no session and the login view. Returns whether there was an answer."""
        if self.provider is None or not self.provider.is_callback():
            return False
        try:
            route = await self.provider.finish_sign_in(self.api)
        except Exception as exc:
            self._sign_in_failed(exc)
            if not self.api.session().is_empty:  # nothing half signed in, nor an older session
                self.api.end_session("logout")
            self.location.replace("#/login")
            return True
        self.refresh_count = 0
        self._post({"type": "signed-in"})
        self.location.replace("#" + (router.safe_redirect(route) or "/"))
        return True

    def _sign_in_failed(self, exc: Exception) -> None:
        if isinstance(exc, ApiError):
            log.info("sign-in at the provider failed: %s", exc)
            self.toast(toast_text(exc, self.lang))
        else:  # not a failure the library knows (a raw browser error): logged, still a toast
            log.error("sign-in at the provider failed unexpectedly", exc_info=exc)
            self.toast(pick(SIGN_IN_FAILED, self.lang))

    def sign_out(self) -> None:
        """End the session on purpose: cookies cleared, ``logout`` sent, login page."""
        if not self.api.logout():  # nothing to end (another tab already did): still leave
            self._to_login(with_redirect=False)

    async def call(self, method: str, path: str, params: dict[str, str] | None = None) -> Any:
        """One API call for a view. Failures are already toasts (client hooks): they return None."""
        full = path + ("?" + urlencode(params) if params else "")
        try:
            resp = await self.api.request(method, full)
        except ApiError as exc:
            status = exc.status if isinstance(exc, HttpStatusError) else None
            self._log(method, full, str(status) if status else type(exc).__name__, False)
            return None
        self._log(method, full, str(resp.status), True)
        try:
            return resp.json()
        except ValueError:
            return None

    async def stay_signed_in(self) -> None:
        """The idle warning's answer: refresh now. A failure is already a toast (client hooks)."""
        try:
            await self.api.refresh()
        except ApiError as exc:
            log.info("stay signed in: refresh failed: %s", exc)

    async def server_info(self) -> dict[str, Any]:
        """``GET info`` without toasts: whether the server runs the demo account (this project's
        API only: another kind has no such call)."""
        if self.config.auth.kind != "contract":
            return {}
        try:
            # Straight to the transport: no session rules and no toast for an optional fact.
            resp = await self.transport.send(Request.build("GET", "info", timeout_ms=self.config.timeout_ms))
            data = resp.json() if resp.ok else None
        except (ApiError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def session_info(self) -> dict[str, Any]:
        """What the playground shows: expiry, refreshes so far, the cookies as the page sees them."""
        session = self.api.session()
        return {
            "expires_at_ms": session.util_time_ms if session.access_token else None,
            "refresh_count": self.refresh_count,
            "cookies": parse_cookie_header(self.jar.read()),
        }

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    # -- the session's effects ---------------------------------------------------------------

    async def watchdog(self, max_sleep_s: float = 1.0) -> None:
        """R2 at the moment of expiry: wake at ``utilTime`` (at least every second) and check.
        A refresh in flight is waited out first: until it ends, nothing falls due."""
        while True:
            await self.api.refresh_over()
            deadline = self.api.session_deadline_ms()
            wait = max_sleep_s if deadline is None else (deadline - self.now_ms()) / 1000 + 0.005
            await asyncio.sleep(min(max(wait, 0.0), max_sleep_s))
            self.api.check_expiry()

    def on_wake(self) -> None:
        """``visibilitychange``/``focus``/``pageshow``: a tab woken from sleep (or restored from
        the back-forward cache) ends a stale session at once."""
        self.api.check_expiry()

    def on_online(self) -> None:
        """The browser is back ``online``: a refresh waiting out a blip goes now (while the
        token is valid), and a session that ended meanwhile ends here too."""
        if not self.api.retry_now():
            self.api.check_expiry()

    def on_user_activity(self, _event: Any = None) -> bool:
        """A configured ``activityEvents`` event: counts as activity (R1 inside the refresh
        window), throttled to one look per second. Returns whether it started a refresh."""
        now = self.now_ms()
        if now - self._last_activity_ms < ACTIVITY_THROTTLE_MS:
            return False
        self._last_activity_ms = now
        return self.api.note_activity()

    def on_tab_message(self, message: Message) -> None:
        """What another tab said (``pyapp.tabs``); the cookies decide, the message says when to look."""
        kind = message.get("type")
        if kind == "signed-out":
            if not self._follow_sign_out(message):
                # The cookies still hold a session: signed in again since (that newer session
                # is not the one that ended), or the cookie store has not caught up yet.
                self.spawn(self._look_again(lambda: self._follow_sign_out(message)))
        elif kind == "signed-in":
            self.api.check_expiry()
            if not self._follow_sign_in():
                self.spawn(self._look_again(self._follow_sign_in))
        elif kind == "refreshed":
            self._note_refresh()
            self._close_warning()  # any tab's refresh answers the warning in every tab
            self.api.check_expiry()

    def _follow_sign_out(self, message: Message) -> bool:
        """Another tab ended the session: end it here too, once the cookies say so."""
        session = self.api.session()
        if not session.is_empty and not session.expired(self.now_ms()):
            return False
        # The R2 toast in every tab (R7): an unasked ending elsewhere is one here too.
        reason: EndReason = "expired" if message.get("reason") in UNASKED_ENDINGS else "elsewhere"
        self._heard_end = True
        try:
            self.api.end_session(reason)  # cookies already gone: no second logout call
        finally:
            self._heard_end = False
        return True

    def _follow_sign_in(self) -> bool:
        """Another tab signed in: a login form here has nothing left to do. True when done
        (or nothing to do); False while the cookies do not show the session yet."""
        if self.route is None or self.route.name != "login":
            return True
        if not self.signed_in():
            return False
        self.go_after_login()
        return True

    async def _look_again(self, done: Callable[[], bool]) -> None:
        """A message from another tab can outrun the cookie store: in Chromium a cookie
        written in one tab reaches another tab's ``document.cookie`` a moment after a
        ``BroadcastChannel`` message posted right after writing it (seen in CI: a login tab
        that never followed a sign-in). Look again a few times, then leave it to the
        watchdog's cookie check (the fallback without a channel)."""
        for delay_s in COOKIE_CATCH_UP_S:
            await asyncio.sleep(delay_s)
            if done():
                return

    def toast(self, text: str) -> None:
        if self.gate.admit(text):
            self.toasts.show(text, close_label=self.t("toast.close"))

    def _on_error(self, error: ApiError) -> None:
        self.toast(toast_text(error, self.lang))

    def _on_refresh(self, session: Any) -> None:
        self.refresh_count += 1
        self._note_refresh()
        self._log("POST", "refresh_token", "200", True)
        self._post({"type": "refreshed", "util_time": getattr(session, "util_time_ms", None)})
        self._close_warning()

    def adopt_refresh(self) -> None:
        """A refresh made outside this page's client (the playground's requests worker) whose
        tokens the cookies now hold: counted, and told to the other tabs, as the client's own."""
        self.refresh_count += 1
        self._note_refresh()
        self._post({"type": "refreshed", "util_time": self.api.session().util_time_ms})
        self._close_warning()

    def _on_session_end(self, reason: EndReason) -> None:
        if reason != "elsewhere" and not self._heard_end:
            self._post({"type": "signed-out", "reason": reason})
        self._close_warning()
        if reason in UNASKED_ENDINGS:
            self.toast(pick(SESSION_EXPIRED, self.lang))
        self._to_login(with_redirect=reason != "logout")

    def _to_login(self, with_redirect: bool) -> None:
        if router.parse(self.location.get_hash()).name == "login":
            return
        target = router.login_hash(self.current_route_path()) if with_redirect else "#/login"
        self.location.replace(target)
        self.render()

    def _note_refresh(self) -> None:
        self.refresh_times_ms = self.refresh_times_ms[-49:] + [self.now_ms()]

    def _close_warning(self) -> None:
        if self.idle_warning is not None:
            self.idle_warning.close()

    def _post(self, message: Message) -> None:
        if self.channel is not None:
            try:
                self.channel.post(message)
            except Exception as exc:  # a closed channel must not break the session; cookies still tell
                log.error("tab message not sent", exc_info=exc)

    def _log(self, method: str, path: str, outcome: str, ok: bool) -> None:
        for listener in list(self.request_listeners):
            listener(method, path, outcome, ok)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())
