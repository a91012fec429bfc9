"""The "stay signed in?" dialog: shown when the client fires ``on_idle_warning``.

The client decides *when* (the policy's ``WARN_IDLE`` row, ``min(warnBeforeSeconds,
expires_in / 2)`` before ``utilTime``, once per token); this decides what the
user sees: an ``alertdialog`` with a live countdown, focus on "Stay signed in"
(which refreshes: activity), Escape or "Dismiss" to close it. Ignoring it lets
R2 end the session as before. It closes itself when the token it warned about
is replaced (a refresh here or in another tab) or the session ends.

    warning = IdleWarning(app, dialog)
    api.hooks.on_idle_warning.append(warning.open)
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyapp.screen import Dialog
from pyapp.ui import El, h

TICK_S = 0.25


class IdleWarning:
    def __init__(self, app: Any, dialog: Dialog) -> None:
        self.app = app  # the pyapp.app.App (not imported: the app imports this module)
        self.dialog = dialog
        self.util_time_ms: int | None = None  # the expiry warned about; None: closed
        self._ticker: asyncio.Task[Any] | None = None

    @property
    def is_open(self) -> bool:
        return self.util_time_ms is not None

    def open(self, _remaining_ms: int = 0) -> None:
        """Show the warning for the current token (the ``on_idle_warning`` hook)."""
        session = self.app.api.session()
        if session.is_empty or session.util_time_ms is None:
            return
        self.util_time_ms = session.util_time_ms
        self.render()
        self.dialog.focus("stay")
        if self._ticker is None or self._ticker.done():
            self._ticker = self.app.spawn(self._tick())

    def render(self) -> None:
        """(Re)draw the dialog, e.g. after a language switch."""
        if self.is_open:
            self.dialog.show(self.tree())
            self.update()

    def tree(self) -> El:
        t = self.app.t
        before, after = self.app.around("idle.body", "seconds")
        return h(
            "div",
            {
                "class": "dialog",
                "role": "alertdialog",
                "aria-modal": "false",
                "aria-labelledby": "idle-title",
                "aria-describedby": "idle-desc",
                "data-testid": "idle-warning",
            },
            h("h2", {"id": "idle-title"}, t("idle.title")),
            h(
                "p",
                {"id": "idle-desc"},
                before,
                h("strong", {"data-testid": "idle-countdown"}, "", ref="seconds"),
                after,
            ),
            h(
                "div",
                {"class": "buttons"},
                h(
                    "button",
                    {"type": "button", "class": "primary", "data-testid": "stay-signed-in"},
                    t("idle.stay"),
                    ref="stay",
                    on={"click": lambda _e: self.stay()},
                ),
                h(
                    "button",
                    {"type": "button", "data-testid": "idle-dismiss"},
                    t("idle.dismiss"),
                    on={"click": self.dismiss},
                ),
            ),
            on={"keydown": self.on_key},
        )

    def on_key(self, event: Any) -> None:
        if getattr(event, "key", None) == "Escape":
            event.preventDefault()
            self.close()

    def dismiss(self, _event: Any = None) -> None:
        """Escape or "Dismiss": closed; the session goes on until R2 ends it (or activity)."""
        self.close()

    def stay(self) -> None:
        """ "Stay signed in": refresh now (activity); every tab's warning closes on the refresh."""
        self.close()
        self.app.spawn(self.app.stay_signed_in())

    def close(self) -> None:
        if self.is_open:
            self.util_time_ms = None
            self.dialog.close()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def update(self) -> None:
        """The countdown, and closing when the token warned about is no longer the one in use."""
        if not self.is_open:
            return
        session = self.app.api.session()
        if session.is_empty or session.util_time_ms != self.util_time_ms:
            self.close()  # refreshed (here or in another tab, seen in the cookies) or ended
            return
        seconds = max(0, -(-session.remaining_ms(self.app.now_ms()) // 1000))  # ceiling: "1 s" until it ends
        self.dialog.set_text("seconds", str(seconds))

    async def _tick(self) -> None:
        while self.is_open:
            self.update()
            await asyncio.sleep(TICK_S)
