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
        name = display_name(await self.app.call("GET", self.app.me_path))
        if name:
            self.app.screen.set_text("whoami", name)


#: What names the person in a ``GET me`` answer, first found first: this project's API, then an
#: OpenID provider's userinfo (contract section 10).
NAME_CLAIMS = ("username", "preferred_username", "name", "sub")


def display_name(me: object) -> str | None:
    """Who ``me`` says is signed in.

    >>> display_name({"username": "demo"}), display_name({"sub": "u1", "name": "Ann"}), display_name([])
    ('demo', 'Ann', None)
    """
    if not isinstance(me, dict):
        return None
    for claim in NAME_CLAIMS:
        value = me.get(claim)
        if isinstance(value, str) and value.strip():
            return value
    return None
