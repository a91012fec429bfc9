"""``apiBase`` on another origin: only with ``"crossOriginApi": true``, only http(s)."""

from __future__ import annotations

import pytest

from tokensession.config import Config


def test_an_http_api_base_on_another_origin_is_taken_when_opted_in() -> None:
    cfg, problems = Config.from_dict({"apiBase": "https://api.example.org:8443/api/v1/", "crossOriginApi": True})
    assert problems == []
    assert cfg.api_base == "https://api.example.org:8443/api/v1"


@pytest.mark.parametrize("opt_in", [None, False, "true", 1])
def test_without_the_opt_in_an_absolute_api_base_is_refused(opt_in: object) -> None:
    data: dict[str, object] = {"apiBase": "https://api.example.org/api/v1"}
    if opt_in is not None:
        data["crossOriginApi"] = opt_in
    cfg, problems = Config.from_dict(data)
    assert cfg.api_base == Config().api_base
    assert len(problems) == 1 and "apiBase" in problems[0]


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "data:text/plain,x",
        "ftp://example.org/api",
        "https://user:pw@example.org/api",
        "https://example.org/api?token=x",
        "https://example.org/api#x",
        "https:///api",
        "https://example.org:99999/api",
        "https://exa mple.org/api",
        "https://example.org\\api",
        "//example.org/api",
    ],
)
def test_even_opted_in_only_a_plain_http_url_is_taken(value: str) -> None:
    cfg, problems = Config.from_dict({"apiBase": value, "crossOriginApi": True})
    assert cfg.api_base == Config().api_base
    assert len(problems) == 1


def test_a_same_origin_path_still_works_with_the_opt_in() -> None:
    cfg, problems = Config.from_dict({"apiBase": "/api/v2/", "crossOriginApi": True})
    assert (cfg.api_base, problems) == ("api/v2", [])
