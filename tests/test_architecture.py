"""The library stands on its own: it never imports the app nor the reference API, has no import
cycles, and only its page adapters (``tokensession.browser``) touch the browser."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverproc import ROOT

LIBRARY = ROOT / "tokensession"
#: Packages of this repository the library never imports, not even lazily: it ships alone.
NOT_THE_LIBRARY = ("pyapp", "authapi")
BROWSER_ONLY = ("js", "jsffi", "pyodide", "pyodide_js", "pyscript", "pyodide_http", "micropip")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIBRARY.rglob("*.py")) if "__pycache__" not in p.parts}


def imports(path: Path, *, top_level_only: bool, source: str | None = None) -> set[str]:
    """Modules ``path`` (or ``source``, said to be at ``path``) imports. ``top_level_only``: what
    runs at import time (not inside functions, not under ``if TYPE_CHECKING``), the imports that
    can form a cycle."""
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if top_level_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if top_level_only and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit_orelse(child)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                found.add(base)
                for alias in child.names:  # "from tokensession import flow" imports a module
                    if f"{base}.{alias.name}" in MODULES:
                        found.add(f"{base}.{alias.name}")
            visit(child)

    def visit_orelse(node: ast.If) -> None:
        for child in node.orelse:
            visit(ast.Module(body=[child], type_ignores=[]))

    visit(tree)
    return found


def test_the_library_never_imports_the_app_nor_the_reference_api_not_even_lazily() -> None:
    offenders = {
        name: sorted(m for m in imports(path, top_level_only=False) if m.split(".")[0] in NOT_THE_LIBRARY)
        for name, path in MODULES.items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_walk_sees_lazy_and_type_checking_imports() -> None:  # the check above can fail
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from authapi.app import AuthApi\n"
        "def f():\n    import pyapp.app\n    from authapi import inpage\n"
        "class C:\n    async def g(self):\n        from ..authapi_like import x\n"
    )
    found = imports(LIBRARY / "transport.py", top_level_only=False, source=source)
    assert {"authapi.app", "pyapp.app", "authapi"} <= found


def test_only_the_page_adapters_import_browser_modules() -> None:
    offenders = {
        name: sorted(m for m in imports(path, top_level_only=False) if m.split(".")[0] in BROWSER_ONLY)
        for name, path in MODULES.items()
        if not name.startswith("tokensession.browser")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def test_no_import_cycles_inside_the_library() -> None:
    # The package's own __init__ re-exports the public API; submodules import each other
    # directly, so edges into "tokensession" itself would only be the implicit parent import.
    graph = {
        name: {m for m in imports(path, top_level_only=True) if m in MODULES and m != "tokensession"}
        for name, path in MODULES.items()
    }
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_find_cycle_sees_a_cycle() -> None:  # the check above can fail
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# Run in a fresh interpreter: ``pyapp`` cannot be imported at all (a meta path finder refuses
# it), the browser's modules are stand-ins, and every library module is imported.
IMPORT_ALL = r"""
import importlib, importlib.abc, json, sys, types

class NoApp(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyapp", "authapi"):
            raise ImportError(f"the library imported the app or the reference API: {name}")
        return None

sys.meta_path.insert(0, NoApp())

class Anything(types.ModuleType):  # js, pyscript, ...: any attribute, any call
    __path__ = []
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type("JsThing", (), {"__call__": lambda *a, **k: None, "__getattr__": lambda s, n: None})()

for name in %(browser)s + ["pyodide.ffi", "pyscript.ffi"]:
    sys.modules[name] = Anything(name)

failed = {}
for name in %(modules)s:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
app = sorted(m for m in sys.modules if m.split(".")[0] in ("pyapp", "authapi"))
print(json.dumps({"failed": failed, "app": app}))
"""


def test_every_library_module_imports_with_the_app_absent() -> None:
    code = IMPORT_ALL % {"browser": json.dumps(list(BROWSER_ONLY)), "modules": json.dumps(sorted(MODULES))}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"failed": {}, "app": []}


@pytest.mark.parametrize("blocked", ["pyapp", "pyapp.app", "authapi.app"])
def test_the_blocker_would_catch_an_app_import(blocked: str) -> None:  # the check above can fail
    code = IMPORT_ALL % {"browser": "[]", "modules": json.dumps([blocked])}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "the library imported the app or the reference API" in report["failed"][blocked]


# --- serve.py: small pieces --------------------------------------------------------------------

SERVER_MODULES = (ROOT / "serve.py", ROOT / "serve_app.py")


def function_lengths(path: Path) -> dict[str, int]:
    """Lines of every function and method in ``path`` (decorators and docstring included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                assert child.end_lineno is not None
                lengths[f"{prefix}{child.name}:{child.lineno}"] = child.end_lineno - first + 1
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return lengths


def test_function_lengths_counts_every_function_and_method(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "def f():\n    pass\n\n\nclass C:\n    @staticmethod\n    def g():\n        def h():\n            pass\n"
    )
    assert function_lengths(src) == {"f:1": 2, "C.g:7": 4, "C.g.h:8": 2}


@pytest.mark.parametrize("path", SERVER_MODULES, ids=lambda p: p.name)
def test_no_function_of_the_server_is_over_60_lines(path: Path) -> None:
    lengths = function_lengths(path)
    assert lengths  # the file was read
    assert {name: n for name, n in lengths.items() if n > 60} == {}


def test_serve_py_imports_only_the_standard_library_at_import_time() -> None:
    """``--help`` and the "missing packages" line must work on a bare Python."""
    third_party = {m.split(".")[0] for m in imports(ROOT / "serve.py", top_level_only=True)}
    assert third_party <= set(sys.stdlib_module_names) | {"__future__"}
