"""Character checks the library makes, written out for every runtime (MicroPython's ``re``
has no counted repeats or ``fullmatch``)."""

from __future__ import annotations


def digits(text: str, most: int) -> bool:
    """``text`` is 1 to ``most`` ASCII digits (``str.isdigit`` takes other scripts' digits too).

    >>> digits("042", 3), digits("", 3), digits("1234", 3), digits("１", 3), digits("-1", 3)
    (True, False, False, False, False)
    """
    return 0 < len(text) <= most and all("0" <= c <= "9" for c in text)
