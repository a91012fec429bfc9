"""What the app plugs in (interceptors and event hooks), and how events reach them.

The session's events come from :class:`~tokensession.state.SessionState`: a
driver binds its :class:`Hooks` to the state once, and every driver then fires
the same hooks for the same events, in the same order::

    ctx.state.listeners.append(bind_hooks(hooks, schedule))

``on_session_end(reason)`` fires once per session, after the cookies are
cleared and before the ``logout`` call goes out; ``on_refresh(session)`` after
each refresh of this page stored new tokens; ``on_error(error)`` once for each
refresh that failed by a blip, however many requests waited on it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from tokensession.cookies import Session
from tokensession.errors import ApiError, EndReason
from tokensession.http import Request, Response
from tokensession.state import Event, Listener

log = logging.getLogger("tokensession")

#: Where a driver puts the coroutine an async hook returned (the async client: a task).
Schedule: TypeAlias = Callable[[Coroutine[Any, Any, Any]], None]


@dataclass
class Hooks:
    """What the app plugs in. Interceptors (``request``, ``response``) may return a replacement or ``None``.

    >>> api.hooks.request.append(lambda req: req.headers.update({"x-app": "demo"}))   # doctest: +SKIP
    >>> api.hooks.on_session_end.append(lambda reason: router.to_login())            # doctest: +SKIP
    """

    request: list[Callable[[Request], Any]] = field(default_factory=list)
    response: list[Callable[[Response], Any]] = field(default_factory=list)
    on_session_end: list[Callable[[EndReason], Any]] = field(default_factory=list)
    on_refresh: list[Callable[[Session], Any]] = field(default_factory=list)
    on_error: list[Callable[[ApiError], Any]] = field(default_factory=list)
    on_idle_warning: list[Callable[[int], Any]] = field(default_factory=list)


def fire_hooks(hooks: list[Callable[[Any], Any]], argument: Any, schedule: Schedule) -> None:
    """Call each hook with ``argument``, in order. A hook that raises is logged and the
    others still run: a broken hook must not break the session machinery.

    >>> fire_hooks([print, lambda _: 1 / 0, print], "logout", schedule=lambda coro: None)  # doctest: +SKIP
    """
    for hook in list(hooks):
        try:
            result = hook(argument)
            if inspect.iscoroutine(result):
                schedule(result)
        except Exception as exc:
            log.error("hook %r failed", hook, exc_info=exc)  # named: MicroPython has no sys.exc_info


def bind_hooks(hooks: Hooks, schedule: Schedule) -> Listener:
    """A state listener that fires ``hooks`` for the session's events.

    >>> from tokensession.state import SessionState
    >>> state, hooks = SessionState(), Hooks(on_session_end=[print])
    >>> state.listeners.append(bind_hooks(hooks, schedule=lambda coro: None))
    >>> _ = state.process(Event.SIGNED_IN)
    >>> _ = state.process(Event.ENDED, reason="logout", announced=True)
    logout
    """

    def listener(event: Event, detail: dict[str, Any]) -> None:
        if event is Event.ENDED and detail.get("announced"):
            fire_hooks(hooks.on_session_end, detail["reason"], schedule)
        elif event is Event.REFRESHED:
            fire_hooks(hooks.on_refresh, detail["session"], schedule)
        elif event is Event.REFRESH_FAILED:
            fire_hooks(hooks.on_error, detail["error"], schedule)
        elif event is Event.WARNED:
            fire_hooks(hooks.on_idle_warning, detail["remaining_ms"], schedule)

    return listener
