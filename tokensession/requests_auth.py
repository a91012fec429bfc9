"""The session rules for ``requests``: an auth object that applies R1-R4.

Same flows, same policy, same synchronous driver as the ``urllib`` handler
(:mod:`tokensession.flow`, :class:`tokensession.sync.SyncDriver`): this module
only translates between ``requests`` and the flows. Works in CPython and in a
PyScript page once ``pyodide-http`` has patched ``requests`` (synchronous XHR:
for scripts, a worker or a console, not for an app's own calls)::

    import requests
    from tokensession import MemoryCookieJar
    from tokensession.requests_auth import SessionAuth

    auth = SessionAuth("http://127.0.0.1:8000/api/v1/", MemoryCookieJar())
    auth.login("demo", "demo")
    http = requests.Session()
    http.auth = auth
    print(http.get(auth.base + "me", timeout=10).json())

Only URLs under the API base get a token. Before a request goes out its token
is attached, or the session ends if the token has expired (R3:
:class:`~tokensession.errors.SessionExpired` is raised, nothing is sent). A
success inside the refresh window refreshes once (R1); a 401 refreshes once
and resends once (R4). Other statuses come back as ordinary responses
(``raise_for_status()`` as usual). The refresh, login and logout calls go
through ``auth.session`` (a plain ``requests.Session``, made on first use),
never through this auth.

``requests`` is an optional dependency (``pip install tokensession[requests]``);
``import tokensession`` does not import this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import requests
from requests.auth import AuthBase
from requests.models import PreparedRequest

from tokensession.context import SessionContext
from tokensession.cookies import CookieJar, MemoryCookieJar, RefreshCookie, Session
from tokensession.errors import ApiError, EndReason, HttpStatusError, NetworkError, RequestTimeout
from tokensession.flow import Answer, Send, request_flow
from tokensession.hooks import Hooks
from tokensession.http import Request, Response
from tokensession.policy import SessionPolicy
from tokensession.sources import TokenSource
from tokensession.stepping import Stepper
from tokensession.sync import SyncDriver


def _wall_clock_ms() -> float:
    return time.time() * 1000


class SessionAuth(AuthBase):
    """``requests`` auth applying R1-R4 to URLs under ``api_base_url``.

    ``clock_ms`` returns ms since the epoch; ``session`` is what the refresh,
    login and logout calls go through (default: a new ``requests.Session``).
    """

    def __init__(
        self,
        api_base_url: str,
        jar: CookieJar | None = None,
        clock_ms: Callable[[], float] = _wall_clock_ms,
        *,
        refresh_window_seconds: float = 1800,
        timeout_ms: int = 10000,
        cookie_path: str = "/",
        secure: bool = False,
        refresh_cookie: RefreshCookie = "js",
        source: TokenSource | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base = api_base_url.rstrip("/") + "/"
        self.hooks = Hooks()
        self.policy = SessionPolicy.from_seconds(refresh_window_seconds)
        self.ctx = SessionContext(
            jar if jar is not None else MemoryCookieJar(clock_ms),
            clock_ms,
            self.policy,
            timeout_ms=timeout_ms,
            cookie_path=cookie_path,
            secure=secure,
            refresh_cookie=refresh_cookie,
            source=source,
        )
        self.driver = SyncDriver(self.ctx, self.hooks, self._direct)
        self._session = session

    @property
    def session(self) -> requests.Session:
        """The plain session of the auth's own calls (made on first use, so that in a
        page it is made after ``pyodide-http`` has patched ``requests``)."""
        if self._session is None:
            self._session = requests.Session()
        return self._session

    # -- what sync code calls ------------------------------------------------------------

    def login(self, username: str, password: str) -> Session:
        """Sign in; the jar then holds the session. Raises ``UnauthorizedError`` and the like."""
        return self.driver.login(username, password)

    def logout(self) -> bool:
        """Sign out: cookies cleared, ``on_session_end("logout")``, then the ``logout`` call."""
        return self.driver.end_session("logout")

    def end_session(self, reason: EndReason) -> bool:
        return self.driver.end_session(reason)

    # -- the requests side -----------------------------------------------------------------

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        url = r.url or ""
        if not url.startswith(self.base):
            return r
        body = r.body.encode() if isinstance(r.body, str) else r.body if isinstance(r.body, bytes) else b""
        request = Request.build(
            r.method or "GET",
            url[len(self.base) :],
            body=body,
            headers={k.lower(): v for k, v in r.headers.items()},
            timeout_ms=self.ctx.timeout_ms,
        )
        stepper = self.driver.start(request_flow(self.ctx, request))  # may end the session (R3) or refresh first
        assert isinstance(stepper.command, Send), "a request flow sends before it finishes"
        _authorize(r, stepper.command)
        r.register_hook("response", partial(self._on_response, stepper))  # type: ignore[no-untyped-call]
        return r

    def _on_response(
        self, stepper: Stepper[Answer], response: requests.Response, **send_kwargs: Any
    ) -> requests.Response:
        reply = Response(response.status_code, {k.lower(): v for k, v in response.headers.items()})
        try:
            send = self.driver.advance(stepper, reply)
        except HttpStatusError:
            return response  # a 404 stays a 404 response, as requests callers expect
        if send is None:
            return response
        # R4: the flow refreshed after a 401 and sends once more, with the new token.
        retry = response.request.copy()
        retry.hooks = {"response": []}
        _authorize(retry, send)
        response.close()
        connection = getattr(response, "connection", None)  # the adapter that answered (absent under pyodide-http)
        again = connection.send(retry, **send_kwargs) if connection is not None else self.session.send(retry)
        again.history.append(response)
        again.request = retry
        return self._on_response(stepper, again, **send_kwargs)

    def _direct(self, request: Request) -> Response | ApiError:
        timeout = (request.timeout_ms or self.ctx.timeout_ms) / 1000
        try:
            answer = self.session.request(
                request.method,
                request.url(self.base),
                data=request.body or None,
                headers=request.headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            return RequestTimeout(f"no answer within {timeout} s", request=request)
        except (requests.RequestException, OSError) as exc:
            return NetworkError(str(exc), request=request)
        return Response(answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content)


def _authorize(r: PreparedRequest, send: Send) -> None:
    token = send.request.headers.get("authorization")
    if token is None:
        r.headers.pop("Authorization", None)
    else:
        r.headers["Authorization"] = token
