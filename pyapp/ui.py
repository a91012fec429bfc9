"""A tiny element tree, so views are plain data that CPython tests can read.

    tree = h("button", {"data-testid": "logout", "type": "button"}, "Sign out", on={"click": handler})

The browser shell turns a tree into DOM nodes with ``createElement``,
``setAttribute`` and text nodes: never ``innerHTML``, so no server text or URL
part can become markup. Event attributes (``on...``) are refused: handlers are
Python callables in ``on``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Union

Handler = Callable[[Any], Any]
Child = Union["El", str]


@dataclass
class El:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    on: dict[str, Handler] = field(default_factory=dict)
    ref: str | None = None

    def walk(self) -> Iterator[El]:
        """This element and every element below it, depth first."""
        yield self
        for c in self.children:
            if isinstance(c, El):
                yield from c.walk()

    def find(self, **attrs: str) -> El | None:
        """The first element whose attributes include ``attrs`` (``data_testid`` means ``data-testid``)."""
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return next((e for e in self.walk() if all(e.attrs.get(k) == v for k, v in want.items())), None)

    def text(self) -> str:
        """All text below this element, as ``textContent`` would give it."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


def h(
    tag: str,
    attrs: dict[str, str | bool | None] | None = None,
    *children: Child | None,
    on: dict[str, Handler] | None = None,
    ref: str | None = None,
) -> El:
    """Build an element. ``True`` attributes are set empty, ``False``/``None`` ones left out."""
    clean: dict[str, str] = {}
    for k, v in (attrs or {}).items():
        if k.lower().startswith("on"):
            raise ValueError(f"event attribute {k!r}: pass a handler in on= instead")
        if v is True:
            clean[k] = ""
        elif v is not None and v is not False:
            clean[k] = str(v)
    return El(tag, clean, [c for c in children if c is not None], dict(on or {}), ref)
