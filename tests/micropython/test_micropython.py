"""The library's unit tests, run again under MicroPython (the npm build PyScript pages load), in Node.

The modules below are ported by ``tools/mpy_port.py`` (as MicroPython pages get them) and run
by ``runner.py`` with ``lib/pytest.py`` standing in for pytest. Each module is one test here:
it fails if any of its tests fails under MicroPython, or if none ran. A test that needs a
fixture only pytest has (``caplog``, ``tmp_path``) is reported as skipped there, with why.
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


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mpy")
    mpy_port.write_tree(out, ["tokensession", "authapi", "pyapp", "tests/unit"])
    for name in ("tests/__init__.py",):
        (out / name).write_text(mpy_port.port((ROOT / name).read_text(encoding="utf-8")), encoding="utf-8")
    shutil.copytree(HERE / "lib", out, dirs_exist_ok=True)
    unit = sorted((ROOT / "tests" / "unit").glob("*.py"))
    (out / "manifest.json").write_text(json.dumps(manifest(unit)), encoding="utf-8")
    return out


@pytest.mark.parametrize("module", MODULES)
def test_the_unit_tests_pass_under_micropython(tree: Path, module: str) -> None:
    assert NODE, "node is needed (the Test command installs it)"
    run = subprocess.run(
        [NODE, str(HERE / "run.mjs"), str(tree), str(HERE / "runner.py"), "/app/manifest.json", f"tests.unit.{module}"],
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard only
        cwd=ROOT,
    )
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    failed = [r for r in results if r["outcome"] in ("failed", "unimportable")]
    passed = [r for r in results if r["outcome"] == "passed"]
    skipped = [f"{r['id']}: {r['detail']}" for r in results if r["outcome"] == "skipped"]
    print(f"{module}: {len(passed)} passed, {len(skipped)} skipped under MicroPython", *skipped, sep="\n  ")
    assert run.returncode == 0, run.stderr[-4000:]
    assert not failed, "\n".join(f"{r['id']}: {r['detail']}" for r in failed) + "\n" + run.stderr[-4000:]
    assert passed
