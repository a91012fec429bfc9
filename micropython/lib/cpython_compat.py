"""What CPython's built-in modules have and MicroPython's lack, added to them in place.

MicroPython's ``asyncio``, ``base64``, ``collections``, ``functools``, ``hmac``, ``pathlib``,
``time`` and ``inspect`` are frozen into the interpreter; a file of the same name cannot stand in for
them without losing what they have (nor for its built-in ``json``, which cannot be added to:
``tools/mpy_port.py`` edits calls instead). So this module adds the missing names to those
modules, once, before the project's code runs (``web/main.py`` imports it on MicroPython; tests do the same)::

    import sys
    if sys.implementation.name == "micropython":
        import cpython_compat  # noqa: F401  (adds to asyncio, functools, time, inspect)

asyncio: CPython's tasks are futures (``add_done_callback``, ``result``, ``exception``,
``cancelled``); MicroPython's are not, and its ``Task`` type is closed. So tasks made through
``asyncio.create_task``, ``ensure_future`` or ``loop.create_task`` are :class:`Task` here, a
future that runs its coroutine in one of MicroPython's tasks. ``get_running_loop``,
``Future``, ``shield``, ``wait`` and ``loop.time``/``create_future``/``is_closed`` are added;
``wait_for`` and ``gather`` take these futures too.
"""

import asyncio
import base64
import binascii
import builtins
import collections
import contextlib
import functools
import hmac
import inspect
import logging
import pathlib
import sys
import time

_mp_create_task = asyncio.create_task
_mp_sleep = asyncio.sleep
_mp_gather = asyncio.gather
_CancelledError = asyncio.CancelledError

_PENDING, _DONE, _CANCELLED = 0, 1, 2


class InvalidStateError(Exception):
    pass


class Future:
    """CPython's ``asyncio.Future``, enough of it: results, exceptions, cancel, callbacks."""

    def __init__(self):
        self._state = _PENDING
        self._result = None
        self._exception = None
        self._callbacks = []
        self._event = asyncio.Event()
        self._retrieved = False

    def done(self):
        return self._state != _PENDING

    def cancelled(self):
        return self._state == _CANCELLED

    def result(self):
        if self._state == _CANCELLED:
            raise _CancelledError()
        if self._state == _PENDING:
            raise InvalidStateError("result is not set")
        self._retrieved = True
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self):
        if self._state == _CANCELLED:
            raise _CancelledError()
        if self._state == _PENDING:
            raise InvalidStateError("exception is not set")
        self._retrieved = True
        return self._exception

    def set_result(self, value):
        if self._state != _PENDING:
            raise InvalidStateError("already done")
        self._result = value
        self._finish(_DONE)

    def set_exception(self, exc):
        if self._state != _PENDING:
            raise InvalidStateError("already done")
        self._exception = exc
        self._finish(_DONE)

    def cancel(self, msg=None):
        if self._state != _PENDING:
            return False
        self._finish(_CANCELLED)
        return True

    def add_done_callback(self, callback):
        if self.done():
            _call_soon(callback, self)
        else:
            self._callbacks.append(callback)

    def remove_done_callback(self, callback):
        before = len(self._callbacks)
        self._callbacks = [c for c in self._callbacks if c is not callback]
        return before - len(self._callbacks)

    def _finish(self, state):
        self._state = state
        self._event.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call_soon(callback, self)

    def __await__(self):
        if not self.done():
            try:
                yield from self._event.wait()
            except _CancelledError:
                self._on_awaiter_cancelled()
                raise
        return self.result()

    __iter__ = __await__

    def _on_awaiter_cancelled(self):
        # CPython: a task awaiting a future cancels it when it is cancelled itself.
        self.cancel()


class Task(Future):
    """A coroutine run as a future (CPython's ``asyncio.Task``)."""

    def __init__(self, coro):
        super().__init__()
        self._coro = coro
        self._inner = _mp_create_task(self._run())

    async def _run(self):
        try:
            result = await self._coro
        except _CancelledError:
            if self._state == _PENDING:
                Future.cancel(self)
            return
        except BaseException as exc:  # kept for result()/exception(), as CPython does
            if self._state == _PENDING:
                self.set_exception(exc)
            return
        if self._state == _PENDING:
            self.set_result(result)

    def cancel(self, msg=None):
        if self.done():
            return False
        self._inner.cancel()
        return True

    def get_coro(self):
        return self._coro


def _call_soon(callback, *args):
    async def call():
        try:
            callback(*args)
        except Exception as exc:  # a callback's failure must not stop the loop
            _report(exc)

    _mp_create_task(call())


def _report(exc):
    # To stderr, as CPython's logging and asyncio do (print_exception's default is stdout):
    # in the page, stderr is the console's errors.
    sys.print_exception(exc, sys.stderr)


def _coroutine(awaitable):
    async def await_it():
        return await awaitable

    return await_it()


def create_task(coro, *, name=None, context=None):
    return Task(coro)


def ensure_future(awaitable, *, loop=None):
    if isinstance(awaitable, Future):
        return awaitable
    if inspect.iscoroutine(awaitable):
        return Task(awaitable)
    return Task(_coroutine(awaitable))


def shield(awaitable):
    inner = ensure_future(awaitable)
    outer = Future()

    def copy(done):
        if outer.done():
            return
        if done.cancelled():
            outer.cancel()
        elif done.exception() is not None:
            outer.set_exception(done.exception())
        else:
            outer.set_result(done.result())

    inner.add_done_callback(copy)
    # Cancelling the awaiter cancels ``outer`` only, never ``inner``.
    return outer


FIRST_COMPLETED = "FIRST_COMPLETED"
FIRST_EXCEPTION = "FIRST_EXCEPTION"
ALL_COMPLETED = "ALL_COMPLETED"


async def _set_later(event, delay):
    await _mp_sleep(delay)
    event.set()


async def wait(aws, *, timeout=None, return_when=ALL_COMPLETED):  # noqa: ASYNC109 (asyncio's own API)
    futures = {ensure_future(aw) for aw in aws}
    if not futures:
        raise ValueError("set of awaitables is empty")
    woken = asyncio.Event()

    def check(_future):
        done = [f for f in futures if f.done()]
        if (
            len(done) == len(futures)
            or (return_when == FIRST_COMPLETED and done)
            or (return_when == FIRST_EXCEPTION and any(not f.cancelled() and f.exception() for f in done))
        ):
            woken.set()

    for f in futures:
        f.add_done_callback(check)
    check(None)
    # A timer of its own, not MicroPython's wait_for: that one cancels the waiting task when
    # the awaited one ends, which a coroutine run from JavaScript (an event handler, the
    # page's top level) cannot take.
    timer = None if timeout is None else _mp_create_task(_set_later(woken, timeout))
    try:
        await woken.wait()
    finally:
        if timer is not None and not timer.done():
            timer.cancel()
        for f in futures:
            f.remove_done_callback(check)
    done = {f for f in futures if f.done()}
    return done, futures - done


async def wait_for(awaitable, timeout):  # noqa: ASYNC109 (asyncio's own API)
    task = ensure_future(awaitable)
    if timeout is None:
        return await task
    done, _ = await wait({task}, timeout=timeout)
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(_CancelledError):
        await task
    raise asyncio.TimeoutError()  # noqa: UP041 (MicroPython's own; builtins gets it above)


def gather(*aws, return_exceptions=False):
    coros = [_coroutine(aw) if isinstance(aw, Future) else aw for aw in aws]
    return _mp_gather(*coros, return_exceptions=return_exceptions)


async def to_thread(func, *args, **kwargs):
    return func(*args, **kwargs)  # no threads here: run it inline


class _Loop:
    """The running loop as CPython code sees it."""

    def create_task(self, coro, *, name=None, context=None):
        return Task(coro)

    def create_future(self):
        return Future()

    def time(self):
        return time.time_ns() / 1e9

    def is_closed(self):
        return False

    def call_soon(self, callback, *args, context=None):
        _call_soon(callback, *args)

    async def run_in_executor(self, executor, func, *args):
        return func(*args)


_LOOP = _Loop()


def get_running_loop():
    return _LOOP


def _cache(func):
    memo = {}

    @functools.wraps(func)
    def cached(*args):
        if args not in memo:
            memo[args] = func(*args)
        return memo[args]

    return cached


def _monotonic():
    # The page's wall clock: ticks_ms() would wrap after 12 days.
    return time.time_ns() / 1e9


def _isawaitable(obj):
    return inspect.iscoroutine(obj) or isinstance(obj, Future) or hasattr(obj, "__await__")


class deque:
    """CPython's ``collections.deque`` signature (``deque()``, ``deque(items, maxlen=n)``), over a
    list: MicroPython's wants both arguments and is not indexable in every build."""

    def __init__(self, iterable=(), maxlen=None):
        self.maxlen = maxlen
        self._items = []
        self.extend(iterable)

    def append(self, item):
        self._items.append(item)
        if self.maxlen is not None and len(self._items) > self.maxlen:
            del self._items[0]

    def appendleft(self, item):
        self._items.insert(0, item)
        if self.maxlen is not None and len(self._items) > self.maxlen:
            self._items.pop()

    def extend(self, iterable):
        for item in iterable:
            self.append(item)

    def pop(self):
        return self._items.pop()

    def popleft(self):
        if not self._items:
            raise IndexError("pop from an empty deque")
        return self._items.pop(0)

    def clear(self):
        self._items.clear()

    def __len__(self):
        return len(self._items)

    def __bool__(self):
        return bool(self._items)

    def __iter__(self):
        return iter(self._items)

    def __getitem__(self, index):
        return self._items[index]

    def __repr__(self):
        return "deque(%r)" % (self._items,)


def _compare_digest(a, b):
    """``hmac.compare_digest``: equal or not, in time that depends on the length only."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    result = len(a) ^ len(b)
    if len(a) != len(b):
        b = a
    for x, y in zip(a, b):
        result |= x ^ y
    return result == 0


def _urlsafe_b64decode(data):
    """``base64.urlsafe_b64decode`` (MicroPython's raises NotImplementedError)."""
    if isinstance(data, str):
        data = data.encode()
    return binascii.a2b_base64(bytes(data).replace(b"-", b"+").replace(b"_", b"/"))


def _with_name(self, name):
    return self.parent / name


def _home(cls=None):
    return pathlib.Path("/home")


# Code points str.isprintable() refuses besides the C0/C1 controls: separators but the space,
# format characters, surrogates, private use, noncharacters (Unicode categories Z*, Cf, Cs, Co).
_NOT_PRINTABLE = (
    (0xA0, 0xA0),
    (0xAD, 0xAD),
    (0x600, 0x605),
    (0x61C, 0x61C),
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x180E, 0x180E),
    (0x1680, 0x1680),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x2064),
    (0x2066, 0x206F),
    (0x3000, 0x3000),
    (0xD800, 0xF8FF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0xFFFE, 0xFFFF),
    (0xE0001, 0xE007F),
    (0xF0000, 0x10FFFF),
)


def isprintable(text):
    """``str.isprintable`` (``tools/mpy_port.py`` turns ``s.isprintable()`` into this call)."""
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            return False
        if code >= 0xA0:
            for low, high in _NOT_PRINTABLE:
                if low <= code <= high:
                    return False
    return True


def isascii(text):
    """``str.isascii`` (``tools/mpy_port.py`` turns ``s.isascii()`` into this call)."""
    return all(ord(ch) < 0x80 for ch in text)


def _logging_kwargs(method):
    # CPython's exc_info= and stack_info=: MicroPython's logging takes neither.
    def log(self, *args, exc_info=None, stack_info=False, stacklevel=1, extra=None):
        method(self, *args)
        if exc_info is True and hasattr(sys, "exc_info"):  # not in every build
            exc_info = sys.exc_info()[1]
        if isinstance(exc_info, BaseException):
            _report(exc_info)

    return log


def _add(module, **names):
    for name, value in names.items():
        if not hasattr(module, name):
            setattr(module, name, value)


for _name, _value in (
    ("create_task", create_task),
    ("ensure_future", ensure_future),
    ("wait_for", wait_for),
    ("gather", gather),
):
    setattr(asyncio, _name, _value)
_add(
    asyncio,
    Future=Future,
    Task=Task,
    InvalidStateError=InvalidStateError,
    shield=shield,
    wait=wait,
    FIRST_COMPLETED=FIRST_COMPLETED,
    FIRST_EXCEPTION=FIRST_EXCEPTION,
    ALL_COMPLETED=ALL_COMPLETED,
    to_thread=to_thread,
    get_running_loop=get_running_loop,
    AbstractEventLoop=_Loop,
)
asyncio.Task = Task  # isinstance checks and annotations name the futures made here
collections.deque = deque
base64.urlsafe_b64decode = _urlsafe_b64decode
_add(pathlib.Path, with_name=_with_name, home=staticmethod(_home))
for _name in ("debug", "info", "warning", "error", "critical", "exception", "log"):
    setattr(logging.Logger, _name, _logging_kwargs(getattr(logging.Logger, _name)))
# MicroPython raises RuntimeError where CPython raises RecursionError (a subclass of it).
_add(builtins, TimeoutError=asyncio.TimeoutError, RecursionError=RuntimeError)


# CPython's OSError subclasses for a failed connection; MicroPython raises OSError with an errno.
class ConnectionError(OSError):
    pass


class ConnectionResetError(ConnectionError):
    pass


class ConnectionRefusedError(ConnectionError):
    pass


class ConnectionAbortedError(ConnectionError):
    pass


class BrokenPipeError(ConnectionError):
    pass


_add(
    builtins,
    ConnectionError=ConnectionError,
    ConnectionResetError=ConnectionResetError,
    ConnectionRefusedError=ConnectionRefusedError,
    ConnectionAbortedError=ConnectionAbortedError,
    BrokenPipeError=BrokenPipeError,
)
_add(hmac, compare_digest=_compare_digest)
_add(functools, cache=_cache, lru_cache=lambda maxsize=128: _cache)
_add(time, monotonic=_monotonic, perf_counter=_monotonic)
_add(inspect, isawaitable=_isawaitable)
