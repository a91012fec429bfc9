"""A dumb static file server, as GitHub Pages or ``python3 -m http.server`` would be for us.

    python3 tests/static/plainserver.py DIR        # prints "Serving on http://127.0.0.1:PORT/"

It is ``http.server.SimpleHTTPRequestHandler`` (what ``python3 -m http.server``
runs): no compression, no CSP or cache headers, ``.gz`` files served as they
are. ``--port 0`` (the default) picks a free port and prints it, which
``python3 -m http.server`` cannot do reliably. ``PlainServer`` runs it as a
child process for tests and benchmarks::

    with PlainServer(site_parent) as srv:
        page.goto(srv.url + "demo-repo/")
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class GzipLabellingHandler(QuietHandler):
    """Serves ``x.gz`` with ``Content-Encoding: gzip``, as Apache's ``AddEncoding gzip .gz`` does:
    the browser then gunzips it before the page sees it."""

    def end_headers(self) -> None:
        if self.path.split("?", 1)[0].endswith(".gz"):
            self.send_header("Content-Encoding", "gzip")
        super().end_headers()


class PlainServer:
    """``plainserver.py DIR`` as a child process on a free port; ``url`` ends with ``/``."""

    def __init__(self, directory: Path, start_timeout: float = 30, *, label_gzip: bool = False) -> None:
        self.directory = directory
        self.label_gzip = label_gzip
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> PlainServer:
        cmd = [sys.executable, __file__, str(self.directory), *(["--label-gzip"] if self.label_gzip else [])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        found = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("Serving on ") and not found.is_set():
                    self.url = line.split()[-1]
                    found.set()
            found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(self.start_timeout) or not self.url:
            self.__exit__(None, None, None)
            raise RuntimeError("plainserver.py did not start")
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main() -> int:
    p = argparse.ArgumentParser(description="Serve DIR as a plain static file server.")
    p.add_argument("directory", type=Path)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--label-gzip", action="store_true", help="send x.gz with Content-Encoding: gzip")
    args = p.parse_args()
    handler_class = GzipLabellingHandler if args.label_gzip else QuietHandler
    handler = functools.partial(handler_class, directory=str(args.directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as httpd:
        print(f"Serving on http://127.0.0.1:{httpd.server_address[1]}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
