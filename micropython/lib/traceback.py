"""``traceback.format_exception`` for MicroPython (its ``sys.print_exception`` into a string)."""

import io
import sys


def format_exception(exc, value=None, tb=None):
    if value is not None and not isinstance(exc, BaseException):
        exc = value
    out = io.StringIO()
    sys.print_exception(exc, out)
    return [out.getvalue()]


def format_exc():
    return "".join(format_exception(sys.exc_info()[1]))


def print_exc():
    sys.print_exception(sys.exc_info()[1])
