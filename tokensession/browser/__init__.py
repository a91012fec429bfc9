"""The library's page adapters: only these modules import ``js``/``pyodide``, and only in a page.

    from tokensession.browser.fetch import FetchTransport       # Transport over fetch (R6 timeout)
    from tokensession.browser.cookies import DocumentCookieJar, base_path, is_https
    from tokensession.browser.locks import WebLock              # one refresh across tabs (R7)

Everything else in ``tokensession`` imports under plain CPython.
"""
