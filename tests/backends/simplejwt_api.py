"""A real djangorestframework-simplejwt API in one file, for tests: nobody here wrote its auth.

    python tests/backends/simplejwt_api.py --port 0 --db /tmp/x/db.sqlite3 --access-ttl 10 \\
        --cors-origin http://127.0.0.1:8000 --test-hooks

prints ``Serving on http://127.0.0.1:<port>/`` once it answers (the line
:class:`tests.serverproc.ServerProcess` waits for). Routes, as a Django project
using SimpleJWT would write them:

* ``POST api/token/`` (``TokenObtainPairView``): ``{"username", "password"}`` -> ``{"access", "refresh"}``
* ``POST api/token/refresh/`` (``TokenRefreshView``): ``{"refresh"}`` -> ``{"access", "refresh"}``
  (``ROTATE_REFRESH_TOKENS`` with ``BLACKLIST_AFTER_ROTATION``: the old one is then refused)
* ``POST api/token/blacklist/`` (``TokenBlacklistView``): ``{"refresh"}`` -> ``{}``
* ``GET api/me``: a DRF view behind ``JWTAuthentication`` + ``IsAuthenticated``: ``{"username"}``

One user, ``demo``/``demo``, made at start in a fresh SQLite file (``migrate``
runs on start). CORS by django-cors-headers for each ``--cors-origin``. Served
by uvicorn, Django's ASGI app, on 127.0.0.1.

``--test-hooks`` adds what tests need to watch and to move time, under ``test/``
(outside ``api/``): ``GET test/seen`` lists every request the API saw
(``method``, ``path``, ``authorization``, ``status``); ``POST test/clock
{"advance": seconds}`` moves the server's clock forward (SimpleJWT's
``aware_utcnow`` and PyJWT's ``exp`` check read it), so a test moves the
client's clock and the server's together instead of sleeping. Nothing else of
SimpleJWT is changed.

Imports of Django stay inside functions: pytest imports this module for its
doctests, and settings can be configured only once per process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Seconds the server's clock is ahead of the real one (``POST test/clock``).
_offset = [0.0]
#: What the API saw, in order (``GET test/seen``).
_seen: list[dict[str, Any]] = []


class _MovedDatetime(dt.datetime):
    """``datetime`` whose ``now()`` is ahead by ``_offset``: what PyJWT's ``exp`` check reads.

    >>> _offset[0] = 60.0
    >>> round((_MovedDatetime.now(dt.UTC) - dt.datetime.now(dt.UTC)).total_seconds())
    60
    >>> _offset[0] = 0.0
    """

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> Any:
        return dt.datetime.now(tz) + dt.timedelta(seconds=_offset[0])


def _moved_utcnow() -> dt.datetime:
    # rest_framework_simplejwt.utils.aware_utcnow with USE_TZ = True, moved.
    return _MovedDatetime.now(dt.UTC)


def configure(db: Path, access_ttl: float, refresh_ttl: float, cors_origins: list[str], test_hooks: bool) -> None:
    """Django's settings: what a project using SimpleJWT with rotation, blacklist and CORS sets."""
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="simplejwt-test-backend-" + "x" * 40,  # a test server on loopback; tokens die with it
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework_simplejwt.token_blacklist",
            "corsheaders",
        ],
        MIDDLEWARE=[
            *([f"{__name__}.record_requests"] if test_hooks else []),
            "corsheaders.middleware.CorsMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db)}},
        # A fast hasher: each test signs in afresh, and the hasher is not what is under test.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
        SIMPLE_JWT={
            "ACCESS_TOKEN_LIFETIME": dt.timedelta(seconds=access_ttl),
            "REFRESH_TOKEN_LIFETIME": dt.timedelta(seconds=refresh_ttl),
            "ROTATE_REFRESH_TOKENS": True,
            "BLACKLIST_AFTER_ROTATION": True,
            "UPDATE_LAST_LOGIN": False,
        },
        CORS_ALLOWED_ORIGINS=cors_origins,
        CORS_ALLOW_HEADERS=["authorization", "content-type"],
        LOGGING_CONFIG=None,
    )


def me(request: Any) -> Any:
    """``GET api/me``: who the access token says is signed in (wrapped as a DRF view in :func:`urls`)."""
    from rest_framework.response import Response

    return Response({"username": request.user.get_username()})


def record_requests(get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Middleware (outermost): note each request outside ``test/`` and its status."""

    def middleware(request: Any) -> Any:
        response = get_response(request)
        if not request.path.startswith("/test/"):
            _seen.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "authorization": request.headers.get("Authorization"),
                    "status": response.status_code,
                }
            )
        return response

    return middleware


def seen(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse(_seen, safe=False)


def clock(request: Any) -> Any:
    from django.http import HttpResponseNotAllowed, JsonResponse

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    advance = float(json.loads(request.body)["advance"])
    if advance < 0:
        return JsonResponse({"error": "time only moves forward"}, status=400)
    _offset[0] += advance
    return JsonResponse({"offset": _offset[0]})


def urls(test_hooks: bool) -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt
    from rest_framework.decorators import api_view
    from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView, TokenRefreshView

    routes = [
        path("api/token/", TokenObtainPairView.as_view()),
        path("api/token/refresh/", TokenRefreshView.as_view()),
        path("api/token/blacklist/", TokenBlacklistView.as_view()),
        path("api/me", api_view(["GET"])(me)),
    ]
    if test_hooks:
        routes += [path("test/seen", seen), path("test/clock", csrf_exempt(clock))]
    return routes


def move_simplejwt_clock() -> None:
    """Point SimpleJWT's and PyJWT's "now" at the movable clock (see the module docstring)."""
    import jwt.api_jwt
    import rest_framework_simplejwt.tokens

    # PyJWT reads datetime.now() for exp/iat/nbf; it also tests isinstance(claim, datetime)
    # when encoding, which SimpleJWT never hits (it puts ints in exp and iat).
    jwt.api_jwt.datetime = _MovedDatetime  # type: ignore[misc]
    rest_framework_simplejwt.tokens.aware_utcnow = _moved_utcnow


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file (its folder must exist)")
    parser.add_argument("--access-ttl", type=float, default=6, help="ACCESS_TOKEN_LIFETIME, seconds")
    parser.add_argument("--refresh-ttl", type=float, default=3600, help="REFRESH_TOKEN_LIFETIME, seconds")
    parser.add_argument("--cors-origin", action="append", default=[], help="an origin allowed by CORS")
    parser.add_argument("--test-hooks", action="store_true", help="GET test/seen, POST test/clock")
    args = parser.parse_args(argv)

    configure(args.db, args.access_ttl, args.refresh_ttl, args.cors_origin, args.test_hooks)
    import django

    django.setup()
    global urlpatterns
    urlpatterns = urls(args.test_hooks)
    if args.test_hooks:
        move_simplejwt_clock()

    from django.contrib.auth import get_user_model
    from django.core.asgi import get_asgi_application
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    users = get_user_model()
    if not users.objects.filter(username="demo").exists():
        users.objects.create_user("demo", password="demo")
    app = get_asgi_application()

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    startup = server.startup

    async def announce(sockets: list[socket.socket] | None = None) -> None:
        await startup(sockets)
        if server.started:
            print(f"Serving on http://127.0.0.1:{sock.getsockname()[1]}/", flush=True)

    server.startup = announce  # type: ignore[method-assign]
    server.run(sockets=[sock])


#: Django's URLconf (ROOT_URLCONF is this module); filled by main().
urlpatterns: list[Any] = []

if __name__ == "__main__":
    main(sys.argv[1:])
