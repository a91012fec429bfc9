"""``dataclass``, ``field``, ``replace``, ``asdict``, ``fields`` for MicroPython.

MicroPython keeps no class annotations, so a class's fields cannot be read from it:
``tools/mpy_port.py`` writes them into the decorator call as ``_fields=(...)``, in order.
A field's default is the class attribute the annotation's value left behind.
What is made is what CPython's makes for these options: ``__init__`` (with ``__post_init__``),
``__repr__``, ``__eq__``, and for ``frozen=True`` a ``__setattr__`` that refuses and a
``__hash__`` over the fields (``unsafe_hash`` too); ``eq=True`` without ``frozen`` leaves the
class unhashable.
"""

MISSING = object()


class FrozenInstanceError(AttributeError):
    pass


class Field:
    def __init__(self, default=MISSING, default_factory=MISSING, init=True, repr=True, compare=True, **_):
        self.name = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare

    def __repr__(self):
        return "Field(name=%r)" % (self.name,)


def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, compare=True, **kwargs):
    return Field(default, default_factory, init, repr, compare)


def _own_fields(cls, names):
    found = []
    for name in names:
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        spec.name = name
        if isinstance(value, Field):
            if value.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value.default)
        found.append(spec)
    return found


def _all_fields(cls, names):
    specs = {}
    order = []
    for base in reversed(cls.__bases__):
        for spec in getattr(base, "__dataclass_fields__", {}).values():
            if spec.name not in specs:
                order.append(spec.name)
            specs[spec.name] = spec
    for spec in _own_fields(cls, names):
        if spec.name not in specs:
            order.append(spec.name)
        specs[spec.name] = spec
    return [specs[name] for name in order]


def _make_init(specs, frozen):
    def __init__(self, *args, **kwargs):
        init_specs = [s for s in specs if s.init]
        if len(args) > len(init_specs):
            raise TypeError(
                "__init__() takes %d positional arguments but %d were given" % (len(init_specs) + 1, len(args) + 1)
            )
        for spec, value in zip(init_specs, args):
            if spec.name in kwargs:
                raise TypeError("__init__() got multiple values for argument %r" % spec.name)
            kwargs[spec.name] = value
        setter = object.__setattr__
        for spec in specs:
            if spec.init and spec.name in kwargs:
                value = kwargs.pop(spec.name)
            elif spec.default_factory is not MISSING:
                value = spec.default_factory()
            elif spec.default is not MISSING:
                value = spec.default
            else:
                raise TypeError("__init__() missing 1 required positional argument: %r" % spec.name)
            setter(self, spec.name, value)
        if kwargs:
            raise TypeError("__init__() got an unexpected keyword argument %r" % next(iter(kwargs)))
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    return __init__


def dataclass(cls=None, *, _fields=(), init=True, repr=True, eq=True, frozen=False, unsafe_hash=False, **_):
    def wrap(cls):
        specs = _all_fields(cls, _fields)
        cls.__dataclass_fields__ = {spec.name: spec for spec in specs}
        if init and "__init__" not in cls.__dict__:
            cls.__init__ = _make_init(specs, frozen)
        if repr and "__repr__" not in cls.__dict__:
            shown = [s.name for s in specs if s.repr]

            def __repr__(self):
                return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (n, getattr(self, n)) for n in shown))

            cls.__repr__ = __repr__
        compared = [s.name for s in specs if s.compare]

        def key(self):
            return tuple(getattr(self, n) for n in compared)

        if eq and "__eq__" not in cls.__dict__:

            def __eq__(self, other):
                if other.__class__ is not self.__class__:
                    return NotImplemented
                return key(self) == key(other)

            def __ne__(self, other):
                result = __eq__(self, other)
                return result if result is NotImplemented else not result

            cls.__eq__ = __eq__
            cls.__ne__ = __ne__
        if frozen:

            def __setattr__(self, name, value):
                raise FrozenInstanceError("cannot assign to field %r" % name)

            def __delattr__(self, name):
                raise FrozenInstanceError("cannot delete field %r" % name)

            cls.__setattr__ = __setattr__
            cls.__delattr__ = __delattr__
        if (frozen and eq) or unsafe_hash:
            cls.__hash__ = lambda self: hash(key(self))
        elif eq and "__hash__" not in cls.__dict__:
            cls.__hash__ = None
        return cls

    return wrap if cls is None else wrap(cls)


def is_dataclass(obj):
    return hasattr(obj, "__dataclass_fields__")


def fields(obj):
    return tuple(obj.__dataclass_fields__.values())


def replace(obj, **changes):
    for spec in obj.__dataclass_fields__.values():
        if spec.init and spec.name not in changes:
            changes[spec.name] = getattr(obj, spec.name)
    return obj.__class__(**changes)


def _copy(value):
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return {_copy(k): _copy(v) for k, v in value.items()}
    return value


def asdict(obj):
    return {spec.name: _copy(getattr(obj, spec.name)) for spec in obj.__dataclass_fields__.values()}
