"""The static build (contract section 9) and the oidc kind (section 10) in Firefox ESR and WebKitGTK.

One dumb file server (tests/static/plainserver.py: no compression, no headers) serves two
builds side by side, as two repositories of one GitHub Pages user would be:

- ``/demo-repo/``: ``./build.sh OUT`` as the Pages workflow runs it; no API answers there, so
  the in-page demo API serves (its tokens live 20 s, the refresh window is 1800 s: every
  successful call refreshes, R1);
- ``/pyodide-repo/``: the same with ``--runtime pyodide`` (the snapshot loader, gunzipping the
  runtime's ``.gz`` files where the host sends them as they are);
- ``/oidc-repo/``: ``tools.build_site.build`` with the oidc kind, signing in at panva's
  oidc-provider (tests/backends/oidc_provider.mjs) on another port, as tests/browser/
  test_oidc_page.py does in Chromium.

One browser per engine, its profile fresh (``engine_browser``); the cookies of the two builds
never meet (each app's cookies carry its own path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import serve
from tests.backends.oidcproc import OidcProviderProcess, provider_available
from tests.browser.engines.drivers import EnginePage
from tests.static.conftest import build_site
from tests.static.plainserver import PlainServer
from tools.build_site import build, oidc_auth

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:setting remote_server_addr:DeprecationWarning"),
]

DEMO, PYODIDE, OIDC = "demo-repo", "pyodide-repo", "oidc-repo"
#: The builds with the in-page demo API, and the runtime each runs on.
DEMO_BUILDS = [(DEMO, serve.DEFAULT_RUNTIME), (PYODIDE, "pyodide")]
CLIENT_ID = "pyauth-page"
ACCESS_TTL_S = 20  # the provider's; a boot back from it takes seconds
TOASTS = "[...document.querySelectorAll('[data-testid=toast]')]"
SESSION_COOKIES = {"access_token", "refresh_token", "utilTime", "expires_in"}


@dataclass(frozen=True)
class Sites:
    server: str  # http://127.0.0.1:PORT/
    provider: OidcProviderProcess | None  # None: it cannot run here (no Node.js or no npm package)

    def url(self, prefix: str) -> str:
        return f"{self.server}{prefix}/"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    parent = tmp_path_factory.mktemp("engine-pages")
    build_site(parent / DEMO)
    build_site(parent / PYODIDE, "--runtime", "pyodide")
    with PlainServer(parent) as server:
        if provider_available() is not None:
            yield Sites(server.url, None)
            return
        # The issuer carries the provider's port, the redirect URI the file server's.
        provider = OidcProviderProcess(
            client_id=CLIENT_ID, redirect_uris=[server.url + OIDC + "/"], access_ttl=ACCESS_TTL_S
        )
        with provider:
            build(parent / OIDC, auth=oidc_auth(provider.issuer, CLIENT_ID, "openid offline_access profile"))
            yield Sites(server.url, provider)


def session_cookies(page: EnginePage) -> list[dict]:
    return [c for c in page.cookies() if c["name"] in SESSION_COOKIES]


@pytest.mark.parametrize(("prefix", "runtime"), DEMO_BUILDS, ids=[p for p, _ in DEMO_BUILDS])
def test_the_static_build_under_a_prefix_boots_signs_in_to_the_kept_route_and_refreshes(
    engine_browser: EnginePage, sites: Sites, prefix: str, runtime: str
) -> None:
    page, site = engine_browser, sites.url(prefix)
    page.boot(site + "#/playground")
    page.wait_route("login")
    assert page.eval("location.hash") == "#/login?redirect=%2Fplayground"
    assert page.eval("document.documentElement.dataset.runtime") == runtime
    boot = page.eval("document.documentElement.dataset.pyodideBoot ?? null")
    assert boot in (("snapshot", "plain") if runtime == "pyodide" else (None,))
    assert page.eval("!!document.querySelector('[data-testid=demo-banner]')?.offsetParent")  # shown
    # Every request of the boot stayed under the prefix, on this origin (nothing from "/" or a CDN).
    urls = page.eval("performance.getEntriesByType('resource').map(r => r.name)")
    assert [u for u in urls if not u.startswith(site)] == []
    page.eval("(performance.clearResourceTimings(), null)")
    page.sign_in()
    page.wait_route("playground")
    assert page.eval("location.hash") == "#/playground"
    cookies = session_cookies(page)
    assert {c["name"] for c in cookies} == SESSION_COOKIES
    assert {c["path"] for c in cookies} == {f"/{prefix}/"}
    assert {c["sameSite"] for c in cookies} == {"Strict"}
    # R1: a successful call with less than the window (1800 s) left refreshes once.
    expires = int(page.text("session-expires-at"))
    page.click("call-me")
    page.wait_for("document.querySelector('[data-testid=refresh-count]').textContent === '1'", "one refresh")
    page.wait_for(
        "document.querySelector('[data-testid=request-log]').textContent.includes('GET me → 200')", "GET me → 200"
    )
    page.wait_for(
        f"Number(document.querySelector('[data-testid=session-expires-at]').textContent) > {expires}", "a later expiry"
    )
    assert page.eval("location.hash") == "#/playground"
    assert page.eval(f"{TOASTS}.length") == 0
    # Sign-in, GET me and the refresh never left the page: the demo API answers inside it.
    api = page.eval(
        f"performance.getEntriesByType('resource').filter(r => r.name.startsWith({json.dumps(site + 'api/')})).length"
    )
    assert api == 0


def sign_in_at_provider(page: EnginePage, provider: OidcProviderProcess, site: str) -> list[str]:
    """From the login view: Enter on ``login-provider``, the provider's login page (any user,
    any password) and its consent page, and back to the site, booted again. The provider's
    pages it went through: ``login``, ``consent``."""
    seen: list[str] = []
    page.eval("(document.querySelector('[data-testid=login-provider]').focus(), null)")
    page.press_enter()  # the keyboard path
    page.wait_for(f"location.href.startsWith({json.dumps(provider.issuer)})", "the provider's page", navigating=True)
    for _ in range(4):
        here = page.wait_for(
            "document.readyState !== 'loading' && !window.__leaving && location.href", "a page", navigating=True
        )
        if here.startswith(site):
            break
        page.wait_for("!!document.querySelector('button[type=submit]')", "the provider's form", navigating=True)
        if page.eval("!!document.querySelector('input[name=login]')"):
            seen.append("login")
            page.type_into("input[name=login]", "alice")
            page.type_into("input[name=password]", "any")
        else:
            seen.append("consent")
        page.eval("(window.__leaving = true, null)")  # the next page is another document
        page.click_on("button[type=submit]")
    page.wait_ready(navigating=True)
    return seen


def test_the_oidc_kind_signs_in_at_the_provider_to_the_kept_route_and_refreshes(
    engine_browser: EnginePage, sites: Sites
) -> None:
    if sites.provider is None:
        pytest.skip(str(provider_available()))
    page, site, provider = engine_browser, sites.url(OIDC), sites.provider
    page.boot(site + "#/playground")
    page.wait_route("login")
    assert page.eval("location.hash") == "#/login?redirect=%2Fplayground"
    assert sign_in_at_provider(page, provider, site) == ["login", "consent"]
    page.wait_route("playground")
    assert page.eval("location.href") == site + "#/playground"  # no code, no state, no iss
    assert page.eval("sessionStorage.length") == 0  # the pending sign-in is spent
    cookies = {c["name"]: c for c in session_cookies(page)}
    assert set(cookies) == SESSION_COOKIES
    assert {c["path"] for c in cookies.values()} == {f"/{OIDC}/"}
    first_refresh = cookies["refresh_token"]["value"]
    # R1: GET me is the provider's userinfo; a success refreshes at its token endpoint (rotation).
    page.click("call-me")
    page.wait_for("document.querySelector('[data-testid=refresh-count]').textContent === '1'", "one refresh")
    page.wait_for(
        f"document.querySelector('[data-testid=request-log]').textContent.includes({json.dumps(f'GET {provider.issuer}/me → 200')})",
        "GET me at the provider → 200",
    )
    refreshed = {c["name"]: c["value"] for c in session_cookies(page)}
    assert refreshed["refresh_token"] not in ("", first_refresh)
    assert page.eval(f"{TOASTS}.length") == 0
    page.go("#/")
    page.wait_route("home")
    page.wait_for("document.querySelector('[data-testid=whoami]')?.textContent === 'alice'", "whoami alice")
