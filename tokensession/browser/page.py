"""One call to set a PyScript page up with a session client: config, transport, cookies, lock.

    from tokensession.browser.page import page_client

    page = await page_client()                    # reads ./config.json; fetch to its apiBase
    await page.api.login("demo", "demo")
    me = (await page.api.get("me")).json()

The transport is ``fetch`` to ``apiBase`` unless ``transport=`` says
otherwise (see :func:`page_client`): that is the seam through which a page
plugs in an API that answers inside the page, such as the reference API's
demo (``authapi.inpage.in_page_demo``), decided once here. With an API in the
page the HttpOnly refresh mode falls back to ``"js"`` and ``problems`` says
why (:meth:`Config.for_api_in_page`). Cookies use the page's folder as their
``Path`` and are ``Secure`` over https; refreshes are one at a time across
tabs (a Web Lock named ``lock_name``; tabs of one app must use one name).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from pyscript import window  # type: ignore[import-not-found]
from pyscript.ffi import to_js  # type: ignore[import-not-found]

from tokensession.browser import runtime
from tokensession.browser.cookies import DocumentCookieJar, base_path, is_https
from tokensession.browser.fetch import FetchTransport
from tokensession.browser.locks import WebLock, grant_timeout_ms
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.sources import TokenSource
from tokensession.transport import Transport

if TYPE_CHECKING:
    from tokensession.browser.oidc_page import OidcPage

#: ``transport=`` as a choice made at boot: ``async (config, fetch_transport) -> (transport,
#: in_page)``, where ``in_page`` says the API answers inside the page (no server behind it).
TransportChoice: TypeAlias = Callable[[Config, Transport], Awaitable[tuple[Transport, bool]]]


@dataclass
class PageClient:
    """What :func:`page_client` set up. ``demo``: the API answers inside the page (``transport=``
    chose so). ``problems``: what was wrong with the config, and what changed because of it."""

    api: ApiClient
    config: Config
    transport: Transport
    jar: DocumentCookieJar
    demo: bool
    problems: list[str] = field(default_factory=list)
    #: The OpenID provider (config ``auth`` kind ``oidc``): its sign-in and its ``userinfo_endpoint``.
    oidc: OidcPage | None = None


def now_ms() -> float:
    """The page's clock: ms since the epoch (``Date.now()``, read as :func:`runtime.now_ms` does)."""
    return runtime.now_ms()


async def load_config(url: str = "config.json") -> tuple[Config, list[str]]:
    """``config.json`` (relative to the page), or the defaults and why; never raises.

    >>> config, problems = await load_config("config.json")  # doctest: +SKIP
    """
    try:
        resp = await window.fetch(url, to_js({"cache": "no-cache"}))
        if not resp.ok:
            return Config(), [f"{url} answered {resp.status}; using defaults"]
        return Config.from_json(str(await resp.text()))
    except Exception as exc:  # network failure: the page still works on defaults
        return Config(), [f"{url} could not be loaded ({exc}); using defaults"]


async def page_client(
    config: Config | None = None,
    *,
    config_url: str | None = "config.json",
    lock_name: str = "tokensession-refresh",
    transport: Transport | TransportChoice | None = None,
) -> PageClient:
    """An :class:`ApiClient` for this page, over ``fetch`` or the transport ``transport=`` gives.

    ``config`` wins over ``config_url``; with neither, the defaults.

    ``transport``: ``None`` (``fetch`` to ``config.api_base``), a ``Transport``
    to use as it is, or a :data:`TransportChoice`, awaited once with the config
    and the ``fetch`` transport and answering ``(transport, in_page)``. That is
    how a page runs the reference API's in-page demo when its config asks for
    one (``"demoApi"``; ``authapi.inpage`` decides, probing ``GET info``)::

        from authapi.inpage import in_page_demo

        page = await page_client(transport=in_page_demo())
        if page.demo:                                 # the API answers inside the page
            show_banner(pick(DEMO_BANNER, lang))

    With config ``auth`` of kind ``oidc`` the provider's discovery document is fetched here
    (its token and revocation endpoints make the client's source) and ``page.oidc`` signs in
    (:mod:`tokensession.browser.oidc_page`); a provider that cannot be used is in ``problems``.

    A config that asks for a demo API on a page that offers none (no
    ``transport`` choice) keeps ``fetch`` and says so in ``problems``.

    >>> page = await page_client(lock_name="pyapp-refresh")  # doctest: +SKIP
    >>> page.demo, page.config.api_base                       # doctest: +SKIP
    (False, 'api/v1')
    """
    problems: list[str] = []
    if config is None:
        config, problems = await load_config(config_url) if config_url else (Config(), [])
    cookie_path = base_path()
    real = FetchTransport(config.api_base)
    chosen: Transport = real
    demo = False
    if transport is None:
        if config.demo_api is not False:
            problems.append(
                f"config.json: demoApi {json.dumps(config.demo_api)} but this page has no in-page API "
                "(page_client(transport=...)); using the API at apiBase"
            )
    elif isinstance(transport, Transport):
        chosen = transport
    else:
        chosen, demo = await transport(config, real)
    if demo:
        config, why = config.for_api_in_page()  # the page cannot set HttpOnly cookies
        if why:
            problems.append(why)
    oidc: OidcPage | None = None
    source: TokenSource
    if config.auth.kind == "oidc":  # the source comes from the provider's discovery document
        # Imported here: a page of another kind never loads the OpenID code at boot.
        from tokensession.browser.oidc_page import OidcPage

        oidc = await OidcPage.discover(config.auth, real, config.timeout_ms)
        if oidc.problem is not None:
            problems.append(oidc.problem)
        source = oidc.source
    else:
        source = config.auth.source(config.refresh_cookie)
    jar = DocumentCookieJar()
    api = ApiClient(
        config,
        chosen,
        jar,
        now_ms,
        lock=WebLock(lock_name, grant_timeout_ms=grant_timeout_ms(config.timeout_ms)),
        cookie_path=cookie_path,
        secure=is_https(),
        idle_warning_seconds=config.warn_before_seconds,
        refresh_cookie=config.refresh_cookie,
        source=source,
    )
    return PageClient(api, config, chosen, jar, demo, problems, oidc)
