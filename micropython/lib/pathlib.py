"""``pathlib.Path`` for MicroPython, the little the project calls at run time (joining,
``with_name``, reading a file); a missing file raises ``OSError`` as in CPython."""

import os


class Path:
    def __init__(self, *parts):
        text = "/".join(str(p) for p in parts if str(p)) or "."
        while "//" in text:
            text = text.replace("//", "/")
        self._text = text.rstrip("/") or "/"

    def __str__(self):
        return self._text

    def __fspath__(self):
        return self._text

    def __repr__(self):
        return "Path(%r)" % self._text

    def __eq__(self, other):
        return isinstance(other, Path) and other._text == self._text

    def __hash__(self):
        return hash(self._text)

    def __truediv__(self, other):
        return Path(self._text, other)

    @property
    def name(self):
        return self._text.rsplit("/", 1)[-1]

    @property
    def parent(self):
        head = self._text.rsplit("/", 1)[0] if "/" in self._text else "."
        return Path(head or "/")

    def with_name(self, name):
        return self.parent / name

    def read_bytes(self):
        with open(self._text, "rb") as f:
            return f.read()

    def read_text(self, encoding="utf-8"):
        return self.read_bytes().decode(encoding)

    def exists(self):
        try:
            os.stat(self._text)
            return True
        except OSError:
            return False

    @classmethod
    def home(cls):
        return cls("/home")
