"""The ``typing`` names the project's modules import, for MicroPython, which has no ``typing``.

Annotations are never evaluated there, so these only have to exist where a name is used at
run time: as a base class (``Protocol``, ``Generic[T]``), in a module-level alias
(``bool | Literal["auto"]``), or as a call (``cast``, ``TypeVar``). ``collections.abc`` imports
are pointed here by ``tools/mpy_port.py``.
"""

TYPE_CHECKING = False


class _Form:
    """Any subscripted or combined typing form: it only has to be evaluable."""

    def __getitem__(self, item):
        return self

    def __or__(self, other):
        return self

    def __ror__(self, other):
        return self

    def __call__(self, *args, **kwargs):
        return self


_FORM = _Form()


class _GenericBase:
    def __getitem__(self, item):
        return object


Generic = _GenericBase()
Protocol = object
NamedTuple = object
TypedDict = dict


def TypeVar(name, *constraints, **options):
    return _FORM


def cast(kind, value):
    return value


def runtime_checkable(cls):
    return cls


def overload(func):
    return func


def final(func):
    return func


def get_args(form):
    return ()


def __getattr__(name):
    # Any, Literal, Callable, Iterator, AsyncIterator, Awaitable, Mapping, ...: forms only.
    if name.startswith("__"):
        raise AttributeError(name)
    return _FORM
