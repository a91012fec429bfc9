"""The wheels as a user gets them: built, installed into a fresh venv with nothing else,
imported, and the README's plain-Python example run against a real serve.py."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import ROOT, ServerProcess

sys.path.insert(0, str(ROOT / "tools"))
import build_wheels  # tools/ is a script folder, not a package


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_wheels.build(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def wheels(built: list[Path]) -> list[Path]:
    return [p for p in built if p.suffix == ".whl"]


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory, wheels: list[Path]) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", *map(str, wheels)]
    subprocess.run(install, check=True)
    return python


def run_isolated(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # -I: no user site, no PYTHON* variables, no script folder on sys.path: only the venv.
    return subprocess.run([str(python), "-I", "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_wheel_names_are_stable_and_pure_python(wheels: list[Path]) -> None:
    assert [w.name for w in wheels] == build_wheels.wheel_names()
    version = build_wheels.library_version()
    assert wheels[0].name == f"tokensession-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        metadata = whl.read(f"tokensession-{version}.dist-info/METADATA").decode()
    assert "tokensession/browser/fetch.py" in names
    assert not [n for n in names if n.endswith(".pyc") or n.startswith(("pyapp/", "authapi/"))]
    assert "Requires-Dist: requests" in metadata and 'extra == "requests"' in metadata  # optional only
    assert not [line for line in metadata.splitlines() if line.startswith("Requires-Dist") and "extra" not in line]


def test_the_same_sources_build_the_same_bytes(built: list[Path], tmp_path: Path) -> None:
    again = build_wheels.build(tmp_path)
    assert [w.read_bytes() for w in again] == [w.read_bytes() for w in built]


def test_the_micropython_zips_hold_the_ported_packages_and_the_stand_ins(built: list[Path]) -> None:
    zips = [p for p in built if p.suffix == ".zip"]
    assert [p.name for p in zips] == build_wheels.micropython_names()
    with zipfile.ZipFile(zips[0]) as lib, zipfile.ZipFile(zips[1]) as api:
        lib_names, api_names = lib.namelist(), api.namelist()
        http = lib.read("tokensession/http.py").decode()
    assert {"tokensession/client.py", "typing.py", "dataclasses.py", "cpython_compat.py"} <= set(lib_names)
    assert "_fields=(" in http  # as tools/mpy_port.py writes it: MicroPython keeps no annotations
    assert "authapi/inpage.py" in api_names and not [n for n in api_names if not n.startswith("authapi/")]


def test_wheel_imports_in_a_fresh_venv_with_nothing_else(venv_python: Path, tmp_path: Path) -> None:
    code = (
        "import sys, tokensession, tokensession.urllib_handler, tokensession.sync, tokensession.transport\n"
        "from tokensession import ApiClient, SessionHandler, __version__\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pyapp', 'authapi', 'requests', 'js', 'pyodide')]\n"
        "print(__version__, tokensession.__file__)\n"
    )
    done = run_isolated(venv_python, code, tmp_path)
    assert done.returncode == 0, done.stderr
    version, where = done.stdout.split()
    assert version == build_wheels.library_version()
    assert str(ROOT) not in where  # the installed copy, not this tree


def test_authapi_wheel_imports_without_the_server_packages(venv_python: Path, tmp_path: Path) -> None:
    done = run_isolated(venv_python, "import authapi.app, authapi.messages; print('ok')", tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_authapi_wheel_holds_the_in_page_demo_api(venv_python: Path, tmp_path: Path) -> None:
    code = (
        "import asyncio, json\n"
        "from authapi.inpage import DemoTransport\n"
        "from authapi.kvstore import MemoryKeyValue\n"
        "from tokensession import Request\n"
        "answer = asyncio.run(DemoTransport(MemoryKeyValue()).send(Request.build('GET', 'info')))\n"
        "print(json.dumps(answer.json()['demo']))\n"
    )
    done = run_isolated(venv_python, code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "true"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with ServerProcess() as srv:
        yield srv.url


def readme_example(heading: str) -> str:
    text = (ROOT / "tokensession" / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def test_readme_plain_python_example_runs_against_serve_py(venv_python: Path, server_url: str, tmp_path: Path) -> None:
    code = readme_example("Plain Python, standard library only")
    assert "http://127.0.0.1:8000/" in code
    done = run_isolated(venv_python, code.replace("http://127.0.0.1:8000/", server_url), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'username': 'demo'" in done.stdout


@pytest.mark.parametrize(
    ("example", "names"), [("minimal", build_wheels.wheel_names), ("minimal-mpy", build_wheels.micropython_names)]
)
def test_the_minimal_examples_name_the_files_this_version_builds(example: str, names: Any) -> None:
    toml = (ROOT / "examples" / example / "pyscript.toml").read_text(encoding="utf-8")
    named = re.findall(r'"\.\./\.\./wheels/([^"]+)"', toml)
    assert named == names()  # bump __version__ and the example moves with it


def test_the_readme_section_is_the_minimal_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Use it in your own PyScript page", 1)[1].split("\n### ", 1)[0]
    blocks = dict(re.findall(r"```(html|toml|python)\n(.*?)```", section, re.S))
    folder = ROOT / "examples" / "minimal"

    def code_lines(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    assert blocks["html"] == (folder / "index.html").read_text(encoding="utf-8")
    assert code_lines(blocks["toml"]) == code_lines((folder / "pyscript.toml").read_text(encoding="utf-8"))
    assert code_lines(blocks["python"]) == code_lines((folder / "main.py").read_text(encoding="utf-8"))
