#!/usr/bin/env python3
"""``serve.py`` without the Pyodide memory snapshot: its files answer 404 from the server, so the
Pyodide page boots the plain way, and the browser caches every other file as usual (a
Playwright ``page.route`` would do the same to the snapshot but turn the HTTP cache off, which
no warm visit can be measured with). ``bench/network_bench.py --plain`` serves the app with it.

    .venv/bin/python bench/nosnapshot_server.py --port 0 --runtime pyodide    # serve.py's flags
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class WithoutSnapshot:
    """An ASGI app: ``inner``, but any path with ``/snapshot.bin`` in it is a 404."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "/snapshot.bin" in scope["path"]:
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"no snapshot here"})
            return
        await self.inner(scope, receive, send)


def main(argv: list[str] | None = None) -> int:
    import serve

    build_app = serve.build_app

    def build_without_snapshot(args: argparse.Namespace) -> tuple[Any, Any]:
        app, api = build_app(args)
        return WithoutSnapshot(app), api

    serve.build_app = build_without_snapshot  # serve.main looks it up at call time
    return serve.main(argv)


if __name__ == "__main__":
    sys.exit(main())
