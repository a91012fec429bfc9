"""Tabs agree at once: what one tab tells the others about the session, and what they do.

The cookies stay the source of truth (contract section 4); the messages only
say "look now", so a tab reacts in milliseconds instead of at its next timer
tick (which browsers throttle in background tabs). A message never carries a
token: only its kind, why a session ended, and the new ``utilTime``.

    channel = BroadcastTabChannel(channel_name(base_path()))   # pyapp.browser.channel
    app = App(..., channel=channel)                            # posts and listens

Kinds: ``signed-in``, ``refreshed`` (``util_time``), ``signed-out`` (``reason``:
the :data:`~tokensession.errors.EndReason` of the tab where it ended). Without
``BroadcastChannel`` the app falls back to its cookie check (timer, ``focus``,
``visibilitychange``, ``pageshow``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

Message: TypeAlias = dict[str, Any]
KINDS = frozenset({"signed-in", "refreshed", "signed-out"})


class Channel(Protocol):
    """A message bus between the tabs of one app (``BroadcastChannel`` in the page)."""

    def post(self, message: Message) -> None: ...
    def listen(self, handler: Callable[[Message], None]) -> None: ...


def channel_name(cookie_path: str) -> str:
    """One channel per app: two apps on one origin have different cookie paths.

    >>> channel_name("/repo/")
    'pyauth-session:/repo/'
    """
    return "pyauth-session:" + (cookie_path or "/")


def encode(message: Message) -> str:
    """A message as the text that travels (plain JSON: no JS objects to convert)."""
    return json.dumps(message, separators=(",", ":"), sort_keys=True)


def decode(data: object) -> Message | None:
    """A received text as a message, or None when it is not one of ours.

    >>> decode('{"type":"refreshed","util_time":5}'), decode("junk"), decode('{"type":"x"}')
    ({'type': 'refreshed', 'util_time': 5}, None, None)
    """
    if not isinstance(data, str) or len(data) > 1024:
        return None
    try:
        message = json.loads(data)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("type") not in KINDS:
        return None
    return message


class LocalBus:
    """Channels that deliver to each other in-process, as ``BroadcastChannel`` does
    (never to the sender itself); for tests and for pages that embed several apps.

    >>> bus = LocalBus(); a, b = bus.channel(), bus.channel()
    >>> got = []; b.listen(got.append); a.post({"type": "signed-in"}); got
    [{'type': 'signed-in'}]
    """

    def __init__(self) -> None:
        self.channels: list[LocalChannel] = []
        self.sent: list[str] = []

    def channel(self) -> LocalChannel:
        ch = LocalChannel(self)
        self.channels.append(ch)
        return ch


class LocalChannel:
    def __init__(self, bus: LocalBus) -> None:
        self.bus = bus
        self.handlers: list[Callable[[Message], None]] = []

    def post(self, message: Message) -> None:
        data = encode(message)
        self.bus.sent.append(data)
        for other in self.bus.channels:
            if other is not self:
                for handler in list(other.handlers):
                    decoded = decode(data)
                    if decoded is not None:
                        handler(decoded)

    def listen(self, handler: Callable[[Message], None]) -> None:
        self.handlers.append(handler)
