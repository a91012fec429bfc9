"""The pieces of the ASGI app ``serve.py`` runs, each usable (and tested) alone.

Middleware are ASGI classes that wrap an app, as Starlette's own are; endpoints
are Starlette request functions whose dependencies are keyword arguments, bound
with ``functools.partial`` (Starlette unwraps it to see a request function) where
:func:`serve.build_app` composes them::

    app = Starlette(
        routes=[Route("/config.json", partial(fixed_json, body=b'{"lang": "auto"}'))],
        middleware=[Middleware(SecurityHeaders, headers=[(b"x-content-type-options", b"nosniff")])],
    )

This module imports Starlette and uvicorn, so ``serve.py`` imports it only once it
knows they are installed: ``serve.py`` itself must import with the standard library
alone (``--help``, and one line instead of a traceback when a package is missing).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authapi.app import token_in_query

ROOT = Path(__file__).resolve().parent

mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/plain", ".toml")
mimetypes.add_type("text/x-python", ".py")

#: What the wheels are built from: a change to any of these files rebuilds them.
WHEEL_SOURCES = (
    ROOT / "tokensession",
    ROOT / "authapi",
    ROOT / "pyproject.toml",
    ROOT / "micropython" / "lib",
    ROOT / "tools" / "mpy_port.py",
)

# Files in the vendored folders that we build ourselves (tools/), not copied from a
# pinned package: they can change while the folder's version does not, so they
# are revalidated rather than cached for a year. python_stdlib.app.zip changes with
# tools/stdlib-keep.txt, and the snapshot holds its table of contents: a year-old copy
# would make every boot fall back to the plain way.
BUILT_HERE = frozenset({"pyodide-snapshot.mjs", "snapshot.bin", "snapshot.bin.gz", "python_stdlib.app.zip"})

#: The precompressed forms of the vendored runtime (tools/vendor.py), best first: a browser
#: that takes zstd gets ``name.zst``, else ``name.gz``.
PRECOMPRESSED: tuple[str, ...] = ("zstd", "gzip")
_SUFFIX = {"zstd": ".zst", "gzip": ".gz"}


def accepted_codings(scope: Scope) -> set[str]:
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


# --- middleware -------------------------------------------------------------------------------


class SecurityHeaders:
    """Adds ``headers`` to every HTTP response that does not set them itself.

    ``Middleware(SecurityHeaders, headers=[(b"x-content-type-options", b"nosniff")])``
    """

    def __init__(self, app: ASGIApp, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = list(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RefuseTokensInUrls:
    """Contract section 3 on every path, not only the API's: a token in a URL is refused (400)."""

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


# --- static files -----------------------------------------------------------------------------


class CachedStatic(StaticFiles):
    """Static files with the cache policy of their kind.

    The vendored runtime (under ``/vendor/``) lives under versioned folder names, so it
    may be cached for a year, and is sent in its precompressed form (``codings``, best
    first) when the browser takes one; the app's own files are revalidated (ETag) on
    every load so an edit shows at once.
    """

    def __init__(self, *, codings: Sequence[str] = PRECOMPRESSED, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codings = tuple(codings)

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
        coding = next((c for c in self.codings if c in codings and Path(raw + _SUFFIX[c]).is_file()), None)
        if coding is not None and not (asked_gz and coding == "gzip"):
            resp = self._precompressed(raw, coding, scope)
        else:
            resp = super().file_response(full_path, stat_result, scope, status_code)
            if asked_gz:
                # The bytes as they are, not gzipped again by the middleware.
                resp.headers["content-type"] = "application/gzip"
                if vendored:
                    resp.headers["vary"] = "Accept-Encoding"
        resp.headers["cache-control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return resp

    def _precompressed(self, raw: str, coding: str, scope: Scope) -> Response:
        """``raw`` sent as its ``coding`` form, with the decoded length the runtime loader reads."""
        encoded = Path(raw + _SUFFIX[coding])
        media_type = mimetypes.guess_type(raw)[0] or "application/octet-stream"
        resp = FileResponse(encoded, stat_result=encoded.stat(), media_type=media_type)
        resp.headers["content-encoding"] = coding
        resp.headers["vary"] = "Accept-Encoding"
        # How the runtime loader turns body bytes into wire bytes (its link probe).
        resp.headers["x-decoded-length"] = str(Path(raw).stat().st_size)
        if self.is_not_modified(resp.headers, Headers(scope=scope)):
            return NotModifiedResponse(resp.headers)
        return resp


# --- endpoints --------------------------------------------------------------------------------


def revalidated(request: Request, body: bytes, etag: str, media_type: str) -> Response:
    """``body`` with its ETag, revalidated on every load: 304 when the client has it."""
    headers = {"cache-control": "no-cache", "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def fixed_json(request: Request, *, body: bytes) -> Response:
    """The same JSON bytes every time (``/config.json``), revalidated on every load."""
    return Response(body, media_type="application/json", headers={"cache-control": "no-cache"})


async def fixed_body(request: Request, *, body: bytes, media_type: str) -> Response:
    """The same bytes every time (a page made at startup), revalidated on every load."""
    return Response(body, media_type=media_type, headers={"cache-control": "no-cache"})


async def package_zip(request: Request, *, current: Callable[[], tuple[bytes, str]]) -> Response:
    """``/pyapp.zip``: ``current()`` gives the zip and its ETag (built in a thread: it may zip files)."""
    body, etag = await asyncio.to_thread(current)
    return revalidated(request, body, etag, "application/zip")


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


async def wheel_file(request: Request, *, wheels: WheelCache) -> Response:
    """``/wheels/{name}``: one of the wheels (or MicroPython zips) ``wheels`` builds, by file name."""
    name = request.path_params["name"]
    if not name.endswith((".whl", "-micropython.zip")) or "/" in name or name.startswith("."):
        return Response(status_code=404)
    try:
        path = (await wheels.folder()) / name
    except subprocess.CalledProcessError:
        return Response("the wheels could not be built: run tools/build_wheels.py", status_code=500)
    if not path.is_file():
        return Response(status_code=404)
    body = await asyncio.to_thread(path.read_bytes)
    return revalidated(request, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', "application/octet-stream")


async def api_not_found(request: Request) -> Response:
    """A path under ``/api/`` that no API version answers: the API's JSON 404, not the page's."""
    return JSONResponse({"error": "not_found", "message": "No such API path."}, status_code=404)


async def not_found(request: Request, exc: Exception, *, api_prefix: str) -> Response:
    """What no route takes, a path with a control character included (routes match up to a
    newline): under ``api_prefix`` the API's JSON 404, elsewhere a plain one."""
    if request.url.path.startswith(api_prefix):
        return await api_not_found(request)
    return PlainTextResponse("Not Found", status_code=404)


async def redirect(request: Request, *, location: str, status_code: int) -> Response:
    return RedirectResponse(location, status_code)


def under_base_path(base_path: str, routes: list[BaseRoute]) -> list[BaseRoute]:
    """``routes`` served under ``base_path`` (``/repo/``, as on GitHub Pages), if it is not ``/``.

    The page's relative URLs only resolve right from ``/repo/``, so ``/repo`` and ``/``
    redirect there.
    """
    if base_path == "/":
        return routes
    base = base_path.rstrip("/")
    return [
        Route(base, partial(redirect, location=base_path, status_code=308)),
        Route("/", partial(redirect, location=base_path, status_code=307)),
        Mount(base, routes=routes),
    ]


# --- the server -------------------------------------------------------------------------------


class Server(uvicorn.Server):
    """uvicorn's server, printing ``banner`` once it accepts connections, and leaving with
    status 0 on SIGINT/SIGTERM (contract section 2)."""

    def __init__(
        self, config: uvicorn.Config, banner: str, on_shutdown: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(config)
        self.banner = banner
        self.on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        if self.on_shutdown is not None:
            await self.on_shutdown()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self.banner, flush=True)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would re-raise the signal after its graceful shutdown, turning a clean
        # stop into status 130/143.
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def server_config(app: ASGIApp) -> uvicorn.Config:
    """How ``serve.py`` runs ``app``: quiet, no lifespan, a 1 s grace for requests in flight."""
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="off",
        server_header=False,
        # No proxy in front: a client must not pick its own address (rate limits) via X-Forwarded-For.
        proxy_headers=False,
    )
