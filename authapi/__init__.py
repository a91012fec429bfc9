"""Reference auth API: the server side of the contract (section 3).

Framework-free at its core so that the same handlers serve three drivers:
the ASGI adapter mounted by ``serve.py``, the in-memory transport used by the
client's CPython tests, and (later) the in-page demo API of the static build.
"""
