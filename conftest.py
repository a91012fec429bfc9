"""Root of the test collection: which modules ``--doctest-modules`` may import.

The page adapters import ``js``/``pyscript``, which exist only in the browser;
their examples are illustrative and run in the browser tests instead.
"""

collect_ignore = ["tokensession/browser", "pyapp/browser", "web", "static", "node_modules", "bench", "tools"]
