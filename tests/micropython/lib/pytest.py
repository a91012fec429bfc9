"""The part of pytest the library's unit tests use, for running them under MicroPython.

MicroPython functions take no attributes, so marks and fixtures are kept in registries keyed
by the function; ``runner.py`` reads them, with each function's parameter names from the
manifest ``test_micropython.py`` writes (MicroPython cannot list a function's parameters).
"""

import re

MARKS = {}  # function -> [Mark]
FIXTURES = {}  # function -> FixtureDef


class Mark:
    def __init__(self, name, args, kwargs):
        self.name = name
        self.args = args
        self.kwargs = kwargs

    def __call__(self, *args, **kwargs):
        # mark.name(func), or mark.name(*args)(func) once the arguments are given.
        bare = not self.args and not self.kwargs
        if len(args) == 1 and not kwargs and callable(args[0]) and (not bare or self.name in ("anyio", "browser")):
            MARKS.setdefault(args[0], []).append(self)
            return args[0]
        if not bare:
            raise TypeError("mark %s is already given its arguments" % self.name)
        return Mark(self.name, args, kwargs)


class _MarkFactory:
    def __getattr__(self, name):
        return Mark(name, (), {})


mark = _MarkFactory()


class FixtureDef:
    def __init__(self, func, params, ids):
        self.func = func
        self.params = params
        self.ids = ids


def fixture(func=None, *, params=None, ids=None, scope="function", autouse=False, name=None):
    def register(func):
        FIXTURES[func] = FixtureDef(func, params, ids)
        return func

    return register if func is None else register(func)


class Skipped(Exception):
    pass


def skip(reason=""):
    raise Skipped(reason)


def fail(reason=""):
    raise AssertionError(reason)


class _Raises:
    def __init__(self, expected, match):
        self.expected = expected
        self.match = match
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            raise AssertionError("DID NOT RAISE %r" % (self.expected,))
        if not issubclass(kind, self.expected):
            return False
        self.value = value
        self.type = kind
        if self.match is not None and re.search(self.match, str(value)) is None:
            raise AssertionError("%r does not match %r" % (str(value), self.match))
        return True


def raises(expected, *args, match=None):
    if args:
        with _Raises(expected, match):
            args[0](*args[1:])
        return None
    return _Raises(expected, match)


class FixtureRequest:
    def __init__(self, param=None):
        self.param = param


class param:
    def __init__(self, *values, id=None, marks=()):
        self.values = values
        self.id = id
        self.marks = marks


# Names only used in annotations by the tests.
LogCaptureFixture = MonkeyPatch = FixtureRequest
