"""Reference auth API: the server side of the contract (section 3).

Framework-free at its core so that the same handlers serve three drivers:
the ASGI adapter mounted by ``serve.py``, the in-memory transport used by the
client's CPython tests, and the in-page demo API that the page runs itself when its
config asks for it (``demoApi``; the static build has no server to call).
"""
