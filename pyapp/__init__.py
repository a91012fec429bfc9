"""pyapp: a signed-in single-page app in Python, and the session library inside it.

Everything here imports under plain CPython except ``pyapp.browser``, the thin
shell that touches ``js``/``pyscript``. The session library (policy, cookies,
client, transports) is usable on its own, in the page or in scripts.
"""

__version__ = "0.1.0"
