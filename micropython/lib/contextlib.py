"""The part of ``contextlib`` the project uses, for MicroPython."""


class suppress:
    def __init__(self, *exceptions):
        self._exceptions = exceptions

    def __enter__(self):
        return None

    def __exit__(self, kind, value, traceback):
        return kind is not None and issubclass(kind, self._exceptions)


class AbstractAsyncContextManager:
    async def __aenter__(self):
        return self

    async def __aexit__(self, kind, value, traceback):
        return None


class AbstractContextManager:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        return None


class _GeneratorContextManager:
    def __init__(self, gen):
        self._gen = gen

    def __enter__(self):
        return next(self._gen)

    def __exit__(self, kind, value, traceback):
        if kind is None:
            try:
                next(self._gen)
            except StopIteration:
                return False
            raise RuntimeError("generator didn't stop")
        try:
            self._gen.throw(value if value is not None else kind())
        except StopIteration:
            return True
        except BaseException as exc:
            if exc is value:
                return False
            raise
        raise RuntimeError("generator didn't stop after throw()")


def contextmanager(func):
    def helper(*args, **kwargs):
        return _GeneratorContextManager(func(*args, **kwargs))

    return helper


class _AsyncGeneratorContextManager:
    # MicroPython has no async generators: the decorated function's body is awaited as a
    # coroutine that yields once; only the shape the project uses (none in a page) is needed.
    def __init__(self, agen):
        self._agen = agen

    async def __aenter__(self):
        return await self._agen.__anext__()

    async def __aexit__(self, kind, value, traceback):
        if kind is None:
            try:
                await self._agen.__anext__()
            except StopAsyncIteration:
                return False
            raise RuntimeError("generator didn't stop")
        try:
            await self._agen.athrow(value)
        except StopAsyncIteration:
            return True
        except BaseException as exc:
            if exc is value:
                return False
            raise
        raise RuntimeError("generator didn't stop after athrow()")


def asynccontextmanager(func):
    def helper(*args, **kwargs):
        return _AsyncGeneratorContextManager(func(*args, **kwargs))

    return helper
