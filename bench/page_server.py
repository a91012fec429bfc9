#!/usr/bin/env python3
"""``serve.py`` with its ``/`` mount pointed at ``bench/page/`` (the client benchmark's page).

    .venv/bin/python bench/page_server.py --port 0 --access-ttl 3600    # serve.py's flags

Everything else is ``serve.py``'s own app: ``/static`` (the vendored runtime),
``/pyapp.zip``, ``/config.json``, ``/api/v1/``, the cache headers, the CSP and gzip.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "bench" / "page"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from boot_bench import with_root

    import serve

    build_app = serve.build_app

    def build_page_app(args: argparse.Namespace) -> tuple[Any, Any]:
        app, api = build_app(args)
        return with_root(app, PAGE), api

    serve.build_app = build_page_app  # serve.main looks it up at call time
    return serve.main(argv)


if __name__ == "__main__":
    sys.exit(main())
