"""One view per route. A view renders a ``pyapp.ui`` tree and reacts to events.

The element with ``data-testid="route-view"`` carries ``data-route`` (contract
section 7).
"""

from __future__ import annotations

from typing import Any

from pyapp.ui import El, h


class View:
    """Base view: subclasses set ``name`` and ``title`` and fill ``body``."""

    name = "not-found"
    title = "Not found"

    def __init__(self, app: Any) -> None:
        # ``app`` is the ``pyapp.app.App`` that made this view. Views never import that
        # module: the app depends on its views, not the other way round (no cycle).
        self.app = app

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
        return [
            h(
                "div",
                {"class": "card"},
                self.heading("Page not found"),
                h("p", {}, "Nothing lives at ", h("code", {}, path), "."),
                h("p", {}, h("a", {"href": "#/"}, "Go to the home page")),
            )
        ]

    def mounted(self) -> None:
        """Called once the tree is in the page: move focus to the heading for screen readers."""
        self.app.screen.focus("title")

    def unmount(self) -> None:
        """Called before another view replaces this one: stop timers and tasks."""
