"""Render ``pyapp.ui`` trees into the page, and update named parts of them.

Text goes in as text nodes and attributes through ``setAttribute``; nothing
reaches ``innerHTML``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from js import document, window  # type: ignore[import-not-found]
from pyscript.ffi import create_proxy  # type: ignore[import-not-found]

from pyapp.ui import El, check_attr
from tokensession.browser.runtime import js_call, js_global, release


class DomScreen:
    """The ``Screen`` seam over one root element (``#app``)."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, Any] = {}
        self._proxies: list[Any] = []

    def show(self, tree: El) -> None:
        old = self._proxies
        self._proxies, self.refs = [], {}
        self.root.replaceChildren(self._build(tree))
        for p in old:
            release(p)

    def append(self, ref: str, tree: El | str, limit: int | None = None) -> None:
        node = self.refs.get(ref)
        if node is None:
            return
        node.appendChild(self._build(tree))
        while limit is not None and node.childElementCount > limit:
            node.firstElementChild.remove()

    def set_text(self, ref: str, text: str) -> None:
        node = self.refs.get(ref)
        if node is not None and node.textContent != text:
            node.textContent = text

    def set_attr(self, ref: str, name: str, value: str | bool | None) -> None:
        node = self.refs.get(ref)
        if node is None:
            return
        if value is None or value is False:
            node.removeAttribute(name)
        else:
            text = "" if value is True else str(value)
            check_attr(name, text)  # the same rules as h(): updates cannot smuggle in code either
            node.setAttribute(name, text)

    def value(self, ref: str) -> str:
        node = self.refs.get(ref)
        return str(node.value) if node is not None else ""

    def focus(self, ref: str) -> None:
        node = self.refs.get(ref)
        if node is not None:
            node.focus()

    def set_title(self, title: str) -> None:
        document.title = title

    def _build(self, tree: El | str) -> Any:
        if isinstance(tree, str):
            return document.createTextNode(tree)
        node = document.createElement(tree.tag)
        for k, v in tree.attrs.items():
            node.setAttribute(k, v)
        for event, handler in tree.on.items():
            proxy = create_proxy(handler)
            self._proxies.append(proxy)
            node.addEventListener(event, proxy)
        for child in tree.children:
            node.appendChild(self._build(child))
        if tree.ref:
            self.refs[tree.ref] = node
        return node


class DomDialog(DomScreen):
    """The ``Dialog`` seam: a layer (``#dialogs``) shown while it holds a dialog."""

    def __init__(self, root: Any) -> None:
        super().__init__(root)
        self._return_focus: Any = None

    def show(self, tree: El) -> None:
        if self.root.hidden:  # opening: remember where focus was, to give it back
            self._return_focus = document.activeElement
        super().show(tree)
        self.root.hidden = False

    def close(self) -> None:
        self.root.hidden = True
        self.root.replaceChildren()
        for p in self._proxies:
            release(p)
        self._proxies, self.refs = [], {}
        back, self._return_focus = self._return_focus, None
        if back and back.isConnected:
            back.focus()


class DomFrame:
    """The ``Frame`` seam: ``<html lang>`` and every ``data-i18n`` text of ``index.html``.

    ``data-i18n="key"`` sets the element's text, ``data-i18n-aria-label="key"`` its
    ``aria-label``; ``web/boot.js`` does the same before Python is up.
    """

    def set_lang(self, tag: str, text: Callable[[str], str]) -> None:
        document.documentElement.lang = tag
        for node in document.querySelectorAll("[data-i18n]"):
            node.textContent = text(str(node.getAttribute("data-i18n")))
        for node in document.querySelectorAll("[data-i18n-aria-label]"):
            node.setAttribute("aria-label", text(str(node.getAttribute("data-i18n-aria-label"))))


class LocalPreferences:
    """The ``Preferences`` seam over ``localStorage`` (absent or refused: nothing is kept)."""

    def get(self, key: str) -> str | None:
        try:
            value = js_call(js_global("localStorage"), "getItem", key)
        except Exception:  # storage disabled (privacy mode, sandboxed frame)
            return None
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        try:
            js_call(js_global("localStorage"), "setItem", key, value)
        except Exception as exc:  # storage full or disabled: the choice lasts for this page only
            window.console.info(f"language choice not stored: {exc}")
