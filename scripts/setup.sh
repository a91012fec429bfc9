#!/usr/bin/env bash
# Install what is missing, and only that: a virtual environment with the pinned
# Python packages, the pinned npm runtime, and static/vendor/ built from it.
#   scripts/setup.sh run    # what serve.py needs
#   scripts/setup.sh test   # plus test, lint and benchmark tools
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-run}
req=requirements.txt
[ "$want" = test ] && req=requirements-dev.txt

say() { printf 'setup: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || fail "Python 3.11+ is needed (python3 not found)."
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || fail "Python 3.11+ is needed, found $("$PY" --version)."
command -v npm >/dev/null || fail "Node.js 20+ with npm is needed to fetch the pinned browser runtime (npm not found)."

# A stamp per input file: reinstall only when what is pinned has changed.
stamp_ok() { [ -f "$2" ] && [ "$(cat "$2")" = "$(cat "$1" requirements.txt | sha256sum)" ]; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
if ! stamp_ok "$req" ".venv/.stamp-$want"; then
  say "installing $req"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  cat "$req" requirements.txt | sha256sum > ".venv/.stamp-$want"
fi

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.stamp ] || [ "$(cat node_modules/.stamp)" != "$lock_sum" ]; then
  say "installing the pinned runtime (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.stamp
fi
.venv/bin/python tools/vendor.py >&2
# The PostgreSQL tests (several serve.py instances on one database) start a server of their own:
# install Debian's where we may; elsewhere those tests skip, saying why.
if [ "$want" = test ]; then
  scripts/find-postgres.sh --install >/dev/null || true
fi
