"""Home: who is signed in (from ``GET me``) and a way to sign out."""

from __future__ import annotations

from pyapp.ui import El, h
from pyapp.views import View


class HomeView(View):
    name = "home"
    title_key = "home.title"

    def body(self) -> list[El]:
        before, after = self.app.around("home.signed_in_as", "user")
        return [
            h(
                "div",
                {"class": "card"},
                self.heading(self.t("home.title")),
                h("p", {}, before, h("strong", {"data-testid": "whoami"}, "…", ref="whoami"), after),
                h(
                    "div",
                    {"class": "buttons"},
                    h("a", {"href": "#/playground"}, self.t("home.playground")),
                    h(
                        "button",
                        {"type": "button", "data-testid": "logout"},
                        self.t("logout"),
                        on={"click": lambda _e: self.app.sign_out()},
                    ),
                ),
            )
        ]

    def mounted(self) -> None:
        self.app.spawn(self.load_me())

    async def load_me(self) -> None:
        me = await self.app.call("GET", "me")
        if isinstance(me, dict) and me.get("username"):
            self.app.screen.set_text("whoami", str(me["username"]))
