"""What Pyodide and MicroPython do differently at the JavaScript boundary, in one place.

The page adapters run on both interpreters PyScript offers (contract section 11). Most of
the boundary is the same (``from pyscript import window``, ``pyscript.ffi.create_proxy`` and
``to_js``, awaiting a JS promise); the few calls that differ are here, so the adapters stay
one source::

    from tokensession.browser.runtime import JsException, error_name, release, to_bytes

    try:
        data = await some_js_promise
    except JsException as exc:
        if error_name(exc) == "TimeoutError": ...
    body = to_bytes(uint8array)                       # a JS Uint8Array as bytes
    release(proxy)                                     # give a create_proxy() back (Pyodide)

MicroPython 1.27 passes a JS number that is a whole number as a 32-bit int (bigger ones wrap):
read the clock with :func:`now_ms`, never ``Date.now()`` directly.

On MicroPython a JS exception thrown *synchronously* by a JS call is not a Python exception
(it unwinds through the interpreter, past every ``except``): only a rejected promise raises
``JsException`` there. A call that may throw at once (refused storage, a lock request the
browser rejects, a bad timeout) goes through :func:`js_call` or :func:`js_global`, which
raise ``JsException`` on both runtimes::

    storage = js_global("localStorage")               # JsException where storage is refused
    js_call(storage, "setItem", "k", "v")
"""

from __future__ import annotations

import sys
from typing import Any

from pyscript import window  # type: ignore[import-not-found]
from pyscript.ffi import create_proxy, to_js  # type: ignore[import-not-found]

#: The interpreter running the page: ``"micropython"`` or ``"pyodide"``.
RUNTIME = "micropython" if sys.implementation.name == "micropython" else "pyodide"

if RUNTIME == "micropython":
    from jsffi import JsException  # type: ignore[import-not-found]
else:
    from pyodide.ffi import JsException  # type: ignore[import-not-found,no-redef]

__all__ = [
    "RUNTIME",
    "JsException",
    "error_name",
    "js_call",
    "js_function",
    "js_global",
    "now_ms",
    "once",
    "release",
    "to_bytes",
    "uint8array",
]


def error_name(exc: BaseException) -> str | None:
    """The JS error's ``name`` (``"TimeoutError"``, ``"AbortError"``, ...) of a ``JsException``.

    Pyodide gives it as ``exc.name``; MicroPython as the second of ``exc.args``
    (``(error, name, message)``).
    """
    name = getattr(exc, "name", None)
    if name is None and len(exc.args) > 1:
        name = exc.args[1]
    return None if name is None else str(name)


def to_bytes(array: Any) -> bytes:
    """A JS ``Uint8Array`` as ``bytes``."""
    if RUNTIME == "micropython":
        return bytes(array)
    return bytes(array.to_bytes())


def uint8array(data: bytes) -> Any:
    """``bytes`` as a new JS ``Uint8Array``."""
    if RUNTIME == "micropython":
        return window.Uint8Array.new(to_js(list(data)))
    return window.Uint8Array.new(to_js(data))


def js_function(source: str) -> Any:
    """The JS function whose source is ``source`` (an arrow function), evaluated once in the
    page's global scope (the CSP allows ``'unsafe-eval'``: PyScript needs it anyway)."""
    return window.eval(source)


# target[name](...args), or globalThis[name] when target is null, with a throw handed back as a
# value: MicroPython cannot catch a JS exception thrown during a call (the module's docstring).
# Not target[name] for any target: MicroPython hands a Python object (``pyscript.window`` is
# one) to JS as a proxy whose property reads call back into Python, where a throw is as bad.
_GUARD_JS = """(target, name, ...args) => {
    try { return {threw: false, value: target === null ? globalThis[name] : target[name](...args)} }
    catch (e) { return {threw: true, error: e, name: String(e && e.name), message: String(e && e.message)} }
}"""
_guard: list[Any] = []


def _guarded(target: Any, name: str, args: tuple[Any, ...]) -> Any:
    if RUNTIME != "micropython":  # Pyodide raises a JS throw as JsException itself
        return getattr(window, name) if target is None else getattr(target, name)(*args)
    if not _guard:
        _guard.append(js_function(_GUARD_JS))
    result = _guard[0](target, name, *args)
    if result.threw:
        raise JsException(result.error, str(result.name), str(result.message))
    return result.value


def js_call(target: Any, method: str, *args: Any) -> Any:
    """``target.method(*args)`` where a JS exception thrown at once raises ``JsException`` on
    both runtimes (MicroPython cannot catch it otherwise).

    >>> js_call(window.localStorage, "setItem", "k", "v")   # doctest: +SKIP
    """
    return _guarded(target, method, args)


def js_global(name: str) -> Any:
    """``window[name]``, where a getter that throws (``localStorage`` where storage is refused)
    raises ``JsException`` on both runtimes.

    >>> storage = js_global("sessionStorage")   # doctest: +SKIP
    """
    return _guarded(None, name, ())


_clock: list[Any] = []


def now_ms() -> float:
    """The page's clock, ``Date.now()``: ms since the epoch.

    Not ``window.Date.now()`` as such: MicroPython 1.27 turns a JS number that is a whole
    number into a 32-bit int, and the epoch in ms is past 2**31 (it came back wrapped). As
    text it crosses whole on both runtimes.
    """
    if not _clock:
        _clock.append(js_function("() => String(Date.now())"))
    return float(_clock[0]())


def once(callback: Any) -> Any:
    """A JS callable of ``callback`` for one call: Pyodide frees it after that call
    (``create_once_callable``); MicroPython's proxies are freed by its garbage collector."""
    if RUNTIME == "micropython":
        return create_proxy(callback)
    from pyodide.ffi import create_once_callable  # type: ignore[import-not-found]

    return create_once_callable(callback)


def release(proxy: Any) -> None:
    """Give back a proxy from ``create_proxy`` or :func:`once` that will not be called again
    (Pyodide's ``destroy``; nothing to do on MicroPython, where the collector frees it)."""
    destroy = getattr(proxy, "destroy", None)
    if RUNTIME != "micropython" and destroy is not None:
        destroy()
