"""The library's page adapters: only these modules import ``js``/``pyodide``/``pyscript``, and only in a page.

    from tokensession.browser.page import page_client           # all of the below, wired from config.json
                                                                # (transport=: any other Transport, e.g. an in-page API)
    from tokensession.browser.fetch import FetchTransport       # Transport over fetch (R6 timeout)
    from tokensession.browser.cookies import DocumentCookieJar, base_path, is_https
    from tokensession.browser.locks import WebLock              # one refresh across tabs (R7)
    from tokensession.browser.storage import local_storage      # localStorage as a KeyValue (an in-page API's state)
    from tokensession.browser.sync_http import requests_session # requests + pyodide-http, installed on first use

Everything else in ``tokensession`` imports under plain CPython (``tests/test_architecture.py``).
"""
