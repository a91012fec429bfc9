#!/usr/bin/env bash
# README "Run": install what is missing, then serve the app at http://127.0.0.1:8000/.
# Extra arguments go to serve.py, e.g. ./run.sh --access-ttl 60
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh run
exec .venv/bin/python serve.py "$@"
