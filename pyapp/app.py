"""The app controller: routes, views and the session's effects on them.

Pure Python over the seams of ``pyapp.screen``, so CPython tests drive it with
fakes; ``pyapp.browser.shell`` builds the real adapters and calls ``start``.

    app = App(config, screen, location, toasts, signed_in=lambda: False)
    app.render()            # renders the current hash, redirecting if needed
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from pyapp import router
from pyapp.config import Config
from pyapp.screen import Location, Screen, Toasts
from pyapp.views import View, view_for

log = logging.getLogger("pyapp")


class App:
    """Owns the current view and re-renders it when the route changes."""

    def __init__(
        self,
        config: Config,
        screen: Screen,
        location: Location,
        toasts: Toasts,
        *,
        signed_in: Callable[[], bool],
        api: Any = None,
        lang: str = "en",
        clock_ms: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.screen = screen
        self.location = location
        self.toasts = toasts
        self.api = api
        self.lang = lang
        self.signed_in = signed_in
        self.clock_ms = clock_ms
        self.view: View | None = None
        self.route: router.Route | None = None
        self._shown_hash: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.request_listeners: list[Callable[[str, str, str, bool], None]] = []

    def now_ms(self) -> float:
        return self.clock_ms() if self.clock_ms is not None else time.time() * 1000

    def session_info(self) -> dict[str, Any]:
        """What the playground shows: expiry, refreshes so far, cookies."""
        return {}

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        """One API call for a view; failures are already toasts, so they return None."""
        return None

    async def sign_in(self, username: str, password: str) -> str | None:
        """Sign in; None on success (and navigation done), else the message to show."""
        return "Signing in is not available yet."

    def sign_out(self) -> None:
        """End the session on purpose and go to the login page."""

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
        self.view = view_for(route, self)
        self.screen.show(self.view.render())
        self.screen.set_title(f"{self.view.title} · PyAuth")
        self.view.mounted()
        return route

    def go(self, hash_: str) -> None:
        """Navigate to ``hash_`` (a new history entry) and render it."""
        self.location.go(hash_)
        self.render()

    def go_after_login(self) -> None:
        """Where a successful sign-in lands: the safe ``redirect`` route, else home."""
        redirect = (self.route.query.get("redirect") if self.route else None) or None
        target = router.safe_redirect(redirect) or "/"
        self.location.replace("#" + target)
        self.render()

    def current_route_path(self) -> str:
        """The seed's ``router.currentRoute.fullPath`` for ``redirect=``."""
        route = router.parse(self.location.get_hash())
        if route.name == "login":  # already there: keep its own redirect, not login itself
            return router.safe_redirect(route.query.get("redirect")) or "/"
        return route.full_path

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return task
