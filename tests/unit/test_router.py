import pytest

from pyapp import router


@pytest.mark.parametrize(
    ("hash_", "name", "path"),
    [
        ("", "home", "/"),
        ("#", "home", "/"),
        ("#/", "home", "/"),
        ("#/login", "login", "/login"),
        ("#/login?redirect=%2Fplayground", "login", "/login"),
        ("#/playground", "playground", "/playground"),
        ("#/playground/", "playground", "/playground"),
        ("#/nope", "not-found", "/nope"),
        ("#/playground/deeper", "not-found", "/playground/deeper"),
        ("#playground", "playground", "/playground"),
    ],
)
def test_parse_names_each_route(hash_, name, path):
    route = router.parse(hash_)
    assert (route.name, route.path) == (name, path)


def test_parse_decodes_the_redirect_query():
    assert router.parse("#/login?redirect=%2Fplayground").query == {"redirect": "/playground"}


def test_protected_route_without_session_goes_to_login_remembering_itself():
    assert router.guard(router.parse("#/playground"), signed_in=False) == "#/login?redirect=%2Fplayground"
    assert router.guard(router.parse("#/"), signed_in=False) == "#/login?redirect=%2F"


def test_protected_route_with_session_renders():
    assert router.guard(router.parse("#/playground"), signed_in=True) is None


def test_public_routes_render_without_session():
    assert router.guard(router.parse("#/login"), signed_in=False) is None
    assert router.guard(router.parse("#/nope"), signed_in=False) is None


def test_full_path_keeps_the_query_for_redirects():
    route = router.parse("#/playground?tab=log&x=a%20b")
    assert route.full_path == "/playground?tab=log&x=a%20b"
    assert router.parse(router.login_hash(route.full_path)).query["redirect"] == route.full_path


@pytest.mark.parametrize("value", ["/", "/playground", "/playground?tab=1", "/nope"])
def test_safe_redirect_accepts_in_app_routes(value):
    assert router.safe_redirect(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "playground",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/javascript:alert(1)",
        "%2F%2Fevil.example",
        "%252F%252Fevil.example",
        "/%5Cevil.example",
        "/ /evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/login",
        "/login?redirect=%2F",
        "/" + "a" * 5000,
    ],
)
def test_safe_redirect_refuses_anything_else(value):
    assert router.safe_redirect(value) is None
