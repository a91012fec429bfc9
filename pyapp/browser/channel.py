"""The ``Channel`` seam over ``BroadcastChannel`` (``pyapp.tabs``); absent in old browsers.

channel = BroadcastTabChannel.open(channel_name(base_path()))   # None without BroadcastChannel
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import js  # type: ignore[import-not-found]
from pyscript.ffi import create_proxy  # type: ignore[import-not-found]

from pyapp.tabs import Message, decode, encode
from tokensession.browser.runtime import js_call


class BroadcastTabChannel:
    def __init__(self, channel: Any) -> None:
        self._channel = channel
        self._proxies: list[Any] = []

    @classmethod
    def open(cls, name: str) -> BroadcastTabChannel | None:
        """The channel, or None where the browser has no ``BroadcastChannel`` (cookie checks only)."""
        if not hasattr(js, "BroadcastChannel"):
            return None
        return cls(js.BroadcastChannel.new(name))

    def post(self, message: Message) -> None:
        js_call(self._channel, "postMessage", encode(message))  # a closed channel throws

    def listen(self, handler: Callable[[Message], None]) -> None:
        def on_message(event: Any) -> None:
            message = decode(event.data if isinstance(event.data, str) else None)
            if message is not None:
                handler(message)

        proxy = create_proxy(on_message)  # lives as long as the page
        self._proxies.append(proxy)
        self._channel.addEventListener("message", proxy)
