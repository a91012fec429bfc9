"""The sign-in view: labelled fields, Enter submits, a clear message on failure.

With an OpenID provider (config ``auth`` kind ``oidc``) the view shows one button,
``login-provider``, instead of the form: that kind has no password call, so a form could only
fail; the person types their password at the provider, never into this page.
"""

from __future__ import annotations

from typing import Any

from pyapp.ui import El, h
from pyapp.views import View


class LoginView(View):
    name = "login"
    title_key = "login.title"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.busy = False

    def body(self) -> list[El]:
        if self.app.provider is not None:
            return self.provider_body()
        return [
            h(
                "div",
                {"class": "card"},
                self.heading(self.t("login.title")),
                h(
                    "form",
                    {"class": "login", "data-testid": "login-form", "novalidate": True},
                    h(
                        "label",
                        {"for": "login-username"},
                        self.t("login.username"),
                        h(
                            "input",
                            {
                                "id": "login-username",
                                "name": "username",
                                "data-testid": "login-username",
                                "autocomplete": "username",
                                "required": True,
                                "autocapitalize": "none",
                                "spellcheck": "false",
                            },
                            ref="username",
                        ),
                    ),
                    h(
                        "label",
                        {"for": "login-password"},
                        self.t("login.password"),
                        h(
                            "input",
                            {
                                "id": "login-password",
                                "name": "password",
                                "type": "password",
                                "data-testid": "login-password",
                                "autocomplete": "current-password",
                                "required": True,
                            },
                            ref="password",
                        ),
                    ),
                    h("p", {"class": "form-error", "role": "alert", "aria-live": "assertive"}, ref="error"),
                    h(
                        "button",
                        {"type": "submit", "class": "primary", "data-testid": "login-submit"},
                        self.t("login.submit"),
                        ref="submit",
                    ),
                    on={"submit": self.on_submit},
                ),
                h("p", {"class": "hint"}, ref="demo-hint"),
            )
        ]

    def provider_body(self) -> list[El]:
        return [
            h(
                "div",
                {"class": "card"},
                self.heading(self.t("login.title")),
                h("p", {"id": "login-provider-hint", "class": "hint"}, self.t("login.provider.hint", host=self.host())),
                h(
                    "button",
                    {
                        "type": "button",
                        "class": "primary",
                        "data-testid": "login-provider",
                        "aria-describedby": "login-provider-hint",
                    },
                    self.t("login.provider"),
                    ref="provider",
                    on={"click": self.on_provider},
                ),
            )
        ]

    def host(self) -> str:
        issuer: str = self.app.config.auth.issuer
        return issuer.partition("://")[2].partition("/")[0] or issuer

    def on_provider(self, _event: Any) -> None:
        if not self.busy:
            self.app.spawn(self.go_to_provider())

    async def go_to_provider(self) -> None:
        self.set_provider_busy(True)
        if not await self.app.sign_in_at_provider():
            self.set_provider_busy(False)  # on success the page is leaving: it stays busy

    def set_provider_busy(self, busy: bool) -> None:
        self.busy = busy
        self.app.screen.set_attr("provider", "disabled", busy)
        self.app.screen.set_attr("provider", "aria-busy", "true" if busy else None)
        self.app.screen.set_text("provider", self.t("login.provider.busy" if busy else "login.provider"))

    def mounted(self) -> None:
        if self.app.provider is not None:
            self.app.screen.focus("provider")
            return
        self.app.screen.focus("username")
        self.app.spawn(self.show_demo_hint())

    async def show_demo_hint(self) -> None:
        info = await self.app.server_info()
        if info.get("demo"):
            user = str(info.get("demo_user", "demo"))
            password = str(info.get("demo_password", ""))
            self.app.screen.set_text("demo-hint", self.t("login.demo", user=user, password=password))

    def on_submit(self, event: Any) -> None:
        event.preventDefault()
        if self.busy:
            return
        username = self.app.screen.value("username").strip()
        password = self.app.screen.value("password")
        if not username or not password:
            self.show_error(self.t("login.missing"))
            self.app.screen.focus("username" if not username else "password")
            return
        self.app.spawn(self.submit(username, password))

    async def submit(self, username: str, password: str) -> None:
        self.set_busy(True)
        try:
            error = await self.app.sign_in(username, password)
        finally:
            self.set_busy(False)
        if error:
            self.show_error(error)
            self.app.screen.focus("password")

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.app.screen.set_attr("submit", "disabled", busy)
        self.app.screen.set_attr("submit", "aria-busy", "true" if busy else None)
        self.app.screen.set_text("submit", self.t("login.busy" if busy else "login.submit"))

    def show_error(self, text: str) -> None:
        self.app.screen.set_text("error", text)
