"""A key-value seam over ``localStorage`` (synchronous, shared by the origin's tabs): where the
in-page demo API (``authapi.inpage``) keeps its state.

storage = local_storage()           # LocalStorage, or an in-memory dict where storage is refused
storage.set("k", "v"); storage.get("k")    # 'v'
"""

from __future__ import annotations

from typing import Any

from pyscript import window  # type: ignore[import-not-found]

from tokensession.browser.runtime import JsException, js_call, js_global


class LocalStorage:
    """``window.localStorage`` as a ``KeyValue`` seam (``get`` and ``set`` of strings).

    Each ``get`` reads the browser's current value, so a tab sees what another
    tab wrote; each ``set`` is one atomic write of one value.
    """

    def __init__(self, storage: Any = None) -> None:
        self._storage = js_global("localStorage") if storage is None else storage

    def get(self, key: str) -> str | None:
        value = js_call(self._storage, "getItem", key)
        # A missing key is JS null: Pyodide's ``jsnull``, not ``None``.
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str) -> None:
        js_call(self._storage, "setItem", key, value)  # throws when full or refused

    def remove(self, key: str) -> None:
        js_call(self._storage, "removeItem", key)


class PageMemory(dict[str, str]):
    """The fallback where ``localStorage`` is refused: state lasts as long as the page."""

    def set(self, key: str, value: str) -> None:
        self[key] = value


def local_storage() -> LocalStorage | PageMemory:
    """``localStorage`` if the page may use it, else memory (and a warning: reloads forget the state).

    Storage can be refused (cookies blocked, some private modes): reading
    ``window.localStorage`` then throws, or writing does.
    """
    try:
        storage = LocalStorage()
        storage.set("tokensession-probe", "1")
        storage.remove("tokensession-probe")
        return storage
    except JsException as exc:
        # The console, not stderr: PyScript would print stderr into the page.
        window.console.warn(f"localStorage is not available ({exc}): the demo API keeps its state in memory only")
        return PageMemory()
