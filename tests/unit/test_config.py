import dataclasses
import json

import pytest

from tokensession.config import FIELDS, MAX_TIMEOUT_MS, Config


def test_every_config_field_has_its_json_key():
    assert sorted(FIELDS.values()) == sorted(f.name for f in dataclasses.fields(Config))


def test_contract_defaults():
    cfg, problems = Config.from_json(
        '{"apiBase": "api/v1", "refreshWindowSeconds": 1800, "timeoutMs": 10000, "lang": "auto", "demoApi": false}'
    )
    assert problems == []
    assert cfg == Config()
    assert (cfg.api_base, cfg.refresh_window_seconds, cfg.timeout_ms, cfg.lang, cfg.demo_api) == (
        "api/v1",
        1800,
        10000,
        "auto",
        False,
    )


def test_demo_api_is_off_when_the_file_does_not_ask_for_it():
    cfg, problems = Config.from_json("{}")
    assert problems == [] and cfg.demo_api is False
    assert Config().demo_api is False
    cfg, _ = Config.from_json('{"demoApi": "auto"}')
    assert cfg.demo_api == "auto"


def test_values_are_applied():
    cfg, problems = Config.from_json(
        json.dumps(
            {"apiBase": "/api/v2/", "refreshWindowSeconds": 4, "timeoutMs": 1500, "lang": "zh-CN", "demoApi": False}
        )
    )
    assert problems == []
    assert cfg == Config(api_base="api/v2", refresh_window_seconds=4, timeout_ms=1500, lang="zh-CN", demo_api=False)


@pytest.mark.parametrize("text", ["", "{", "null", "[1]", '"x"', "{'a': 1}"])
def test_malformed_file_falls_back_to_defaults_with_a_reason(text):
    cfg, problems = Config.from_json(text)
    assert cfg == Config()
    assert len(problems) == 1 and "config.json" in problems[0]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("apiBase", "https://evil.example/api"),
        ("apiBase", "//evil.example/api"),
        ("apiBase", 3),
        ("refreshWindowSeconds", -1),
        ("refreshWindowSeconds", "1800"),
        ("refreshWindowSeconds", True),
        ("timeoutMs", 0),
        ("timeoutMs", None),
        ("timeoutMs", 0.5),
        ("timeoutMs", 1500.5),
        ("timeoutMs", -1000),
        ("timeoutMs", 1e300),
        ("timeoutMs", MAX_TIMEOUT_MS + 1),
        ("timeoutMs", True),
        ("timeoutMs", "2000"),
        ("lang", ""),
        ("demoApi", "yes"),
        ("warnBeforeSeconds", -5),
        ("warnBeforeSeconds", "60"),
        ("warnBeforeSeconds", float("inf")),
        ("activityEvents", "keydown"),
        ("activityEvents", ["keydown", 3]),
        ("activityEvents", ["onclick=alert(1)"]),
        ("activityEvents", ["KeyDown"]),
    ],
)
def test_each_bad_field_keeps_its_default_and_the_rest(key, value):
    other = {"lang": "en"} if key != "lang" else {"timeoutMs": 1234}
    cfg, problems = Config.from_dict(dict({key: value}, **other))
    assert len(problems) == 1 and key in problems[0]
    assert getattr(cfg, FIELDS[key]) == getattr(Config(), FIELDS[key])
    good = next(iter(other))
    assert getattr(cfg, FIELDS[good]) == other[good]


def test_unknown_keys_are_ignored():
    cfg, problems = Config.from_json('{"somethingNew": 1}')
    assert cfg == Config() and problems == []


def test_warn_before_seconds_defaults_to_60_and_0_turns_it_off():
    assert Config().warn_before_seconds == 60
    cfg, problems = Config.from_dict({"warnBeforeSeconds": 0})
    assert problems == [] and cfg.warn_before_seconds == 0
    cfg, problems = Config.from_dict({"warnBeforeSeconds": 12.5})
    assert problems == [] and cfg.warn_before_seconds == 12.5


def test_activity_events_default_to_none_and_take_dom_event_names():
    assert Config().activity_events == ()
    cfg, problems = Config.from_dict({"activityEvents": ["pointerdown", "keydown", "keydown"]})
    assert problems == [] and cfg.activity_events == ("pointerdown", "keydown")


@pytest.mark.parametrize(("value", "taken"), [(1, 1), (2000.0, 2000), (MAX_TIMEOUT_MS, MAX_TIMEOUT_MS)])
def test_timeout_ms_takes_whole_milliseconds_up_to_ten_minutes(value, taken):
    cfg, problems = Config.from_dict({"timeoutMs": value})
    assert problems == [] and cfg.timeout_ms == taken and isinstance(cfg.timeout_ms, int)


# -- auth: the kind of API that issues the tokens ------------------------------------------------

SIMPLEJWT = {
    "kind": "simplejwt",
    "tokenUrl": "https://api.test/api/token/",
    "refreshUrl": "https://api.test/api/token/refresh/",
    "logoutUrl": "https://api.test/api/token/blacklist/",
}
OIDC = {"kind": "oidc", "issuer": "https://id.test/realms/a", "clientId": "spa"}


def test_auth_absent_or_contract_is_this_projects_api() -> None:
    from tokensession.sources import ContractSource

    for text in ("{}", '{"auth": {"kind": "contract"}}'):
        cfg, problems = Config.from_json(text)
        assert problems == [] and cfg.auth.kind == "contract"
        assert isinstance(cfg.auth.source(), ContractSource)


def test_auth_simplejwt_makes_its_source() -> None:
    from tokensession.sources import SimpleJwtSource

    cfg, problems = Config.from_dict({"auth": SIMPLEJWT})
    assert problems == []
    source = cfg.auth.source()
    assert isinstance(source, SimpleJwtSource)
    urls = (SIMPLEJWT["tokenUrl"], SIMPLEJWT["refreshUrl"], SIMPLEJWT["logoutUrl"])
    assert (source.token_url, source.refresh_url, source.logout_url) == urls


def test_auth_oidc_keeps_issuer_client_scope_and_params() -> None:
    cfg, problems = Config.from_dict(
        {"auth": dict(OIDC, scope="openid profile offline_access", authParams={"prompt": "consent"})}
    )
    assert problems == []
    assert (cfg.auth.kind, cfg.auth.issuer, cfg.auth.client_id) == ("oidc", "https://id.test/realms/a", "spa")
    assert cfg.auth.scope == "openid profile offline_access" and cfg.auth.auth_params == (("prompt", "consent"),)
    assert Config.from_dict({"auth": OIDC})[0].auth.scope == "openid offline_access"


@pytest.mark.parametrize(
    "auth",
    [
        "oidc",
        {"kind": "saml"},
        dict(SIMPLEJWT, tokenUrl="javascript:alert(1)"),
        dict(SIMPLEJWT, refreshUrl=None),
        dict(SIMPLEJWT, logoutUrl="ftp://x/"),
        dict(OIDC, issuer="id.test"),
        dict(OIDC, clientId=""),
        dict(OIDC, scope="profile"),
        dict(OIDC, authParams={"prompt": 1}),
    ],
)
def test_a_bad_auth_falls_back_to_this_projects_api_and_says_why(auth: object) -> None:
    cfg, problems = Config.from_dict({"auth": auth})
    assert cfg.auth.kind == "contract"
    assert len(problems) == 1 and problems[0].startswith("config.json: auth ")


def test_another_kind_of_api_never_gets_the_demo_or_the_httponly_mode() -> None:
    # Fail closed: a page signing in at a real provider never swaps in a demo that takes demo/demo.
    cfg, problems = Config.from_dict({"auth": SIMPLEJWT, "demoApi": "auto", "refreshCookie": "httponly"})
    assert (cfg.demo_api, cfg.refresh_cookie) == (False, "js")
    assert len(problems) == 2
