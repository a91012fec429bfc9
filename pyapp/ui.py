"""A tiny element tree, so views are plain data that CPython tests can read.

    tree = h("button", {"data-testid": "logout", "type": "button"}, "Sign out", on={"click": handler})

The browser shell turns a tree into DOM nodes with ``createElement``,
``setAttribute`` and text nodes: never ``innerHTML``, so no server text or URL
part can become markup. What could still run code is refused (:func:`check_attr`,
:data:`CODE_TAGS`): event attributes (``on...``; handlers are Python callables
in ``on``), ``srcdoc``, script URLs in URL attributes, and elements whose text
is code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias, Union

Handler: TypeAlias = Callable[[Any], Any]
Child: TypeAlias = Union["El", str]

#: Attributes whose value is a URL the browser may load or navigate to.
URL_ATTRS = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "cite", "background", "ping", "srcset"}
)
#: Elements whose text or attributes are code or load documents: never built from a tree.
CODE_TAGS = frozenset({"script", "style", "iframe", "frame", "object", "embed", "base", "meta", "link"})
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")


def check_attr(name: str, value: str) -> None:
    """Raise ``ValueError`` for an attribute that could run code; return quietly otherwise.

    >>> check_attr("href", "#/playground")
    >>> check_attr("href", " JaVa\tScRiPt:alert(1)")
    Traceback (most recent call last):
    ValueError: script URL in 'href'
    >>> check_attr("onclick", "x")
    Traceback (most recent call last):
    ValueError: event attribute 'onclick': pass a handler in on= instead
    """
    key = name.strip().lower()
    if key.startswith("on"):
        raise ValueError(f"event attribute {name!r}: pass a handler in on= instead")
    if key == "srcdoc":
        raise ValueError("srcdoc makes a document from text: refused")
    if key in URL_ATTRS:
        # Browsers ignore ASCII whitespace and controls inside a scheme ("java\tscript:").
        squeezed = "".join(c for c in value if ord(c) > 0x20 and c != "\x7f").lower()
        if squeezed.startswith(_SCRIPT_SCHEMES):
            raise ValueError(f"script URL in {name!r}")


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
    """Build an element. ``True`` attributes are set empty, ``False``/``None`` ones left out.

    >>> h("a", {"href": "#/", "class": "nav"}, "Home").attrs
    {'href': '#/', 'class': 'nav'}
    >>> h("script", {}, "alert(1)")
    Traceback (most recent call last):
    ValueError: <script> is code, not content: refused
    """
    if tag.strip().lower() in CODE_TAGS:
        raise ValueError(f"<{tag}> is code, not content: refused")
    clean: dict[str, str] = {}
    for k, v in (attrs or {}).items():
        if v is True:
            clean[k] = ""
        elif v is not None and v is not False:
            clean[k] = str(v)
        check_attr(k, clean.get(k, ""))
    return El(tag, clean, [c for c in children if c is not None], dict(on or {}), ref)
