"""One call to set a PyScript page up with a session client: config, transport, cookies, lock.

    from tokensession.browser.page import page_client

    page = await page_client()                    # reads ./config.json
    await page.api.login("demo", "demo")
    me = (await page.api.get("me")).json()
    if page.demo:                                 # no API answered: the in-page demo API serves
        show_banner(pick(DEMO_BANNER, lang))

The transport is ``fetch`` to ``apiBase``, or the in-page demo API per
``demoApi`` (contract section 8; see :mod:`tokensession.demo`), decided once
here (the HttpOnly refresh mode needs a real API: with the demo API it falls
back to ``"js"`` and ``problems`` says why). Cookies use the page's folder as their ``Path`` and are ``Secure`` over
https; refreshes are one at a time across tabs (a Web Lock named
``lock_name``; tabs of one app must use one name).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyscript import window  # type: ignore[import-not-found]
from pyscript.ffi import to_js  # type: ignore[import-not-found]

from tokensession.browser.cookies import DocumentCookieJar, base_path, is_https
from tokensession.browser.fetch import FetchTransport
from tokensession.browser.locks import WebLock
from tokensession.browser.storage import local_storage
from tokensession.client import ApiClient
from tokensession.config import Config
from tokensession.demo import STATE_KEY, DemoApiUnavailable, choose_transport, demo_refresh_cookie
from tokensession.transport import Transport


@dataclass
class PageClient:
    """What :func:`page_client` set up. ``problems``: what was wrong with the config (or the demo API)."""

    api: ApiClient
    config: Config
    transport: Transport
    jar: DocumentCookieJar
    demo: bool
    problems: list[str] = field(default_factory=list)


def now_ms() -> float:
    """The page's clock: ms since the epoch (``Date.now()``)."""
    return float(window.Date.now())


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
) -> PageClient:
    """An :class:`ApiClient` for this page, over ``fetch`` or the in-page demo API.

    ``config`` wins over ``config_url``; with neither, the defaults. When a
    demo API is wanted but ``authapi`` is not installed, the page keeps
    ``fetch`` and says so in ``problems``.

    >>> page = await page_client(lock_name="pyapp-refresh")  # doctest: +SKIP
    >>> page.demo, page.config.api_base                       # doctest: +SKIP
    (True, 'api/v1')
    """
    problems: list[str] = []
    if config is None:
        config, problems = await load_config(config_url) if config_url else (Config(), [])
    cookie_path = base_path()
    real = FetchTransport(config.api_base)
    transport: Transport = real
    demo = False
    try:
        # One demo API state per app: two apps on one origin differ by their path.
        transport, demo = await choose_transport(config, real, local_storage(), key=f"{STATE_KEY}:{cookie_path}")
    except DemoApiUnavailable as exc:
        problems.append(str(exc))
    config, why = demo_refresh_cookie(config, demo)  # the demo API cannot set HttpOnly cookies
    if why:
        problems.append(why)
    jar = DocumentCookieJar()
    api = ApiClient(
        config,
        transport,
        jar,
        now_ms,
        lock=WebLock(lock_name),
        cookie_path=cookie_path,
        secure=is_https(),
        idle_warning_seconds=config.warn_before_seconds,
        refresh_cookie=config.refresh_cookie,
    )
    return PageClient(api, config, transport, jar, demo, problems)
