"""Hash routes (contract section 5), pure: parse, guard, and safe redirects.

route = parse("#/login?redirect=%2Fplayground")
assert route.name == "login" and route.query["redirect"] == "/playground"
assert guard(parse("#/playground"), signed_in=False) == "#/login?redirect=%2Fplayground"
assert safe_redirect("//evil.example") is None
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote

ROUTES = {"/login": "login", "/": "home", "/playground": "playground"}
PROTECTED = frozenset({"home", "playground"})


@dataclass(frozen=True)
class Route:
    """A parsed hash: ``name`` is login|home|playground|not-found."""

    name: str
    path: str
    query: dict[str, str] = field(default_factory=dict)

    @property
    def full_path(self) -> str:
        """The route as the seed's ``router.currentRoute.fullPath``: path plus query."""
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.query.items())


def parse(hash_: str) -> Route:
    """A ``location.hash`` (with or without ``#``) as a Route; empty means home."""
    s = hash_[1:] if hash_.startswith("#") else hash_
    path, _, qs = s.partition("?")
    path = unquote(path) or "/"
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = dict(parse_qsl(qs, keep_blank_values=True)) if qs else {}
    return Route(ROUTES.get(path, "not-found"), path, query)


def login_hash(return_to: str) -> str:
    """``#/login?redirect=<route>``, the route URL-encoded as the contract shows."""
    return "#/login?redirect=" + quote(return_to, safe="")


def guard(route: Route, signed_in: bool) -> str | None:
    """Where to go instead of ``route``, or None to render it.

    A protected route without a session goes to login, remembering itself.
    """
    if route.name in PROTECTED and not signed_in:
        return login_hash(route.full_path)
    return None


def safe_redirect(value: str | None) -> str | None:
    """The in-app route ``value`` names, or None when it is not safely ours.

    Safe: starts with one ``/``, no scheme, no backslash, no control or white
    space characters (browsers drop or fold them, which is how ``/\\evil.com``
    and ``/ /evil.com`` tricks work), and not the login page itself.
    """
    if not value or len(value) > 2048:
        return None
    v = value
    for _ in range(3):  # a value encoded twice must not slip through after a later decode
        if "%" not in v:
            break
        v = unquote(v)
    if not v.startswith("/") or v.startswith("//") or "\\" in v:
        return None
    if any(c.isspace() or not c.isprintable() for c in v):
        return None
    if ":" in v.partition("?")[0]:
        return None
    if parse(v).name == "login":
        return None
    return v
