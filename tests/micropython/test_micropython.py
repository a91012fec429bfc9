"""The library's unit tests, run again under the two interpreters PyScript pages use, in Node:
MicroPython (the npm build PyScript loads) and Pyodide (npm; CPython 3.14 in WebAssembly).

For MicroPython the modules are ported by ``tools/mpy_port.py`` (as MicroPython pages get them,
with ``micropython/lib``'s stand-ins); Pyodide takes them as they are. ``runner.py`` runs them
with ``lib/pytest.py`` standing in for pytest (neither interpreter has pytest, and nothing is
downloaded), one interpreter per runtime for every module. Each (runtime, module) is one test
here: it fails if any of its tests fails there, or if none ran. A test that needs a fixture only
pytest has (``caplog``, ``tmp_path``) is reported as skipped, with why.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import mpy_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE = shutil.which("node")

#: Every unit test module of the policy, the flows, the client, cookies, config and messages.
MODULES = [
    "test_policy",
    "test_flow",
    "test_state",
    "test_stepping",
    "test_cookies",
    "test_config",
    "test_config_cross_origin",
    "test_oidc",
    "test_messages",
    "test_sources",
    "test_client",
    "test_client_run",
    "test_refresh_failures",
    "test_httponly_mode",
    "test_relay",
]
# Not here: test_client_loop (CPython's event loop policies and warnings), test_drivers and
# test_properties (urllib, requests, threads, hypothesis), test_id_token (PyJWT, cryptography).


def manifest(paths: list[Path]) -> dict[str, dict[str, list[str]]]:
    """module -> {function: parameter names}, for the module-level functions (tests, fixtures)."""
    out: dict[str, dict[str, list[str]]] = {}
    for path in paths:
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        functions = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                functions[node.name] = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
        out[module] = functions
    return out


def build_tree(out: Path, runtime: str) -> Path:
    """The packages and unit tests as ``runtime`` gets them: ported, with ``micropython/lib``'s
    stand-ins, for MicroPython; as they are for Pyodide (a CPython). Plus the pytest stand-in."""
    if runtime == "micropython":
        mpy_port.write_tree(out, ["tokensession", "authapi", "pyapp", "tests/unit"])
    else:
        for package in ("tokensession", "authapi", "pyapp", "tests/unit"):
            shutil.copytree(ROOT / package, out / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(ROOT / "tests" / "__init__.py", out / "tests" / "__init__.py")
    shutil.copytree(HERE / "lib", out, dirs_exist_ok=True)
    unit = sorted((ROOT / "tests" / "unit").glob("*.py"))
    (out / "manifest.json").write_text(json.dumps(manifest(unit)), encoding="utf-8")
    return out


#: What each runtime reported, per module, run once per session (one interpreter, every module).
_RESULTS: dict[str, tuple[dict[str, list[dict[str, str]]], str]] = {}


def results_under(
    runtime: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, list[dict[str, str]]], str]:
    if runtime not in _RESULTS:
        assert NODE, "node is needed (the Test command installs it)"
        tree = build_tree(tmp_path_factory.mktemp(runtime), runtime)
        run = subprocess.run(
            [
                NODE,
                str(HERE / "run.mjs"),
                "--runtime",
                runtime,
                str(tree),
                str(HERE / "runner.py"),
                "/app/manifest.json",
            ]
            + [f"tests.unit.{m}" for m in MODULES],
            capture_output=True,
            text=True,
            timeout=900,  # a hang guard only
            cwd=ROOT,
        )
        by_module: dict[str, list[dict[str, str]]] = {m: [] for m in MODULES}
        for line in run.stdout.splitlines():
            if line.startswith("{"):
                result = json.loads(line)
                module = result["id"].split("::")[0].rsplit(".", 1)[-1]
                by_module.setdefault(module, []).append(result)
        _RESULTS[runtime] = (by_module, f"exit {run.returncode}\n{run.stderr[-6000:]}")
    return _RESULTS[runtime]


@pytest.mark.parametrize("runtime", ["micropython", "pyodide"])
@pytest.mark.parametrize("module", MODULES)
def test_the_unit_tests_pass_under_each_page_runtime(
    runtime: str, module: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    by_module, stderr = results_under(runtime, tmp_path_factory)
    results = by_module[module]
    failed = [r for r in results if r["outcome"] in ("failed", "unimportable")]
    passed = [r for r in results if r["outcome"] == "passed"]
    skipped = [f"{r['id']}: {r['detail']}" for r in results if r["outcome"] == "skipped"]
    print(f"{module}: {len(passed)} passed, {len(skipped)} skipped under {runtime}", *skipped, sep="\n  ")
    assert not failed, "\n".join(f"{r['id']}: {r['detail']}" for r in failed) + "\n" + stderr
    assert passed, stderr
