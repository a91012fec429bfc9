"""Seams between the app and the page, as protocols (the browser shell implements them).

Tests implement them with plain objects; see ``tests/unit/fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pyapp.ui import El


class Screen(Protocol):
    """The part of the page a view owns (``#app``)."""

    def show(self, tree: El) -> None: ...
    def append(self, ref: str, tree: El | str, limit: int | None = None) -> None: ...
    def set_text(self, ref: str, text: str) -> None: ...
    def set_attr(self, ref: str, name: str, value: str | bool | None) -> None: ...
    def value(self, ref: str) -> str: ...
    def focus(self, ref: str) -> None: ...
    def set_title(self, title: str) -> None: ...


class Dialog(Screen, Protocol):
    """A layer above the view for one dialog at a time; ``show`` opens it, ``close`` empties it
    and gives focus back to where it was."""

    def close(self) -> None: ...


class Frame(Protocol):
    """The page around the views: ``<html lang>`` and the frame's fixed texts (``data-i18n``)."""

    def set_lang(self, tag: str, text: Callable[[str], str]) -> None: ...


class Preferences(Protocol):
    """Small user preferences that survive a reload (``localStorage``); never a token."""

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...


class Location(Protocol):
    """``location.hash`` and history, for hash routing."""

    def get_hash(self) -> str: ...
    def replace(self, hash_: str) -> None: ...  # same entry, no hashchange
    def reload(self) -> None: ...  # load the page again (the error screen's button)


class Toasts(Protocol):
    """Error messages shown to the user (``role="alert"``)."""

    def show(self, text: str, close_label: str = "Close") -> None: ...


class Provider(Protocol):
    """An OpenID provider to sign in at (``tokensession.browser.oidc_page.OidcPage``): the login
    view's button leaves for it, and the boot completes its answer before the first render."""

    @property
    def userinfo_endpoint(self) -> str | None: ...  # where ``GET me`` goes (an absolute URL)

    def is_callback(self) -> bool: ...  # this page load is the provider's answer

    async def start_sign_in(self, route: str) -> None: ...  # leaves the page

    async def finish_sign_in(self, api: Any) -> str: ...  # the kept route; raises with nothing stored
