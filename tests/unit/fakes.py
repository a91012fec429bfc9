"""Fakes for the seams of ``pyapp.screen``: a screen that keeps the tree, a location, toasts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyapp.ui import El


@dataclass
class FakeEvent:
    prevented: bool = False

    def preventDefault(self) -> None:  # the DOM's name
        self.prevented = True


class FakeScreen:
    """Keeps the shown tree; updates by ref change it in place, as the DOM would."""

    def __init__(self) -> None:
        self.tree: El | None = None
        self.values: dict[str, str] = {}
        self.focused: str | None = None
        self.title = ""

    def _ref(self, ref: str) -> El | None:
        if self.tree is None:
            return None
        return next((e for e in self.tree.walk() if e.ref == ref), None)

    def show(self, tree: El) -> None:
        self.tree, self.values = tree, {}

    def append(self, ref: str, tree: El | str, limit: int | None = None) -> None:
        el = self._ref(ref)
        if el is not None:
            el.children.append(tree)
            if limit is not None:
                del el.children[:-limit]

    def set_text(self, ref: str, text: str) -> None:
        el = self._ref(ref)
        if el is not None:
            el.children = [text]

    def set_attr(self, ref: str, name: str, value: str | bool | None) -> None:
        el = self._ref(ref)
        if el is None:
            return
        if value is None or value is False:
            el.attrs.pop(name, None)
        else:
            el.attrs[name] = "" if value is True else str(value)

    def value(self, ref: str) -> str:
        return self.values.get(ref, "")

    def focus(self, ref: str) -> None:
        self.focused = ref

    def set_title(self, title: str) -> None:
        self.title = title

    # test helpers
    def route(self) -> str | None:
        view = self.tree.find(data_testid="route-view") if self.tree else None
        return view.attrs.get("data-route") if view else None

    def click(self, testid: str, event: object | None = None) -> None:
        assert self.tree is not None
        el = self.tree.find(data_testid=testid)
        assert el is not None, f"no {testid} on screen"
        handler = el.on.get("click") or el.on.get("submit")
        assert handler is not None, f"{testid} has no handler"
        handler(event or FakeEvent())

    def text_of(self, testid: str) -> str:
        assert self.tree is not None
        el = self.tree.find(data_testid=testid)
        assert el is not None, f"no {testid} on screen"
        return el.text()


class FakeDialog(FakeScreen):
    """The dialog layer: ``tree`` is None while closed."""

    def close(self) -> None:
        self.tree, self.focused = None, None

    @property
    def open(self) -> bool:
        return self.tree is not None

    def key(self, testid: str, key: str) -> None:
        assert self.tree is not None
        el = self.tree.find(data_testid=testid)
        assert el is not None and "keydown" in el.on
        el.on["keydown"](FakeKey(key=key))


@dataclass
class FakeKey(FakeEvent):
    key: str = ""


@dataclass
class FakeLocation:
    hash: str = ""
    reloads: int = 0

    def get_hash(self) -> str:
        return self.hash

    def replace(self, hash_: str) -> None:
        self.hash = hash_

    def reload(self) -> None:
        self.reloads += 1


@dataclass
class FakeToasts:
    shown: list[str] = field(default_factory=list)

    close_labels: list[str] = field(default_factory=list)

    def show(self, text: str, close_label: str = "Close") -> None:
        self.shown.append(text)
        self.close_labels.append(close_label)


@dataclass
class FakeFrame:
    """``<html lang>`` and the frame's fixed texts, as the page would hold them."""

    lang: str = "en"
    texts: dict[str, str] = field(default_factory=dict)

    def set_lang(self, tag: str, text: Callable[[str], str]) -> None:
        self.lang = tag
        self.texts = {key: text(key) for key in ("nav.home", "nav.playground", "nav.skip", "nav.label")}


@dataclass
class FakePreferences:
    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value
