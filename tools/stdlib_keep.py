#!/usr/bin/env python3
"""Which top-level modules of Pyodide's ``python_stdlib.zip`` the page keeps.

    .venv/bin/python tools/stdlib_keep.py           # rewrite tools/stdlib-keep.txt
    .venv/bin/python tools/stdlib_keep.py --check   # exit 1 if the list misses a module

``tools/vendor.py`` writes ``python_stdlib.app.zip`` (what the app's pages load) with
only the top-level modules and packages named in ``tools/stdlib-keep.txt``, each kept
whole. The list is the closure, over the stock zip, of:

- every module seen in ``sys.modules`` in the page (``bench/results/page-modules.json``:
  at boot, signed in, after the lazy sync path: pyodide-http, urllib, requests);
- every import, anywhere in the file (inside functions too), of our own Python
  (pyapp/, tokensession/, authapi/ with the in-page demo API, web/main.py,
  examples/minimal/), of PyScript's ``pyscript`` package and of the pinned wheels
  (micropip and its install path, pyodide-http, requests and its dependencies);
- the whole ``pyodide`` and ``_pyodide`` packages (Pyodide's JavaScript calls into them);
- :data:`EXTRA`: modules imported from C or by a computed name, which no ``import``
  statement shows;

where a kept module's own imports (anywhere in it) are kept too, except the few edges
in :data:`CUT` (a REPL, a debugger, ``python -m`` entry points: nothing a page runs).
Imports under ``if __name__ == "__main__":`` and in ``__main__.py`` files do not count.

Being a closure over every import statement, the list errs on the side of keeping:
a path no test runs still finds what it imports, unless it goes through a ``CUT``
edge or imports by a computed name. tests/unit/test_stdlib_zip.py checks that the list
is this closure and that the trimmed zip holds it.
"""

from __future__ import annotations

import argparse
import ast
import functools
import io
import json
import re
import sys
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tools") not in sys.path:  # imported as tools.stdlib_keep (tests)
    sys.path.insert(0, str(ROOT / "tools"))

import vendor  # noqa: E402 (tools/ is not a package: as mypy and `python tools/vendor.py` see it)
from vendor import keep_list, top_name  # noqa: E402

KEEP_FILE = vendor.STDLIB_KEEP
STOCK_ZIP = ROOT / "node_modules" / "pyodide" / "python_stdlib.zip"
PAGE_MODULES = ROOT / "bench" / "results" / "page-modules.json"
WHEEL_CACHE = ROOT / ".cache" / "wheels"
OUR_CODE = ("pyapp", "tokensession", "authapi", "web/main.py", "examples/minimal")
PYSCRIPT_PACKAGE = ROOT / "node_modules" / "@pyscript" / "core" / "src" / "stdlib" / "pyscript"

# Whole packages Pyodide's own JavaScript imports from (package loading, the event
# loop, pyodide.ffi, the import hook), whatever the page did in the sample.
PYODIDE_OWN = ("pyodide", "_pyodide")

# Imported by the interpreter in C or by a name computed at run time: no import
# statement names them. name -> why.
EXTRA = {
    "_sysconfigdata__emscripten_wasm32-emscripten": "sysconfig imports it by a computed name",
    "_strptime": "time.strptime and datetime.strptime import it in C",
    "_pylong": "int <-> str of big numbers imports it in C",
    "_compat_pickle": "the C pickle module imports it",
    "_colorize": "tracebacks import it in C",
    "_weakrefset": "abc and threading, partly from C",
    "numbers": "the C decimal module imports it",
    "site-packages": "a folder with a README, not a module; Pyodide lists it on sys.path",
}

# Import edges not followed: (importer, imported) -> why a page never takes them. Only
# edges inside functions of a command line, a REPL, another OS, or of what needs processes
# or sockets; a module a page may import keeps its module-level imports.
CUT = {
    ("site", "_pyrepl"): "site.register_readline: the interactive REPL only",
    ("_sitebuiltins", "pydoc"): "help(): the interactive help, no console in the page",
    ("concurrent", "multiprocessing"): "concurrent.futures.process (ProcessPoolExecutor): no processes here",
    ("logging", "multiprocessing"): "logging.config._is_queue_like_object, a multiprocessing queue",
    ("logging", "smtplib"): "logging.handlers.SMTPHandler.emit: no SMTP from a browser",
    ("urllib", "ftplib"): "urllib.request's FTP handler: no FTP from a browser",
    ("platform", "ctypes"): "platform.android_ver: Android only",
    ("platform", "plistlib"): "platform.mac_ver: macOS only",
    ("random", "statistics"): "random._test_generator, a self-test",
    ("base64", "getopt"): "base64.main, `python -m base64`",
    ("quopri", "getopt"): "quopri.main, `python -m quopri`",
    ("datetime", "_pydatetime"): "datetime's fallback: the C _datetime is built into Pyodide's wasm",
    ("micropip", "ctypes"): "packaging's glibc probe (Linux only; it catches the ImportError)",
    **{
        (cli, "argparse"): f"the command line of `python -m {cli}`"
        for cli in (
            "ast",
            "calendar",
            "dis",
            "gzip",
            "inspect",
            "json",
            "mimetypes",
            "pickle",
            "platform",
            "py_compile",
            "random",
            "tarfile",
            "tokenize",
            "zipfile",
        )
    },
}


def _cut(importer: str, imported: str) -> bool:
    return (importer, imported) in CUT


def _module_of(member: str) -> tuple[str, bool]:
    """``("email.mime.text", False)`` for ``email/mime/text.py``; True for a package."""
    parts = member[:-3].split("/")
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


@functools.cache  # the tests ask again for the same 600 files
def imports_of(source: str, module: str, is_package: bool) -> frozenset[str]:
    """Top-level names of every module ``source`` imports, wherever the import is, except
    under ``if __name__ == "__main__":`` and ``if TYPE_CHECKING:``.

    >>> sorted(imports_of("import a.b\\ndef f():\\n    from c import d\\nfrom . import e", "p.m", False))
    ['a', 'c', 'p']
    """
    package = module if is_package else module.rpartition(".")[0]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # Syntax newer than the Python running this (Pyodide's stdlib is 3.14's): read the
        # import lines instead, which may also count an example in a docstring (keeps more).
        return frozenset(_scan_import_lines(source, package))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If):
                test = ast.unparse(child.test)
                if "__main__" in test or "TYPE_CHECKING" in test:
                    for other in child.orelse:
                        visit(ast.Module(body=[other], type_ignores=[]))
                    continue
            if isinstance(child, ast.Import):
                found.update(alias.name.split(".")[0] for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    anchor = package.split(".")[: max(len(package.split(".")) - child.level + 1, 0)]
                    found.add((anchor or [child.module or ""])[0])
                elif child.module:
                    found.add(child.module.split(".")[0])
            visit(child)

    visit(tree)
    found.discard("")
    return frozenset(found)


_IMPORT_LINE = re.compile(r"^(\s*)(?:import\s+([\w., ]+)|from\s+(\.*)([\w.]*)\s+import\b)")


def _scan_import_lines(source: str, package: str) -> set[str]:
    """:func:`imports_of` for a file ``ast`` cannot parse: the same names from its lines.

    >>> sorted(_scan_import_lines("import a, b.c\\nif __name__ == '__main__':\\n    import d\\nfrom .e import f", "p"))
    ['a', 'b', 'p']
    """
    found: set[str] = set()
    main_indent: int | None = None
    for line in source.splitlines():
        indent = len(line) - len(line.lstrip())
        if main_indent is not None and line.strip() and indent <= main_indent:
            main_indent = None
        if re.match(r"\s*if\s+__name__\s*==\s*['\"]__main__['\"]\s*:", line):
            main_indent = indent
            continue
        match = _IMPORT_LINE.match(line)
        if main_indent is not None or not match:
            continue
        names, dots, base = match.group(2), match.group(3), match.group(4)
        if names:
            found.update(n.split(" as ")[0].strip().split(".")[0] for n in names.split(","))
        elif dots:
            found.add(package.split(".")[0] if package else base.split(".")[0])
        else:
            found.add(base.split(".")[0])
    found.discard("")
    return found


def _python_files(path: Path) -> Iterator[tuple[str, str]]:
    """``(module name, source)`` for a .py file or every .py file under a folder."""
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    for file in files:
        if "__pycache__" in file.parts or file.name == "__main__.py":
            continue
        yield file.stem, file.read_text(encoding="utf-8")


def _wheel_files(wheel: Path) -> Iterator[tuple[str, str, bool]]:
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(zf.namelist()):
            if name.endswith(".py") and not name.endswith("__main__.py"):
                module, is_package = _module_of(name)
                yield module, zf.read(name).decode("utf-8"), is_package


def wheels() -> list[Path]:
    """The pinned wheels the page may install (tools/wheels.txt, as tools/vendor.py caches them)."""
    found = []
    for name, (version, _digest) in sorted(vendor.pinned_wheels().items()):
        stem = name.replace("-", "_")
        hits = sorted(WHEEL_CACHE.glob(f"{stem}-{version}-*.whl"))
        if not hits:
            raise SystemExit(f"stdlib_keep: {stem}-{version} is not in {WHEEL_CACHE}: run tools/vendor.py first")
        found.append(hits[0])
    return found


def roots() -> dict[str, str]:
    """Top-level names the page needs, each with where the need was found."""
    out: dict[str, str] = {}

    def add(names: Iterable[str], why: str, importer: str = "") -> None:
        for name in names:
            if not _cut(importer, name.split(".")[0]):
                out.setdefault(name.split(".")[0], why)

    sample = json.loads(PAGE_MODULES.read_text())
    for phase in ("boot", "signed_in", "lazy"):
        add(sample[phase], f"sys.modules in the page ({phase})")
    for rel in OUR_CODE:
        for module, source in _python_files(ROOT / rel):
            add(imports_of(source, module, False), f"imported by {rel}")
    for module, source in _python_files(PYSCRIPT_PACKAGE):
        add(imports_of(source, "pyscript." + module, False), "imported by PyScript's pyscript package")
    for wheel in wheels():
        for module, source, is_package in _wheel_files(wheel):
            add(imports_of(source, module, is_package), f"imported by {wheel.name}", module.split(".")[0])
    add(PYODIDE_OWN, "Pyodide's own Python")
    add(EXTRA, "imported from C or by a computed name")
    return out


def closure(stock: zipfile.ZipFile) -> dict[str, str]:
    """Every top-level member of the stock zip the page may import, with why."""
    members: dict[str, list[str]] = {}
    for name in stock.namelist():
        members.setdefault(top_name(name), []).append(name)
    keep: dict[str, str] = {}
    # Breadth first: each name's reason is its shortest way in.
    todo = deque((name, why) for name, why in roots().items() if name in members)
    while todo:
        name, why = todo.popleft()
        if name in keep:
            continue
        keep[name] = why
        for member in members[name]:
            if not member.endswith(".py") or member.endswith("/__main__.py"):
                continue
            module, is_package = _module_of(member)
            source = stock.read(member).decode("utf-8")
            for imported in sorted(imports_of(source, module, is_package)):
                if imported in members and imported not in keep and not _cut(name, imported):
                    todo.append((imported, f"imported by {module}"))
    return dict(sorted(keep.items()))


HEADER = """\
# Top-level modules and packages of Pyodide's python_stdlib.zip kept (each whole) in
# python_stdlib.app.zip, the stdlib the app's pages load (tools/vendor.py writes it).
# Derived, not edited by hand: `.venv/bin/python tools/stdlib_keep.py` rewrites this file from
# the page's sys.modules (bench/results/page-modules.json), every import of our code, of
# PyScript's package and of the pinned wheels, Pyodide's own packages, and the imports of
# everything kept, closed over (see that script's docstring; its CUT table lists the few
# edges not followed). tests/unit/test_stdlib_zip.py fails when this list is stale.
# name  # why it is kept (the first reason found)
"""


def render(keep: dict[str, str]) -> str:
    width = max(len(name) for name in keep)
    return HEADER + "".join(f"{name.ljust(width)}  # {why}\n" for name, why in keep.items())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write (or --check) tools/stdlib-keep.txt.")
    p.add_argument("--check", action="store_true", help="exit 1 if the committed list differs")
    p.add_argument("--stock", type=Path, default=STOCK_ZIP, help="Pyodide's python_stdlib.zip")
    args = p.parse_args(argv)
    with zipfile.ZipFile(io.BytesIO(args.stock.read_bytes())) as stock:
        keep = closure(stock)
        every = {top_name(n) for n in stock.namelist()}
    if args.check:
        have = set(keep_list())
        if have != set(keep):
            print(f"stdlib_keep: missing {sorted(set(keep) - have)}, extra {sorted(have - set(keep))}")
            return 1
        return 0
    KEEP_FILE.write_text(render(keep))
    dropped = " ".join(sorted(every - set(keep)))
    print(f"stdlib_keep: {len(keep)} of {len(every)} top-level names kept; dropped: {dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
