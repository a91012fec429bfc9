# The playground's requests worker (tokensession.browser.requests_worker): Pyodide in a
# PyScript worker, started on the first click of "GET me with requests" on a page whose own
# interpreter has no requests (MicroPython). requests-worker.toml installs requests,
# pyodide-http and the tokensession wheel from our origin before this runs.
import pyodide_http

from tokensession.relay import run_order_json

pyodide_http.patch_all()  # requests and urllib over synchronous XHR (fine in a worker)


def run(order_json):
    """One call for the page (tokensession.relay): JSON in, JSON out."""
    return run_order_json(order_json)


__export__ = ["run"]
