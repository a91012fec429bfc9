"""The browser shell: the only modules that import ``js``, ``pyodide`` or ``pyscript``.

Each is a thin adapter behind a seam that the rest of ``pyapp`` defines, so the
app's behaviour is tested in CPython with fakes and only the wiring here needs
a browser.
"""
