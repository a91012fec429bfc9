"""Character checks the library makes, written out for every runtime.

MicroPython's ``str`` has no ``isprintable`` and its ``re`` has no counted repeats, so these
are plain code; on CPython and Pyodide ``printable`` is ``str.isprintable`` itself.
"""

from __future__ import annotations

#: What MicroPython (no Unicode database) takes for not printable: C0 and C1 controls, DEL,
#: separators other than the space, and the format characters that reorder or hide text
#: (bidi controls, zero-width characters, the byte order mark).
_HIDDEN = frozenset(
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA1)]
    + ["\u00ad", "\u1680", "\u180e", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff"]
    + [chr(c) for c in range(0x2000, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2060, 0x2070)]
)


def printable(text: str) -> bool:
    """``str.isprintable`` where the runtime has it, else no character of :data:`_HIDDEN`.

    >>> printable("/playground?x=1"), printable("/a\\u202eb"), printable("a\\nb"), printable("")
    (True, False, False, True)
    """
    check = getattr(text, "isprintable", None)
    if check is not None:
        return bool(check())
    return not any(c in _HIDDEN for c in text)


def digits(text: str, most: int) -> bool:
    """``text`` is 1 to ``most`` ASCII digits (``str.isdigit`` takes other scripts' digits too).

    >>> digits("042", 3), digits("", 3), digits("1234", 3), digits("１", 3), digits("-1", 3)
    (True, False, False, False, False)
    """
    return 0 < len(text) <= most and all("0" <= c <= "9" for c in text)
