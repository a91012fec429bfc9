"""The app of the static build signing in at a real OpenID provider (contract section 10, issue 16).

One provider (panva's oidc-provider, access tokens of :data:`ACCESS_TTL_S` seconds, its
redirect URI the site's page URL) and one static build (``tools.build_site.build`` with the
oidc kind), served by the plain file server under ``/demo-repo/`` as ``tests/static`` does;
the build waits for the provider's issuer, and the provider for the file server's port.
One browser context and one booted page for the module (the callback boots the app again in
that page, with a warm cache); each test starts signed out with the provider's cookies gone.
The site's ``refreshWindowSeconds`` (1800) is longer than a token's life, so every successful
call starts an R1 refresh: rotation with no grace at the provider, at every call.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from tests.backends.oidcproc import OidcProviderProcess, provider_available
from tests.browser.conftest import BootedPage
from tests.static.conftest import PREFIX
from tests.static.plainserver import PlainServer
from tools.build_site import build, oidc_auth

pytestmark = pytest.mark.browser

CLIENT_ID = "pyauth-page"
#: Clients of the same provider whose ID tokens are signed otherwise (the default client's: RS256).
ALG_CLIENTS = {"pyauth-page-es256": "ES256", "pyauth-page-ps256": "PS256"}
ACCESS_TTL_S = 8
SIGN_IN_FAILED = "Sign-in did not complete, please try again"
SESSION_EXPIRED = "Session expired, please sign in again"


@dataclass
class OidcSite:
    out: Path  # the built folder
    url: str  # http://127.0.0.1:PORT/demo-repo/ (the redirect URI)
    provider: OidcProviderProcess
    #: (url, status) of every answer the pages got from the provider's token endpoint.
    token_answers: list[tuple[str, int]] = field(default_factory=list)

    @property
    def token_endpoint(self) -> str:
        return self.provider.issuer + "/token"

    def refused_tokens(self) -> list[int]:
        return [status for _url, status in self.token_answers if status >= 400]

    def watch(self, page: Page) -> None:
        def seen(response: Response) -> None:
            if response.url.split("?")[0] == self.token_endpoint and response.request.method == "POST":
                self.token_answers.append((response.url, response.status))

        page.on("response", seen)


@pytest.fixture(scope="module")
def oidc_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcSite]:
    missing = provider_available()
    if missing is not None:
        pytest.skip(missing)
    parent = tmp_path_factory.mktemp("oidc-pages")
    with PlainServer(parent) as server:
        page_url = server.url + PREFIX + "/"
        provider = OidcProviderProcess(
            client_id=CLIENT_ID, redirect_uris=[page_url], access_ttl=ACCESS_TTL_S, alg_clients=ALG_CLIENTS
        )
        with provider:
            build(parent / PREFIX, auth=oidc_auth(provider.issuer, CLIENT_ID, "openid offline_access profile"))
            yield OidcSite(parent / PREFIX, page_url, provider)


@pytest.fixture(scope="module")
def oidc_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US")
    # The provider's dev login pages import a web font from the internet: answered here, empty,
    # so that nothing leaves this machine and no failed load reaches the console.
    ctx.route("https://fonts.googleapis.com/**", lambda route: route.fulfill(content_type="text/css", body=""))
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def oidc_booted(oidc_context: BrowserContext, oidc_site: OidcSite) -> BootedPage:
    bp = BootedPage(oidc_context.new_page(), oidc_site.url)
    oidc_site.watch(bp.page)
    bp.boot("#/login?redirect=%2Fplayground")
    return bp


@pytest.fixture
def signed_out(oidc_booted: BootedPage, oidc_context: BrowserContext, oidc_site: OidcSite) -> BootedPage:
    """The booted site, signed out (the provider's cookies gone too), on
    ``#/login?redirect=%2Fplayground``, with no toasts."""
    oidc_context.clear_cookies()
    oidc_booted.go("#/login?redirect=%2Fplayground")
    expect(oidc_booted.route_view()).to_have_attribute("data-route", "login")
    expect(oidc_booted.page.get_by_test_id("login-provider")).to_be_visible()
    oidc_booted.settle_toasts()
    oidc_booted.console_errors.clear()
    oidc_site.token_answers.clear()
    return oidc_booted


def sign_in_at_provider(bp: BootedPage, site: OidcSite, login: str = "alice") -> None:
    """Press the login view's button, sign in and consent at the provider's pages, and wait
    for the app to be ready again on the page the provider sent the browser back to."""
    page = bp.page
    with page.expect_navigation(url=lambda url: url.startswith(site.provider.issuer)):
        page.get_by_test_id("login-provider").press("Enter")  # the keyboard path
    for _ in range(4):
        if page.url.startswith(site.url):
            break
        with page.expect_navigation():
            if page.locator('input[name="login"]').count():
                page.locator('input[name="login"]').fill(login)
                page.locator('input[name="password"]').fill("any")
            page.locator('button[type="submit"]').click()
    assert page.url.startswith(site.url), page.url
    bp.wait_ready()


def cookie(ctx: BrowserContext, name: str) -> str | None:
    return next((c["value"] for c in ctx.cookies() if c["name"] == name and c["path"] == f"/{PREFIX}/"), None)


def refresh_count(page: Page) -> int:
    return int(page.get_by_test_id("refresh-count").inner_text())


def wait_until_expiry_is_near(page: Page, left_ms: int) -> None:
    """Wait (for the page's own clock) until the access token has at most ``left_ms`` left."""
    page.wait_for_function(
        """left => {
            const at = Number(document.querySelector('[data-testid="session-expires-at"]')?.textContent);
            return at > 0 && at - Date.now() <= left;
        }""",
        arg=left_ms,
        timeout=(ACCESS_TTL_S + 5) * 1000,
    )


def test_a_forged_code_and_state_leave_no_session(signed_out: BootedPage, oidc_context: BrowserContext) -> None:
    site_url = signed_out.origin
    page = signed_out.page
    with page.expect_navigation():
        page.get_by_test_id("login-provider").click()  # a real pending sign-in in this tab
    page.goto(site_url + "?code=forged-code&state=forged-state#/playground")
    signed_out.wait_ready()
    expect(signed_out.toasts().filter(has_text=SIGN_IN_FAILED)).to_have_count(1)
    expect(signed_out.route_view()).to_have_attribute("data-route", "login")
    assert page.url == site_url + "#/login"  # code and state gone from the address bar
    assert [c["name"] for c in oidc_context.cookies() if c["path"] == f"/{PREFIX}/"] == []
    assert page.evaluate("() => sessionStorage.length") == 0  # the pending sign-in is spent
    assert not [url for url in signed_out.requests if url.endswith("/token")]  # the state check came first


def test_the_login_button_speaks_both_languages(signed_out: BootedPage) -> None:
    # A fresh load: boot.js shows no username/password form while the runtime loads.
    signed_out.page.reload(wait_until="domcontentloaded")
    expect(signed_out.page.locator("#preboot-login")).to_have_count(0)
    signed_out.wait_ready()
    button = signed_out.page.get_by_test_id("login-provider")
    expect(button).to_have_text("Sign in with your identity provider")
    expect(signed_out.page.get_by_test_id("login-form")).to_have_count(0)  # no password form for this kind
    signed_out.page.get_by_test_id("lang-switch").click()
    expect(button).to_have_text("通过身份提供方登录")
    expect(signed_out.page.locator("#login-provider-hint")).to_contain_text("127.0.0.1")
    signed_out.page.get_by_test_id("lang-switch").click()
    expect(button).to_have_text("Sign in with your identity provider")


def test_a_sign_in_aborted_at_the_provider_is_a_toast_and_the_login_view(
    signed_out: BootedPage, oidc_context: BrowserContext, oidc_site: OidcSite
) -> None:
    page = signed_out.page
    with page.expect_navigation(url=lambda url: url.startswith(oidc_site.provider.issuer)):
        page.get_by_test_id("login-provider").click()
    with page.expect_navigation(url=lambda url: url.startswith(oidc_site.url)):
        page.locator('a[href$="/abort"]').click()  # the dev login page's "Cancel": error=access_denied
    signed_out.wait_ready()
    expect(signed_out.toasts().filter(has_text=SIGN_IN_FAILED)).to_have_count(1)
    expect(signed_out.route_view()).to_have_attribute("data-route", "login")
    assert page.url == oidc_site.url + "#/login"
    assert [c["name"] for c in oidc_context.cookies() if c["path"] == f"/{PREFIX}/"] == []
    assert oidc_site.token_answers == []


def test_sign_in_lands_on_the_kept_route_and_an_active_user_outlives_several_tokens(
    signed_out: BootedPage, oidc_context: BrowserContext, oidc_site: OidcSite
) -> None:
    page = signed_out.page
    sign_in_at_provider(signed_out, oidc_site)
    expect(signed_out.route_view()).to_have_attribute("data-route", "playground")
    assert page.url == oidc_site.url + "#/playground"  # no code, no state, no iss
    assert page.evaluate("() => sessionStorage.length") == 0
    first_refresh = cookie(oidc_context, "refresh_token")
    assert first_refresh and cookie(oidc_context, "access_token")
    # R1: each successful call (GET me = the provider's userinfo) refreshes, rotating the token.
    page.get_by_test_id("call-me").click()
    expect(page.get_by_test_id("refresh-count")).to_have_text("1")
    expect(page.get_by_test_id("request-log")).to_contain_text(f"GET {oidc_site.provider.issuer}/me → 200")
    assert cookie(oidc_context, "refresh_token") not in (None, first_refresh)
    # Active for three access tokens' lives: a call when each is about to expire keeps the session.
    seen_tokens = {cookie(oidc_context, "access_token")}
    for round_ in range(3):
        wait_until_expiry_is_near(page, 2500)
        page.get_by_test_id("call-me").click()
        expect(page.get_by_test_id("refresh-count")).to_have_text(str(round_ + 2))
        seen_tokens.add(cookie(oidc_context, "access_token"))
    assert len(seen_tokens) == 4
    assert oidc_site.refused_tokens() == []  # no invalid_grant: no spent token sent twice
    signed_out.go("#/")
    expect(page.get_by_test_id("whoami")).to_have_text("alice")
    expect(signed_out.route_view()).to_have_attribute("data-route", "home")
    assert signed_out.console_errors == []


@pytest.mark.parametrize("client_id", sorted(ALG_CLIENTS))
def test_id_tokens_signed_with_es256_and_ps256_are_verified_by_webcrypto(
    signed_out: BootedPage, oidc_site: OidcSite, client_id: str
) -> None:
    config_file = oidc_site.out / "config.json"
    original = config_file.read_text()
    config = json.loads(original)
    config["auth"]["clientId"] = client_id
    config_file.write_text(json.dumps(config))
    page = signed_out.page
    try:
        page.reload()  # the page reads its config at boot (already on that URL: goto would not load it)
        signed_out.wait_ready()
        is_code_exchange = lambda r: r.url == oidc_site.token_endpoint and r.request.method == "POST"  # noqa: E731
        with page.expect_response(is_code_exchange) as exchange:
            sign_in_at_provider(signed_out, oidc_site)
        id_token = exchange.value.json()["id_token"]
        header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
        assert header["alg"] == ALG_CLIENTS[client_id]
        expect(signed_out.route_view()).to_have_attribute("data-route", "playground")
        assert signed_out.toasts().count() == 0
    finally:
        config_file.write_text(original)
        page.goto(oidc_site.url + "#/login?redirect=%2Fplayground")
        page.reload()
        signed_out.wait_ready()


def test_two_tabs_bursting_share_each_refresh_without_one_invalid_grant(
    signed_out: BootedPage, oidc_context: BrowserContext, oidc_site: OidcSite
) -> None:
    # The second tab is up first (a boot can outlast an 8 s token), on the login view: it follows
    # the first tab's sign-in (R7) to the same route.
    other = BootedPage(oidc_context.new_page(), oidc_site.url)
    oidc_site.watch(other.page)
    try:
        other.boot("#/login?redirect=%2Fplayground")
        sign_in_at_provider(signed_out, oidc_site)
        tabs = [signed_out.page, other.page]
        for page in tabs:
            expect(page.get_by_test_id("route-view")).to_have_attribute("data-route", "playground")
        for round_ in range(2):
            if round_ == 1:
                wait_until_expiry_is_near(signed_out.page, 3000)  # this burst races the expiry
            for page in tabs:
                page.get_by_test_id("call-burst").click()
            for page in tabs:
                calls = page.locator('[data-testid="request-log"] li.good', has_text="/me → 200")
                expect(calls).to_have_count(10 * (round_ + 1))
        for page in tabs:
            expect(page.locator('[data-testid="request-log"] li.bad')).to_have_count(0)
            expect(page.get_by_test_id("route-view")).to_have_attribute("data-route", "playground")
        ok = [status for _url, status in oidc_site.token_answers if status == 200]
        assert len(ok) >= 3  # the code exchange and at least one refresh per burst
        assert oidc_site.refused_tokens() == []  # not one invalid_grant
        assert cookie(oidc_context, "refresh_token")
    finally:
        other.page.close()


def test_an_idle_session_ends_at_expiry(
    signed_out: BootedPage, oidc_context: BrowserContext, oidc_site: OidcSite
) -> None:
    sign_in_at_provider(signed_out, oidc_site)
    expect(signed_out.route_view()).to_have_attribute("data-route", "playground")
    expect(signed_out.toasts().filter(has_text=SESSION_EXPIRED)).to_have_count(1, timeout=(ACCESS_TTL_S + 5) * 1000)
    expect(signed_out.page).to_have_url(oidc_site.url + "#/login?redirect=%2Fplayground")
    expect(signed_out.route_view()).to_have_attribute("data-route", "login")
    assert cookie(oidc_context, "access_token") is None and cookie(oidc_context, "refresh_token") is None


def test_sign_out_revokes_the_refresh_token_at_the_provider(
    signed_out: BootedPage, oidc_context: BrowserContext, oidc_site: OidcSite
) -> None:
    page = signed_out.page
    sign_in_at_provider(signed_out, oidc_site)
    signed_out.go("#/")
    expect(page.get_by_test_id("whoami")).to_have_text("alice")
    held = cookie(oidc_context, "refresh_token")
    assert held
    revocation = oidc_site.provider.issuer + "/token/revocation"
    with page.expect_response(lambda r: r.url == revocation) as answer:
        page.get_by_test_id("logout").click()
    assert answer.value.status == 200
    expect(signed_out.route_view()).to_have_attribute("data-route", "login")
    assert cookie(oidc_context, "refresh_token") is None
    refused = httpx.post(
        oidc_site.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": held, "client_id": CLIENT_ID},
        timeout=10,
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_the_build_asks_for_the_provider_and_the_scope(oidc_site: OidcSite) -> None:  # what the page runs on
    config = json.loads(httpx.get(oidc_site.url + "config.json", timeout=10).text)
    assert config["auth"] == {
        "kind": "oidc",
        "issuer": oidc_site.provider.issuer,
        "clientId": CLIENT_ID,
        "scope": "openid offline_access profile",
    }
    assert config["demoApi"] is False and urlsplit(oidc_site.url).path == f"/{PREFIX}/"
    # No username/password form before the app is up either (boot.js reads this).
    assert '<html data-sign-in="provider" ' in (oidc_site.out / "index.html").read_text()
