#!/usr/bin/env bash
# README "Test": install what the tests need (Chromium included, where allowed),
# check lint and types, then run every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test
scripts/find-chromium.sh --install >/dev/null
scripts/find-browsers.sh --install >/dev/null  # Firefox ESR, WebKitGTK, Xvfb: tests/browser/engines
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Two workers (pytest-xdist), each with its own serve.py, Chromium and booted pages; tests
# go out one by one in collection order, CPython tests before browser tests (tests/conftest.py).
# PYTEST_WORKERS=0 runs everything in this process, one test after another.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist load "$@"
