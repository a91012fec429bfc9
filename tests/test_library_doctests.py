"""The library's docstring examples run with the standard library alone, as the wheel ships.

A fresh ``python -I -S`` (no site-packages, no ``PYTHON*`` variables, no script folder)
whose ``sys.path`` holds only the stdlib and a temporary copy of ``tokensession/``: the
app, the reference API, the tests and ``requests`` cannot be imported. The page adapters
(``tokensession.browser``) need a browser and are left out; a module whose optional
dependency is missing (``requests_auth``: ``requests``; ``oidc_jwks``: PyJWT's crypto, the
``oidc`` extra) is reported as skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.serverproc import ROOT

RUNNER = r"""
import doctest, importlib, importlib.util, json, pathlib, sys

sys.path.insert(0, sys.argv[1])
blocked = [name for name in ("authapi", "pyapp", "tests", "requests") if importlib.util.find_spec(name)]
package = pathlib.Path(sys.argv[1]) / "tokensession"
report = {"blocked_but_importable": blocked, "failed": {}, "attempted": {}, "skipped": {}}
for path in sorted(package.rglob("*.py")):
    parts = path.relative_to(package.parent).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    if name.startswith("tokensession.browser"):
        continue
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        report["skipped"][name] = str(exc)
        continue
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    report["attempted"][name] = result.attempted
    if result.failed:
        report["failed"][name] = result.failed
print(json.dumps(report))
"""


def test_the_librarys_doctests_pass_with_only_the_standard_library(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tokensession", tmp_path / "tokensession", ignore=shutil.ignore_patterns("__pycache__"))
    runner = tmp_path / "run_doctests.py"
    runner.write_text(RUNNER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(runner), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["blocked_but_importable"] == []
    assert report["failed"] == {}, done.stdout
    assert set(report["skipped"]) <= {"tokensession.requests_auth", "tokensession.oidc_jwks"}, report["skipped"]
    assert sum(report["attempted"].values()) > 30  # the examples ran, not an empty walk
    assert report["attempted"]["tokensession"] > 0 and report["attempted"]["tokensession.transport"] > 0
