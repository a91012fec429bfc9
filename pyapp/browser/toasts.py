"""Toasts like element-ui's Message: top-centre stack, close button, auto-dismiss.

Each toast is ``role="alert"`` with ``data-testid="toast"``; its text is a text
node, never markup.
"""

from __future__ import annotations

from typing import Any

from js import document, setTimeout  # type: ignore[import-not-found]
from pyscript.ffi import create_proxy  # type: ignore[import-not-found]

from tokensession.browser.runtime import once, release

DISMISS_MS = 5000


class DomToasts:
    def __init__(self, container: Any, dismiss_ms: int = DISMISS_MS) -> None:
        self.container = container
        self.dismiss_ms = dismiss_ms

    def show(self, text: str, close_label: str = "Close") -> None:
        toast = document.createElement("div")
        toast.className = "toast"
        toast.setAttribute("role", "alert")
        toast.setAttribute("data-testid", "toast")
        span = document.createElement("span")
        span.className = "toast-text"
        span.textContent = text
        close = document.createElement("button")
        close.className = "toast-close"
        close.type = "button"
        close.setAttribute("aria-label", close_label)
        close.textContent = "×"
        proxy = create_proxy(lambda _e: remove())

        def remove() -> None:
            if toast.isConnected:
                toast.remove()
                release(proxy)

        close.addEventListener("click", proxy)
        toast.append(span, close)
        self.container.appendChild(toast)
        setTimeout(once(remove), self.dismiss_ms)
