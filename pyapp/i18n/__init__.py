"""The app's texts in English and Chinese: one catalogue per language (``en.py``, ``zh.py``).

    t = translator("zh")
    t("login.title")                          # '登录'
    t("login.demo", user="demo", password="demo")
    html_lang("zh")                           # 'zh-CN', for <html lang>

The R5 toast texts are the session library's (``tokensession.messages``), not
repeated here. A unit test fails when a key is missing from either catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from pyapp.i18n import en, zh
from tokensession.messages import Lang, lang_for

CATALOGUES: dict[Lang, dict[str, str]] = {"en": en.MESSAGES, "zh": zh.MESSAGES}
#: Where the chosen language is remembered (a preference, not a secret: localStorage is fine).
PREFERENCE_KEY = "pyauth.lang"

Translator: TypeAlias = Callable[..., str]


def text(lang: Lang, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang``, with ``{name}`` fields filled from ``values``.

    >>> text("en", "login.demo", user="demo", password="pw")
    'Demo account: demo / pw'
    """
    template = CATALOGUES[lang].get(key) or CATALOGUES["en"].get(key) or key
    return template.format(**values) if values else template


def translator(lang: Lang) -> Translator:
    """``t(key, **values)`` bound to one language."""

    def t(key: str, **values: object) -> str:
        return text(lang, key, **values)

    return t


def around(lang: Lang, key: str, field: str) -> tuple[str, str]:
    """The text before and after ``{field}``, for a template that wraps an element.

    >>> around("en", "home.signed_in_as", "user")
    ('Signed in as ', '.')
    """
    before, _, after = CATALOGUES[lang][key].partition("{" + field + "}")
    return before, after


def html_lang(lang: Lang) -> str:
    """The ``<html lang>`` value for a language: ``en`` or ``zh-CN``."""
    return "zh-CN" if lang == "zh" else "en"


def parse_lang(value: str | None) -> Lang | None:
    """A stored preference as a language, or None when it is not one of ours."""
    return value if value in ("en", "zh") else None  # type: ignore[return-value]


def choose_lang(stored: str | None, config_lang: str, navigator_language: str | None) -> Lang:
    """The language to use: the user's stored choice, else the config's ``lang``, else the browser's.

    >>> choose_lang("zh", "auto", "en-US"), choose_lang(None, "auto", "zh-CN"), choose_lang("xx", "en", "zh")
    ('zh', 'zh', 'en')
    """
    return parse_lang(stored) or lang_for(config_lang, navigator_language)
