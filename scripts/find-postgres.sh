#!/usr/bin/env bash
# Print the folder of the PostgreSQL server binaries (initdb, pg_ctl) that the tests of
# several serve.py instances on one database start. With --install, install Debian's
# package when none is found and we may (root with apt-get); else explain.
set -euo pipefail
find_one() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ] && { echo "$PG_BIN"; return 0; }
  [ -n "$found" ] && [ -x "$found/initdb" ] && { echo "$found"; return 0; }
  return 1
}
if find_one; then exit 0; fi
if [ "${1:-}" = --install ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "find-postgres: installing Debian's postgresql package" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  # The package starts a cluster of its own; the tests start theirs (initdb in a temp folder).
  find_one && exit 0
fi
cat >&2 <<'MSG'
find-postgres: no PostgreSQL server found; the PostgreSQL tests will be skipped. To run them:
  Debian/Ubuntu:  sudo apt-get install postgresql
  or point PG_BIN at a folder with initdb and pg_ctl: PG_BIN=/usr/lib/postgresql/15/bin ./test.sh
MSG
exit 1
