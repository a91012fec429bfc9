#!/usr/bin/env bash
# README "Test": install what the tests need (Chromium included, where allowed),
# check lint and types, then run every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test
scripts/find-chromium.sh --install >/dev/null
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
