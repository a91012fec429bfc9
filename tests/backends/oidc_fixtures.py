"""Fixtures for the tests against a real OpenID provider (panva's oidc-provider, started by
:mod:`tests.backends.oidcproc`), and a stand-in for the person at the browser: plain HTTP
that follows the provider's redirects by hand, fills the dev login form and the consent
form, and stops at the redirect URI (which nothing needs to serve).

Imported by the test modules (``from tests.backends.oidc_fixtures import *``) rather than
registered in ``tests/backends/conftest.py``, which another server's tests own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx
import pytest

from tests.backends.oidcproc import OidcProviderProcess, provider_available

__all__ = ["CLIENT_ID", "REDIRECT_URI", "ProviderBrowser", "oidc_provider"]

CLIENT_ID = "pyauth-spa"
#: The page's own URL (contract §10: without query or fragment); no server answers there.
REDIRECT_URI = "http://127.0.0.1:9/app/"
ACCESS_TTL = 6


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[OidcProviderProcess]:
    """One provider per test module; every test signs in afresh, so their grants are apart."""
    missing = provider_available()
    if missing is not None:
        pytest.skip(missing)
    with OidcProviderProcess(client_id=CLIENT_ID, redirect_uris=[REDIRECT_URI], access_ttl=ACCESS_TTL) as provider:
        yield provider


class ProviderBrowser:
    """A person at a browser, signing in at the provider: ``sign_in(url)`` answers the query
    string the provider sent back to the redirect URI (``code``, ``state``, ``iss``...)."""

    def __init__(self, redirect_uri: str = REDIRECT_URI) -> None:
        self.redirect_uri = redirect_uri
        self.client = httpx.Client(timeout=10)  # keeps the provider's interaction cookies

    def sign_in(self, authorization_url: str, login: str = "alice", *, abort: bool = False) -> str:
        """Open ``authorization_url``, sign in as ``login`` (any password) and consent; with
        ``abort``, follow the login page's abort link instead (``error=access_denied``)."""
        response = self.client.get(authorization_url)
        for _ in range(10):
            if response.status_code in (302, 303):
                url = urljoin(str(response.url), response.headers["location"])
                if url.startswith(self.redirect_uri):
                    return url[len(self.redirect_uri) :].lstrip("?")
                response = self.client.get(url)
            elif response.status_code == 200:
                response = self._answer_page(response, login, abort)
            else:
                raise AssertionError(f"provider answered {response.status_code}: {response.text[:500]}")
        raise AssertionError("no redirect back to the app after 10 steps")

    def _answer_page(self, page: httpx.Response, login: str, abort: bool) -> httpx.Response:
        if abort:
            link = re.search(r'href="([^"]*/abort)"', page.text)
            assert link, "the dev login page has an abort link"
            return self.client.get(urljoin(str(page.url), link.group(1)))
        form = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert form, f"a form on the provider's page: {page.text[:300]}"
        action = urljoin(str(page.url), form.group(1))
        if 'name="login"' in page.text:
            return self.client.post(action, data={"prompt": "login", "login": login, "password": "any"})
        return self.client.post(action, data={"prompt": "consent"})

    def close(self) -> None:
        self.client.close()
