"""``from __future__ import annotations`` on MicroPython, which never evaluates annotations."""

annotations = True
