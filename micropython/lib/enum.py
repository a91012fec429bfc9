"""``Enum`` for MicroPython, which has no metaclasses.

``tools/mpy_port.py`` wraps each member's value in ``member(...)``. The wrapper numbers the
members in source order, and when the class is created (``__set_name__``) it puts an instance
of the class in the member's place, with ``name`` and ``value``. What differs from CPython:
iterate ``Cls.__members__.values()``, not the class itself (that needs a metaclass).
"""

from collections import OrderedDict

_counter = [0]


class member:
    def __init__(self, value):
        self.value = value
        _counter[0] += 1
        self.order = _counter[0]

    def __set_name__(self, owner, name):
        made = object.__new__(owner)
        object.__setattr__(made, "_name_", name)
        object.__setattr__(made, "_value_", self.value)
        object.__setattr__(made, "_order_", self.order)
        setattr(owner, name, made)
        members = owner.__dict__.get("_member_list_")
        if members is None:
            members = []
            owner._member_list_ = members
        members.append(made)
        members.sort(key=lambda m: m._order_)
        owner.__members__ = OrderedDict((m._name_, m) for m in members)


class Enum:
    def __new__(cls, value):
        for made in cls._member_list_:
            if made._value_ == value:
                return made
        raise ValueError("%r is not a valid %s" % (value, cls.__name__))

    @property
    def name(self):
        return self._name_

    @property
    def value(self):
        return self._value_

    def __repr__(self):
        return "<%s.%s: %r>" % (type(self).__name__, self._name_, self._value_)

    def __str__(self):
        return "%s.%s" % (type(self).__name__, self._name_)

    def __hash__(self):
        return hash(self._name_)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __setattr__(self, name, value):
        raise AttributeError("cannot reassign members")


def unique(cls):
    return cls
