#!/usr/bin/env python3
"""Build the static site (GitHub Pages, contract section 9) into a folder.

    ./build.sh _site                      # installs what is missing, then runs this
    .venv/bin/python tools/build_site.py _site [--api-base URL] [--demo-api auto|true|false]
        [--simplejwt-base URL | --oidc-issuer URL --oidc-client-id ID [--oidc-scope S]]
        [--connect-origin ORIGIN]... [--runtime micropython|pyodide]

What ``OUT`` holds afterwards (every URL in it is relative, so it works under
any path prefix such as ``/<repo>/``; nothing in it needs a server):

    index.html            web/index.html for the runtime (serve.runtime_page), with the CSP
                          as a <meta http-equiv> tag
    app.css boot.js main.py pyscript.toml micropython.toml      from web/
    pyapp.zip             pyapp/ + tokensession/ + authapi/ (the in-page demo API); for
                          MicroPython as tools/mpy_port.py writes them, with micropython/lib/
    config.json           contract section 8, "demoApi": "auto"
    static/vendor/        the pinned runtime the page loads (tools/vendor.py), with the
                          gzipped copies the loader gunzips in the page
    wheels/               the tokensession (and authapi) wheels and MicroPython zips
                          (tools/build_wheels.py)
    examples/minimal/     a page of a few lines using the wheel (examples/minimal/)
    examples/minimal-mpy/ the same page on MicroPython, from the zips
    .nojekyll             GitHub Pages: serve files as they are

``OUT`` is emptied first; a folder that is not empty and holds no earlier
build (no marker file) is refused, as are ``/``, the home folder and any
folder that contains this repository.
"""

from __future__ import annotations

import argparse
import gzip
import html.parser
import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
VENDOR = ROOT / "static" / "vendor"
MARKER = ".pyauth-site"
#: requests_worker.py and its config: the playground's requests on MicroPython (a Pyodide
#: worker, started on first use; it needs an API over HTTP, so the demo never starts it).
WEB_FILES = (
    "index.html",
    "app.css",
    "boot.js",
    "main.py",
    "pyscript.toml",
    "micropython.toml",
    "requests_worker.py",
    "requests-worker.toml",
)
#: examples/: a page of a few lines using the library, on each runtime.
EXAMPLES = ("minimal", "minimal-mpy")

# The runtime files the page uses; everything else in static/vendor/pyodide-*/
# (the raw 30 MiB snapshot.bin, build stamps, .gz nobody asks for) stays out.
# `.gz`: fetched by tools/pyodide-snapshot.mjs and gunzipped in the page, since a
# static host may compress nothing. The plain files stay too: the loader's fallback
# on hosts without the .gz asks for them. The pages' stdlib is python_stdlib.app.zip, trimmed
# to what the app imports (tools/stdlib-keep.txt): every page of the site (the app,
# examples/minimal) boots through pyodide-snapshot.mjs, which fetches it for Pyodide's
# python_stdlib.zip. The stock python_stdlib.zip (2.5 MB) is the requests worker's: the
# MicroPython page starts it with the plain pyodide.mjs on the playground's requests click
# (web/requests-worker.toml), and no page visit fetches it otherwise.
PYODIDE_FILES = (
    "pyodide-snapshot.mjs",
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "pyodide-lock.json",
    "python_stdlib.app.zip",
    "python_stdlib.zip",
)
PYODIDE_GZ = ("pyodide.asm.mjs", "pyodide.asm.wasm", "pyodide-lock.json", "python_stdlib.app.zip", "snapshot.bin")

# A <meta> CSP cannot carry these (CSP3 §6.4: ignored, with a console warning).
META_CSP_UNSUPPORTED = ("frame-ancestors", "report-uri", "sandbox")

DEFAULT_CONFIG = {
    "apiBase": "api/v1",
    "refreshWindowSeconds": 1800,
    "timeoutMs": 10000,
    "lang": "auto",
    "demoApi": "auto",
}


class BuildError(Exception):
    pass


def _say(message: str) -> None:
    print(f"build_site: {message}", file=sys.stderr, flush=True)


def _serve_module() -> ModuleType:
    # serve.py imports Starlette lazily: importing it for CSP and zip_package is cheap.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("serve")


def api_origin(api_base: str, flag: str = "--api-base") -> str | None:
    """The origin of an absolute ``apiBase`` (``None`` for a same-origin path).

    >>> api_origin("https://api.example.org:8443/v1/"), api_origin("api/v1")
    ('https://api.example.org:8443', None)
    """
    parts = urlsplit(api_base)
    if not parts.scheme:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise BuildError(f"{flag} wants http(s)://host[:port]/path or a relative path, got {api_base!r}")
    if parts.query or parts.fragment:
        raise BuildError(f"{flag} takes no query or fragment, got {api_base!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def simplejwt_auth(base: str) -> dict[str, str]:
    """Contract section 10: the simplejwt kind for an API whose SimpleJWT views are under ``base``.

    >>> simplejwt_auth("https://api.example.org/api")["refreshUrl"]
    'https://api.example.org/api/token/refresh/'
    """
    root = base.rstrip("/")
    return {
        "kind": "simplejwt",
        "tokenUrl": f"{root}/token/",
        "refreshUrl": f"{root}/token/refresh/",
        "logoutUrl": f"{root}/token/blacklist/",
    }


def oidc_auth(issuer: str, client_id: str, scope: str | None = None) -> dict[str, str]:
    """Contract section 10: the oidc kind (``scope`` left out: the page's default).

    >>> oidc_auth("https://id.example.org", "spa")
    {'kind': 'oidc', 'issuer': 'https://id.example.org', 'clientId': 'spa'}
    """
    if not client_id.strip():
        raise BuildError("--oidc-client-id wants the provider's client id")
    auth = {"kind": "oidc", "issuer": issuer, "clientId": client_id.strip()}
    if scope:
        auth["scope"] = scope
    return auth


def meta_csp(csp: str, extra_connect: Iterable[str] = ()) -> str:
    """serve.py's CSP as a ``<meta>`` tag can carry it, plus origins the page may call.

    >>> meta_csp("default-src 'self'; connect-src 'self'; frame-ancestors 'none'", ["https://api.example.org"])
    "default-src 'self'; connect-src 'self' https://api.example.org"
    """
    out = []
    for directive in (d.strip() for d in csp.split(";")):
        name = directive.split(" ", 1)[0]
        if not directive or name in META_CSP_UNSUPPORTED:
            continue
        if name == "connect-src":
            directive = " ".join([directive, *extra_connect])
        out.append(directive)
    return "; ".join(out)


def page_html(source: str, csp: str) -> str:
    """``index.html`` with the CSP as the first thing after ``<meta charset>``.

    >>> page_html('<head><meta charset="utf-8"></head>', "default-src 'self'").count("Content-Security-Policy")
    1
    """
    anchor = '<meta charset="utf-8">'
    if anchor not in source:
        raise BuildError(f"web/index.html has no {anchor!r} to put the CSP after")
    if "Content-Security-Policy" in source:
        raise BuildError("web/index.html already has a CSP meta tag")
    tag = f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
    return source.replace(anchor, f"{anchor}\n  {tag}", 1)


def provider_page(html: str) -> str:
    """``index.html`` of a site that signs in at an OpenID provider: ``<html data-sign-in="provider">``
    tells boot.js to show no username/password form before the app is up (the app shows a
    button that goes to the provider; a password typed here would go nowhere).

    >>> provider_page('<html lang="en">')
    '<html data-sign-in="provider" lang="en">'
    """
    if "<html " not in html:
        raise BuildError("web/index.html has no <html ...> tag")
    return html.replace("<html ", '<html data-sign-in="provider" ', 1)


def check_out(out: Path) -> None:
    """Refuse (``BuildError``) to empty a folder that is not ours to empty.

    >>> check_out(Path("/"))
    Traceback (most recent call last):
    build_site.BuildError: refusing to empty /: it is / , your home folder or holds this repository
    """
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} exists and is not a folder")
    home = Path.home().resolve()
    if out == Path(out.anchor) or out in (home, ROOT) or out in ROOT.parents:
        raise BuildError(f"refusing to empty {out}: it is / , your home folder or holds this repository")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BuildError(f"refusing to empty {out}: it is not empty and holds no earlier build ({MARKER})")


def _empty(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _vendored(prefix: str) -> Path:
    found = sorted(p for p in VENDOR.glob(prefix + "-*") if p.is_dir() and not p.name.endswith(".tmp"))
    if len(found) != 1:
        raise BuildError(f"static/vendor/{prefix}-* is missing or ambiguous: run scripts/setup.sh run")
    return found[0]


def _copy_runtime(out: Path) -> None:
    pyodide = _vendored("pyodide")
    dest = out / "static" / "vendor" / pyodide.name
    dest.mkdir(parents=True)
    wheels = sorted(p.name for p in pyodide.glob("*.whl"))
    for name in [*PYODIDE_FILES, *wheels]:
        if not (pyodide / name).is_file():
            raise BuildError(f"{pyodide / name} is missing: run scripts/setup.sh run")
        shutil.copy2(pyodide / name, dest / name)
    for name in PYODIDE_GZ:
        gz = pyodide / (name + ".gz")
        if gz.is_file():
            shutil.copy2(gz, dest / gz.name)
        elif name == "snapshot.bin":
            _say("no snapshot.bin.gz in static/vendor: the page will boot the plain way")
        else:
            # Made by tools/vendor.py; make it here rather than ship 9.6 MB raw.
            (dest / gz.name).write_bytes(gzip.compress((pyodide / name).read_bytes(), 9, mtime=0))
    pyscript = _vendored("pyscript")
    # The whole dist/ (hashed chunk names, some loaded lazily), without the .gz and stamps.
    shutil.copytree(pyscript, out / "static" / "vendor" / pyscript.name, ignore=shutil.ignore_patterns("*.gz", ".*"))
    micropython = _vendored("micropython")
    # .mjs and .wasm only: a static host compresses them itself or not at all.
    shutil.copytree(
        micropython, out / "static" / "vendor" / micropython.name, ignore=shutil.ignore_patterns("*.gz", "*.zst", ".*")
    )


class _Refs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "config") and value:
                self.refs.append(value)


def page_references(folder: Path) -> list[str]:
    """Every URL that ``folder``'s index.html and the PyScript configs it names (``config=``) name,
    as written.

    >>> "static/vendor/pyscript-0.7.31/core.js" in page_references(Path("_site"))  # doctest: +SKIP
    True
    """
    parser = _Refs()
    parser.feed((folder / "index.html").read_text())
    refs = list(parser.refs)
    for name in [ref for ref in refs if ref.endswith(".toml")]:
        toml = folder / name
        if not toml.is_file():
            continue  # reported as missing with the other references
        config = tomllib.loads(toml.read_text())
        if "interpreter" in config:
            refs.append(config["interpreter"])
        refs.extend(config.get("files", {}).keys())
        refs.extend(str(p) for p in config.get("packages", []) if "/" in str(p))
    return refs


def check_site(out: Path) -> None:
    """Every reference of every page is relative, stays inside ``out`` and names a file that is there.

    >>> check_site(Path("_site"))  # doctest: +SKIP
    """
    problems = []
    examples = [out / "examples" / name for name in EXAMPLES]
    pages = [out, *[p for p in examples if (p / "index.html").is_file()]]
    for folder in pages:
        for ref in page_references(folder):
            parts = urlsplit(ref)
            where = f"{folder.relative_to(out).as_posix()}: {ref}"
            if parts.scheme == "data" or ref.startswith("#"):
                continue
            if parts.scheme or parts.netloc or ref.startswith("/"):
                problems.append(f"{where}: not a relative URL (the site must work under any prefix)")
                continue
            target = (folder / parts.path).resolve()
            if not target.is_relative_to(out) or not target.is_file():
                problems.append(f"{where}: not in the build")
    if problems:
        raise BuildError("a built page names what it cannot load:\n  " + "\n  ".join(problems))


def _build_wheels(out: Path) -> None:
    tool = ROOT / "tools" / "build_wheels.py"
    if not tool.is_file():
        _say("skipping wheels/: tools/build_wheels.py is not in this checkout yet")
        return
    subprocess.run([sys.executable, str(tool), str(out / "wheels")], check=True, cwd=ROOT)


def _copy_examples(out: Path) -> None:
    for name in EXAMPLES:
        src = ROOT / "examples" / name
        shutil.copytree(src, out / "examples" / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build(
    out: Path,
    api_base: str = "api/v1",
    demo_api: bool | str = "auto",
    auth: dict[str, str] | None = None,
    connect: Sequence[str] = (),
    runtime: str | None = None,
) -> None:
    """Write the static site into ``out`` (emptied first). ``auth``: config ``"auth"`` (another
    kind of API; no demo API then); ``connect``: more origins the page may call (CSP);
    ``runtime``: the interpreter the app runs on (contract section 11; default: serve.py's).
    Both runtimes are in every build (each example page uses one).

    >>> build(Path("/tmp/site"))  # doctest: +SKIP
    """
    out = out.resolve()
    check_out(out)
    origins = [origin for origin in (api_origin(api_base), *_auth_origins(auth), *connect) if origin]
    origins = list(dict.fromkeys(origins))
    serve = _serve_module()
    runtime = runtime or serve.DEFAULT_RUNTIME
    _empty(out)
    (out / MARKER).write_text("Built by tools/build_site.py; emptied by the next build.\n")
    (out / ".nojekyll").write_text("")
    csp = meta_csp(serve.CSP, origins)
    for name in WEB_FILES:
        if name == "index.html":
            html = page_html(serve.runtime_page((WEB / name).read_text(), runtime), csp)
            (out / name).write_text(provider_page(html) if auth is not None and auth["kind"] == "oidc" else html)
        else:
            shutil.copy2(WEB / name, out / name)
    package = serve.micropython_zip if runtime == "micropython" else serve.zip_package
    (out / "pyapp.zip").write_bytes(package(*serve.PAGE_PACKAGES))
    config: dict[str, object] = {**DEFAULT_CONFIG, "apiBase": api_base, "demoApi": demo_api}
    if auth is not None:
        config["auth"] = auth
        config["demoApi"] = False  # a demo of this project's API never stands in for another kind
    if api_origin(api_base):
        config["crossOriginApi"] = True  # the page refuses another origin without it (tokensession/config.py)
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    _copy_runtime(out)
    _build_wheels(out)
    _copy_examples(out)
    check_site(out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    _say(f"{out}: {total / 1e6:.1f} MB; serve it with any static file server, under any path")


def _auth_origins(auth: dict[str, str] | None) -> list[str | None]:
    if auth is None:
        return []
    if auth["kind"] == "oidc":
        return [api_origin(auth["issuer"], "--oidc-issuer")]
    return [api_origin(auth[key], "--simplejwt-base") for key in ("tokenUrl", "refreshUrl", "logoutUrl")]


def _demo_api(value: str) -> bool | str:
    choices: dict[str, bool | str] = {"auto": "auto", "true": True, "false": False}
    if value not in choices:
        raise argparse.ArgumentTypeError("auto, true or false")
    return choices[value]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build the static site (GitHub Pages) into OUT.")
    p.add_argument("out", type=Path, help="output folder, emptied first (e.g. _site)")
    p.add_argument(
        "--api-base",
        default="api/v1",
        metavar="URL",
        help="where the API is: a path on the site's origin (default api/v1) or http(s)://host[:port]/path "
        "on another origin (added to the CSP's connect-src; that API must allow the site's origin, "
        "e.g. serve.py --cors-origin)",
    )
    p.add_argument(
        "--demo-api", type=_demo_api, default="auto", metavar="auto|true|false", help='config.json "demoApi"'
    )
    p.add_argument(
        "--simplejwt-base",
        metavar="URL",
        help="sign in at a djangorestframework-simplejwt API: its token/, token/refresh/ and token/blacklist/ "
        "views under URL, which is also apiBase (so GET me is URL/me); it must allow the site's origin (CORS)",
    )
    p.add_argument("--oidc-issuer", metavar="URL", help="sign in at this OpenID provider (Authorization Code + PKCE)")
    p.add_argument("--oidc-client-id", metavar="ID", help="the provider's client id for this site (a public client)")
    p.add_argument("--oidc-scope", metavar="S", help='scopes to ask for (default "openid offline_access")')
    p.add_argument(
        "--connect-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another origin the page may call (CSP connect-src), e.g. a provider's token endpoint on "
        "another host than its issuer; repeatable",
    )
    p.add_argument(
        "--runtime", metavar="micropython|pyodide", help="the interpreter the app runs on (default: serve.py's)"
    )
    args = p.parse_args(argv)
    if args.runtime is not None:
        _serve_module().check_runtime(args.runtime, "build.sh")
    try:
        api_base, auth = _auth_from(p, args)
        connect = [api_origin(origin, "--connect-origin") or "" for origin in args.connect_origin]
        build(Path(os.path.expanduser(str(args.out))), api_base, args.demo_api, auth, connect, args.runtime)
    except (BuildError, subprocess.CalledProcessError) as exc:
        _say(str(exc))
        return 1
    return 0


def _auth_from(p: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, dict[str, str] | None]:
    if args.simplejwt_base and args.oidc_issuer:
        p.error("--simplejwt-base and --oidc-issuer choose different kinds of sign-in: give one")
    if bool(args.oidc_issuer) != bool(args.oidc_client_id):
        p.error("--oidc-issuer and --oidc-client-id go together")
    if args.simplejwt_base:
        if api_origin(args.simplejwt_base, "--simplejwt-base") is None:
            raise BuildError("--simplejwt-base wants the API's http(s) URL")
        return args.simplejwt_base.rstrip("/"), simplejwt_auth(args.simplejwt_base)
    if args.oidc_issuer:
        if api_origin(args.oidc_issuer, "--oidc-issuer") is None:
            raise BuildError("--oidc-issuer wants the provider's http(s) URL")
        return str(args.api_base), oidc_auth(args.oidc_issuer, args.oidc_client_id, args.oidc_scope)
    return str(args.api_base), None


if __name__ == "__main__":
    sys.exit(main())
