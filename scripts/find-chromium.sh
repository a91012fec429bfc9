#!/usr/bin/env bash
# Print the Chromium the browser tests drive. With --install, install Debian's
# package when none is found and we may (root with apt-get); else explain.
set -euo pipefail
find_one() {
  for c in "${CHROMIUM:-}" /usr/lib/chromium/chromium /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}
if find_one; then exit 0; fi
if [ "${1:-}" = --install ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "find-chromium: installing Debian's chromium package" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  find_one && exit 0
fi
cat >&2 <<'MSG'
find-chromium: no Chromium found. The browser tests need one:
  Debian/Ubuntu:  sudo apt-get install chromium
  or point CHROMIUM at a Chromium/Chrome binary: CHROMIUM=/path/to/chrome ./test.sh
(Playwright's own browser download is not used: it needs a network this project does not assume.)
MSG
exit 1
