"""The app's texts: both catalogues complete, the boot screen's copy in step, a switch at once."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from pyapp import i18n
from pyapp.app import App
from pyapp.ui import El
from tests.unit.conftest import World
from tests.unit.fakes import FakeFrame, FakeLocation, FakePreferences, FakeScreen, FakeToasts
from tests.unit.test_app import Page
from tokensession.config import Config

pytestmark = pytest.mark.anyio
BOOT_JS = Path(__file__).resolve().parents[2] / "web" / "boot.js"


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_is_in_both_catalogues() -> None:
    en, zh = i18n.CATALOGUES["en"], i18n.CATALOGUES["zh"]
    assert sorted(set(en) - set(zh)) == [], "missing in zh.py"
    assert sorted(set(zh) - set(en)) == [], "missing in en.py"


@pytest.mark.parametrize("key", sorted(i18n.CATALOGUES["en"]))
def test_each_text_is_filled_and_takes_the_same_fields_in_both_languages(key: str) -> None:
    en, zh = i18n.CATALOGUES["en"][key], i18n.CATALOGUES["zh"][key]
    assert en.strip() and zh.strip()
    assert fields(en) == fields(zh)


def test_the_boot_screen_texts_in_boot_js_match_the_catalogues() -> None:
    source = BOOT_JS.read_text(encoding="utf-8")
    for lang in ("en", "zh"):
        block = re.search(lang + r": \{(.*?)\n  \}", source, re.S)
        assert block is not None, f"no {lang} block in boot.js"
        pairs = dict(re.findall(r'"([a-z.]+)": ("(?:[^"\\]|\\.)*")', block.group(1)))
        texts = {key: json.loads(value) for key, value in pairs.items()}
        assert texts, lang
        catalogue = i18n.CATALOGUES[lang]  # type: ignore[index]
        assert texts == {key: catalogue[key] for key in texts}
        assert {k for k in catalogue if k.startswith(("boot.", "nav."))} <= set(texts)


def test_choose_lang_prefers_the_stored_choice_then_config_then_browser() -> None:
    assert i18n.choose_lang("en", "auto", "zh-CN") == "en"
    assert i18n.choose_lang(None, "zh", "en-US") == "zh"
    assert i18n.choose_lang("garbage", "auto", "zh-TW") == "zh"
    assert i18n.html_lang("zh") == "zh-CN" and i18n.html_lang("en") == "en"


def zh_page(world: World, hash_: str, prefs: FakePreferences | None = None) -> tuple[App, FakeScreen, FakeFrame]:
    screen, frame = FakeScreen(), FakeFrame()
    app = App(
        Config(timeout_ms=1000),
        screen,
        FakeLocation(hash_),
        FakeToasts(),
        world.client,
        world.jar,
        world.transport,
        lang="zh",
        clock_ms=world.clock,
        frame=frame,
        header=FakeScreen(),
        prefs=prefs or FakePreferences(),
    )
    return app, screen, frame


ENGLISH_WORDS = re.compile(r"\b(?!GET\b|me\b|slow\b|ms\b|PyAuth\b|Cookie\b|requests\b)[A-Za-z]{3,}\b")
DATA = {"cookies", "whoami"}  # what these show is data (cookie values, a user name), not the UI's words


def ui_words(tree: El) -> list[str]:
    """English-looking words in the texts and labels the app itself wrote."""
    parts = []
    for el in tree.walk():
        if el.attrs.get("data-testid") not in DATA and el.tag != "code":  # <code>: the URL path
            parts += [c for c in el.children if isinstance(c, str)]
        parts += [v for k, v in el.attrs.items() if k in ("aria-label", "title", "placeholder")]
    return ENGLISH_WORDS.findall(" ".join(parts))


@pytest.mark.parametrize("hash_", ["#/login", "#/nowhere"])
async def test_a_chinese_page_shows_no_english_words(world: World, hash_: str) -> None:
    app, screen, frame = zh_page(world, hash_)
    app.start()
    assert screen.tree is not None
    assert ui_words(screen.tree) == []
    assert frame.lang == "zh-CN" and frame.texts["nav.home"] == "首页"
    assert screen.title == ("登录 · PyAuth" if hash_ == "#/login" else "未找到 · PyAuth")


async def test_the_signed_in_views_in_chinese_show_no_english_words(world: World) -> None:
    await world.login()
    for hash_ in ("#/", "#/playground"):
        app, screen, _ = zh_page(world, hash_)
        app.start()
        assert screen.tree is not None
        assert ui_words(screen.tree) == []
        if app.view is not None:
            app.view.unmount()


async def test_lang_switch_rerenders_remembers_and_changes_future_toasts(world: World) -> None:
    p = Page(world, "#/login")
    prefs, frame, header = FakePreferences(), FakeFrame(), FakeScreen()
    p.app.prefs, p.app.frame, p.app.header = prefs, frame, header
    p.app.start()
    assert header.text_of("lang-switch") == "中文" and frame.lang == "en"
    assert p.screen.tree is not None and p.screen.tree.find(id="view-title").text() == "Sign in"  # type: ignore[union-attr]

    header.click("lang-switch")

    assert frame.lang == "zh-CN" and prefs.values == {i18n.PREFERENCE_KEY: "zh"}
    assert p.screen.tree.find(id="view-title").text() == "登录"  # type: ignore[union-attr]
    assert p.screen.title == "登录 · PyAuth"
    assert header.text_of("lang-switch") == "English"
    await p.app.call("GET", "status/404")
    assert p.toasts.shown == ["请求错误,未找到该资源"] and p.toasts.close_labels == ["关闭"]
    header.click("lang-switch")
    assert frame.lang == "en" and prefs.values[i18n.PREFERENCE_KEY] == "en"
