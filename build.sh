#!/usr/bin/env bash
# Build the static site (GitHub Pages) into OUT, installing what is missing first
# as ./run.sh does. OUT is emptied first (a non-empty folder that holds no earlier
# build is refused).
#   ./build.sh _site
#   ./build.sh _site --api-base https://api.example.org/api/v1   # an API on another origin
#   ./build.sh _site --simplejwt-base https://api.example.org/api  # a SimpleJWT API
#   ./build.sh _site --oidc-issuer https://id.example.org --oidc-client-id spa  # an OpenID provider
#   ./build.sh _site --runtime pyodide  # the app on Pyodide (contract section 11)
# BUILD_SKIP_SETUP=1 skips the install step (the tests set it: ./test.sh has just
# installed a superset of it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: ./build.sh OUT [--api-base URL] [--demo-api auto|true|false]" >&2
  echo "         [--simplejwt-base URL | --oidc-issuer URL --oidc-client-id ID [--oidc-scope S]]" >&2
  echo "         [--connect-origin ORIGIN]... [--runtime micropython|pyodide]" >&2
  exit 2
fi
[ "${BUILD_SKIP_SETUP:-}" = 1 ] || "$here/scripts/setup.sh" run
# OUT stays relative to the caller's folder: no cd here.
exec "$here/.venv/bin/python" "$here/tools/build_site.py" "$@"
