"""One view per route. A view renders a ``pyapp.ui`` tree and reacts to events.

The element with ``data-testid="route-view"`` carries ``data-route`` (contract
section 7). Every text comes from the catalogues through ``self.t``
(``pyapp.i18n``), so a language switch is a re-render.
"""

from __future__ import annotations

from typing import Any

from pyapp.ui import El, h


class View:
    """Base view: subclasses set ``name`` and ``title_key`` and fill ``body``."""

    name = "not-found"
    title_key = "notfound.title"

    def __init__(self, app: Any) -> None:
        # ``app`` is the ``pyapp.app.App`` that made this view. Views never import that
        # module: the app depends on its views, not the other way round (no cycle).
        self.app = app

    def t(self, key: str, **values: object) -> str:
        """A text in the app's current language."""
        text: str = self.app.t(key, **values)
        return text

    @property
    def title(self) -> str:
        return self.t(self.title_key)

    def render(self) -> El:
        return h(
            "section",
            {"data-testid": "route-view", "data-route": self.name, "aria-labelledby": "view-title"},
            *self.body(),
        )

    def heading(self, text: str) -> El:
        return h("h1", {"id": "view-title", "tabindex": "-1"}, text, ref="title")

    def body(self) -> list[El]:
        path = self.app.route.path if self.app.route else ""
        before, after = self.app.around("notfound.body", "path")
        return [
            h(
                "div",
                {"class": "card"},
                self.heading(self.t("notfound.heading")),
                h("p", {}, before, h("code", {}, path), after),
                h("p", {}, h("a", {"href": "#/"}, self.t("notfound.home"))),
            )
        ]

    def mounted(self) -> None:
        """Called once the tree is in the page: move focus to the heading for screen readers."""
        self.app.screen.focus("title")

    def unmount(self) -> None:
        """Called before another view replaces this one: stop timers and tasks."""


class ErrorView(View):
    """What a view that failed to render leaves instead: an apology and a reload button."""

    name = "error"
    title_key = "error.title"

    def render(self) -> El:
        return h(
            "section",
            {"data-testid": "error-screen", "role": "alert", "aria-labelledby": "view-title"},
            *self.body(),
        )

    def body(self) -> list[El]:
        return [
            h(
                "div",
                {"class": "card error-screen"},
                self.heading(self.t("error.title")),
                h("p", {}, self.t("error.body")),
                h(
                    "button",
                    {"type": "button", "class": "primary", "data-testid": "reload"},
                    self.t("error.reload"),
                    ref="reload",
                    on={"click": lambda _e: self.app.location.reload()},
                ),
            )
        ]

    def mounted(self) -> None:
        self.app.screen.focus("reload")
