#!/usr/bin/env bash
# The engines besides Chromium that tests/browser/engines drives: Firefox ESR (through npm
# puppeteer-core over WebDriver BiDi), WebKitGTK (WebKitWebDriver + MiniBrowser, through Selenium)
# and Xvfb (MiniBrowser needs a display). Prints what it found, one "name path" a line.
# With --install, installs Debian's packages when some are missing and we may (root with apt-get);
# else explains. Missing engines are not an error here: their tests skip and say why.
set -euo pipefail
FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}
WEBKIT_DRIVER=${WEBKIT_DRIVER:-/usr/bin/WebKitWebDriver}
MINIBROWSER=${MINIBROWSER:-/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser}
XVFB=${XVFB:-/usr/bin/Xvfb}
missing() {
  local m=()
  [ -x "$FIREFOX" ] || m+=(firefox-esr)
  { [ -x "$WEBKIT_DRIVER" ] && [ -x "$MINIBROWSER" ]; } || m+=(webkit2gtk-driver)
  [ -x "$XVFB" ] || m+=(xvfb)
  echo "${m[@]}"
}
need=$(missing)
if [ -n "$need" ] && [ "${1:-}" = --install ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "find-browsers: installing Debian's $need" >&2
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >&2
  need=$(missing)
fi
[ -x "$FIREFOX" ] && echo "firefox $FIREFOX"
[ -x "$WEBKIT_DRIVER" ] && [ -x "$MINIBROWSER" ] && echo "webkit-driver $WEBKIT_DRIVER" && echo "minibrowser $MINIBROWSER"
[ -x "$XVFB" ] && echo "xvfb $XVFB"
if [ -n "$need" ]; then
  cat >&2 <<MSG
find-browsers: missing: $need. The Firefox and WebKit tests (tests/browser/engines) skip without them:
  Debian/Ubuntu:  sudo apt-get install firefox-esr webkit2gtk-driver xvfb
  or point FIREFOX, WEBKIT_DRIVER, MINIBROWSER, XVFB at your own binaries.
MSG
fi
exit 0
