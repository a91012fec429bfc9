#!/usr/bin/env python3
"""Dev server: the single-page app, its vendored runtime and the reference auth API.

    python3 serve.py --port 0 --access-ttl 4
    Serving on http://127.0.0.1:41234/

Layout of what it serves (all relative, so the app works under any base path;
``--base-path /repo/`` puts all of it under ``/repo/``, as GitHub Pages would):

    /                   web/           (index.html, pyscript.toml, main.py, app.css)
    /pyapp.zip          pyapp/ + tokensession/  zipped, unpacked by PyScript into the page
    /static/...         static/        (static/vendor/ is the pinned runtime, see tools/vendor.py)
    /config.json        client config from the flags (contract section 8)
    /api/v1/...         authapi        (contract section 3)
    /wheels/*.whl       the tokensession and authapi wheels (tools/build_wheels.py, built on first request)
    /examples/...       examples/      (examples/minimal/: a page that installs the wheel with micropip)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.util
import io
import json
import mimetypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
STATIC = ROOT / "static"
EXAMPLES = ROOT / "examples"
#: What the wheels are built from: a change to any of these files rebuilds them.
WHEEL_SOURCES = (ROOT / "tokensession", ROOT / "authapi", ROOT / "pyproject.toml")
#: What the page imports, zipped into ``pyapp.zip``: the app, the session library it uses, and
#: the reference API's logic that the in-page demo API runs (``demoApi``; 29 KB more zipped).
#: The static build (tools/build_site.py) ships the same zip.
PAGE_PACKAGES = (ROOT / "pyapp", ROOT / "tokensession", ROOT / "authapi")

mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/plain", ".toml")
mimetypes.add_type("text/x-python", ".py")

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
# Files in the vendored folders that we build ourselves (tools/), not copied from a
# pinned package: they can change while the folder's version does not, so they
# are revalidated rather than cached for a year. python_stdlib.app.zip changes with
# tools/stdlib-keep.txt, and the snapshot holds its table of contents: a year-old copy
# would make every boot fall back to the plain way.
BUILT_HERE = frozenset({"pyodide-snapshot.mjs", "snapshot.bin", "snapshot.bin.gz", "python_stdlib.app.zip"})

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


#: What serve.py imports beyond the standard library (requirements.txt), by import name.
REQUIRED_MODULES = ("starlette", "uvicorn", "jwt", "argon2")
#: Set when serve.py should not (or did already) re-execute itself under ``.venv``.
NO_VENV_ENV = "PYAUTH_SERVE_NO_VENV"


def ensure_packages(argv: Sequence[str]) -> None:
    """Contract section 2: a Python without our packages never shows a traceback.

    Under ``.venv/bin/python`` when the Run command made one (re-executed, same
    arguments); otherwise one line saying what to run, and exit status 1.
    """
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
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
    p.add_argument("--db", type=Path, default=None, help="SQLite token store (default: per-user data folder)")
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
    args = p.parse_args(argv)
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


class WheelCache:
    """The wheels of ``tools/build_wheels.py``, built on the first request for one and again
    when a source file changes (so an edit shows on reload), into a folder of this process.

    Building takes a fraction of a second; doing it on demand keeps startup fast.
    """

    def __init__(self, sources: Sequence[Path] = WHEEL_SOURCES) -> None:
        self.sources = sources
        self._dir = tempfile.TemporaryDirectory(prefix="serve-wheels-")
        self._built_for: str | None = None
        self._lock = asyncio.Lock()

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for source in self.sources:
            paths = [source] if source.is_file() else sorted(source.rglob("*"))
            for path in paths:
                if path.is_file() and "__pycache__" not in path.parts:
                    st = path.stat()
                    h.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
        return h.hexdigest()

    async def folder(self) -> Path:
        async with self._lock:
            now = await asyncio.to_thread(self.fingerprint)
            if now != self._built_for:
                await asyncio.to_thread(self._build)
                self._built_for = now
        return Path(self._dir.name)

    def _build(self) -> None:
        cmd = [sys.executable, str(ROOT / "tools" / "build_wheels.py"), self._dir.name]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our own tool, fixed arguments

    def close(self) -> None:
        self._dir.cleanup()


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

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._built: tuple[bytes, str] = (b"", "")
        self.builds = 0

    def current(self) -> tuple[bytes, str]:
        key = package_key(*PAGE_PACKAGES)
        if key != self._key:
            body = zip_package(*PAGE_PACKAGES)
            self._built = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
            self._key = key
            self.builds += 1
        return self._built


# The precompressed forms of the vendored runtime (tools/vendor.py), best first: a browser that
# takes zstd gets `name.zst` (0.2-1.1 MB less per big file than gzip), else `name.gz`.
# bench/boot_bench.py serves its bare PyScript page (the baseline) with gzip only, as the
# issue measured it.
PRECOMPRESSED: tuple[str, ...] = ("zstd", "gzip")
_SUFFIX = {"zstd": ".zst", "gzip": ".gz"}


def accepted_codings(scope: Any) -> set[str]:
    """The content codings the request's Accept-Encoding allows (``q=0`` excluded).

    >>> sorted(accepted_codings({"headers": [(b"accept-encoding", b"gzip, br;q=0, ZSTD;q=0.5")]}))
    ['gzip', 'zstd']
    """
    found: set[str] = set()
    for name, value in scope.get("headers", []):
        if name != b"accept-encoding":
            continue
        for item in value.decode("latin-1").split(","):
            coding, _, params = item.strip().partition(";")
            q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
            try:
                allowed = float(q) > 0
            except ValueError:
                allowed = False
            if coding.strip() and allowed:
                found.add(coding.strip().lower())
    return found


def build_app(args: argparse.Namespace) -> tuple[Any, Any]:
    """The ASGI app and the auth API object (closed at shutdown)."""
    from starlette.applications import Starlette
    from starlette.datastructures import Headers
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import NotModifiedResponse, StaticFiles
    from starlette.types import ASGIApp, Receive, Scope, Send

    from authapi.app import AuthApi, Settings, token_in_query
    from authapi.asgi import asgi_app

    api = AuthApi.open(
        Settings(
            access_ttl=args.access_ttl,
            refresh_ttl=args.refresh_ttl,
            refresh_grace=args.refresh_grace,
            users=args.users,
            is_demo=args.is_demo,
            db_path=args.db,
            httponly_refresh=args.httponly_refresh,
        )
    )
    config_body = json.dumps(client_config(args)).encode()

    class CachedStatic(StaticFiles):
        """Static files with the cache policy of their kind.

        The vendored runtime lives under versioned folder names, so it may be
        cached for a year; the app's own files are revalidated (ETag) on
        every load so an edit shows at once.
        """

        def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
            path = str(full_path)
            vendored = "/vendor/" in path.replace("\\", "/")
            # `name.gz` is what the runtime loader asks for (it gunzips it in the page, or takes
            # the bytes as they are when they are not gzip): the compressed form of `name`.
            asked_gz = path.endswith(".gz")
            raw = path.removesuffix(".gz")
            immutable = vendored and Path(raw).name not in BUILT_HERE
            codings = accepted_codings(scope) if vendored and status_code == 200 else set()
            # Compressed once by tools/vendor.py, not per request. For `name.gz`, only a better
            # coding than the .gz itself.
            coding = next(
                (c for c in PRECOMPRESSED if c in codings and Path(raw + _SUFFIX[c]).is_file()),
                None,
            )
            if coding is not None and not (asked_gz and coding == "gzip"):
                encoded = Path(raw + _SUFFIX[coding])
                media_type = mimetypes.guess_type(raw)[0] or "application/octet-stream"
                encoded_resp = FileResponse(encoded, stat_result=encoded.stat(), media_type=media_type)
                encoded_resp.headers["content-encoding"] = coding
                encoded_resp.headers["vary"] = "Accept-Encoding"
                # How the runtime loader turns body bytes into wire bytes (its link probe).
                encoded_resp.headers["x-decoded-length"] = str(Path(raw).stat().st_size)
                resp: Response = encoded_resp
                if self.is_not_modified(encoded_resp.headers, Headers(scope=scope)):
                    resp = NotModifiedResponse(encoded_resp.headers)
            else:
                resp = super().file_response(full_path, stat_result, scope, status_code)
                if asked_gz:
                    # The bytes as they are, not gzipped again by the middleware.
                    resp.headers["content-type"] = "application/gzip"
                    if vendored:
                        resp.headers["vary"] = "Accept-Encoding"
            resp.headers["cache-control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return resp

    async def config_json(request: Request) -> Response:
        return Response(config_body, media_type="application/json", headers={"cache-control": "no-cache"})

    zips = PackageZip()

    async def pyapp_zip(request: Request) -> Response:
        body, etag = await asyncio.to_thread(zips.current)
        headers = {"cache-control": "no-cache", "etag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/zip", headers=headers)

    wheels = WheelCache()

    async def wheel_file(request: Request) -> Response:
        name = request.path_params["name"]
        if not name.endswith(".whl") or "/" in name or name.startswith("."):
            return Response(status_code=404)
        try:
            path = (await wheels.folder()) / name
        except subprocess.CalledProcessError:
            return Response("the wheels could not be built: run tools/build_wheels.py", status_code=500)
        if not path.is_file():
            return Response(status_code=404)
        body = await asyncio.to_thread(path.read_bytes)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"cache-control": "no-cache", "etag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/octet-stream", headers=headers)

    async def api_not_found(request: Request) -> Response:
        return JSONResponse({"error": "not_found", "message": "No such API path."}, status_code=404)

    class SecurityHeaders:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return

            async def send_with_headers(message: Any) -> None:
                if message["type"] == "http.response.start":
                    names = {k.lower() for k, _ in message.get("headers", [])}
                    extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                    message["headers"] = list(message.get("headers", [])) + extra
                await send(message)

            await self.app(scope, receive, send_with_headers)

    class RefuseTokensInUrls:
        """Contract section 3 on every path, not only the API's: a token in a URL is refused."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and token_in_query(scope.get("query_string", b"").decode("latin-1")):
                refused = JSONResponse(
                    {"error": "token_in_url", "message": "Tokens must not travel in a URL."}, status_code=400
                )
                await refused(scope, receive, send)
                return
            await self.app(scope, receive, send)

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(RefuseTokensInUrls),
        Middleware(GZipMiddleware, minimum_size=1024),
    ]
    if args.cors_origin:
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=args.cors_origin,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            )
        )
    routes: list[Any] = [
        Route("/config.json", config_json),
        Route("/pyapp.zip", pyapp_zip),
        Mount("/api/v1", app=asgi_app(api)),
        Route("/api/{rest:path}", api_not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Mount("/static", app=CachedStatic(directory=STATIC, check_dir=False)),
        Route("/wheels/{name}", wheel_file),
        Mount("/examples", app=CachedStatic(directory=EXAMPLES, html=True, check_dir=False)),
        Mount("/", app=CachedStatic(directory=WEB, html=True)),
    ]
    if args.base_path != "/":
        # Under a base path (as on GitHub Pages, /<repo>/): the page's relative URLs
        # only resolve right from "/repo/", so "/repo" and "/" redirect there.
        base = args.base_path.rstrip("/")
        routes = [
            Route(base, lambda _r: RedirectResponse(args.base_path, 308)),
            Route("/", lambda _r: RedirectResponse(args.base_path, 307)),
            Mount(base, routes=routes),
        ]
    return Starlette(routes=routes, middleware=middleware), api


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)  # --help and bad flags work with no package installed
    ensure_packages(argv)
    import uvicorn

    app, api = build_app(args)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # for such sockets, and uvicorn writes head and body apart (measured: +40 ms/answer).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"serve.py: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    shown_host = f"[{args.host}]" if family == socket.AF_INET6 else args.host

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print(f"Serving on http://{shown_host}:{port}{args.base_path}", flush=True)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # SIGINT/SIGTERM mean "shut down cleanly, exit 0" (contract section 2).
            # uvicorn would re-raise the signal after its graceful shutdown,
            # turning a clean stop into status 130/143.
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="off",
        server_header=False,
        # No proxy in front: a client must not pick its own address (rate limits) via X-Forwarded-For.
        proxy_headers=False,
    )
    server = Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
