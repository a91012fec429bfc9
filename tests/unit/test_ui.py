"""``pyapp.ui.h`` refuses what could run code: event attributes, script URLs, srcdoc, code tags."""

from __future__ import annotations

import pytest

from pyapp.ui import URL_ATTRS, check_attr, h


@pytest.mark.parametrize("name", ["onclick", "onerror", "ONLOAD", " onmouseover", "onfocus"])
def test_event_attributes_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="event attribute"):
        h("img", {name: "alert(1)"})


@pytest.mark.parametrize("name", sorted(URL_ATTRS))
@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x00javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_script_urls_are_refused_in_every_url_attribute(name: str, url: str) -> None:
    with pytest.raises(ValueError, match="script URL"):
        h("a", {name: url})


@pytest.mark.parametrize("url", ["#/playground", "#/login?redirect=%2F", "https://example.org/", "./app.css", ""])
def test_ordinary_urls_pass(url: str) -> None:
    assert h("a", {"href": url}, "x").attrs["href"] == url


def test_srcdoc_is_refused() -> None:
    with pytest.raises(ValueError, match="srcdoc"):
        h("div", {"srcdoc": "<script>alert(1)</script>"})


@pytest.mark.parametrize("tag", ["script", "SCRIPT", "style", "iframe", "object", "embed", "base", "meta", "link"])
def test_code_tags_are_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="refused"):
        h(tag, {}, "alert(1)")


def test_markup_in_text_stays_text() -> None:
    el = h("p", {"title": '"><img src=x onerror=alert(1)>'}, "<script>alert(1)</script>")
    assert el.children == ["<script>alert(1)</script>"]  # a string child: a text node in the page
    assert el.attrs["title"] == '"><img src=x onerror=alert(1)>'  # setAttribute value, not markup


def test_check_attr_is_what_screen_updates_use_too() -> None:
    check_attr("aria-busy", "true")
    with pytest.raises(ValueError, match="script URL"):
        check_attr("formaction", "javascript:alert(1)")
