"""The session rules for synchronous code: a ``urllib.request`` handler.

Same flows, same policy as the async client (:mod:`tokensession.flow`), driven
through the stdlib's own interceptor chain: ``http_request`` attaches the
token (or ends an expired session, R3), ``http_response`` starts the R1
refresh, ``http_error_401`` refreshes once and retries once (R4). Works in
CPython against ``serve.py`` and in the page through ``pyodide-http``::

    handler = SessionHandler("http://127.0.0.1:8000/api/v1/", MemoryCookieJar(clock_ms))
    opener = urllib.request.build_opener(handler)
    handler.login("demo", "demo")
    print(json.load(opener.open("http://127.0.0.1:8000/api/v1/me")))

Only URLs under the API base get a token. The refresh and logout calls go
through the same opener, marked so this handler lets them pass untouched
(no recursion, no token on them). Errors other than the session's stay
stdlib-shaped: a 404 is an ``urllib.error.HTTPError`` as usual; an ended
session raises :class:`~tokensession.errors.SessionExpired`.
"""

from __future__ import annotations

import contextlib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

from tokensession.context import SessionContext
from tokensession.cookies import CookieJar, RefreshCookie, Session
from tokensession.errors import ApiError, EndReason, HttpStatusError, NetworkError, RequestTimeout
from tokensession.flow import Answer, Send, request_flow
from tokensession.hooks import Hooks
from tokensession.http import Request, Response
from tokensession.policy import SessionPolicy
from tokensession.sources import TokenSource
from tokensession.stepping import Stepper
from tokensession.sync import SyncDriver

_FLOW = "_tokensession_flow"  # attribute on a urllib Request: the flow it belongs to
_BYPASS = "_tokensession_bypass"  # attribute on our own refresh/logout requests


@dataclass
class _FlowState:
    stepper: Stepper[Answer]
    pending: Send


def _wall_clock_ms() -> float:
    return time.time() * 1000


class SessionHandler(urllib.request.BaseHandler):
    """A ``urllib`` handler that applies R1-R4 to requests under ``api_base_url``."""

    handler_order = 400  # see responses before HTTPErrorProcessor (1000) turns them into errors

    def __init__(
        self,
        api_base_url: str,
        jar: CookieJar,
        clock_ms: Callable[[], float] = _wall_clock_ms,
        *,
        refresh_window_seconds: float = 1800,
        timeout_ms: int = 10000,
        cookie_path: str = "/",
        secure: bool = False,
        refresh_cookie: RefreshCookie = "js",
        source: TokenSource | None = None,
    ) -> None:
        self.base = api_base_url.rstrip("/") + "/"
        self.hooks = Hooks()  # the event hooks apply; urllib has its own interceptors
        self.policy = SessionPolicy.from_seconds(refresh_window_seconds)
        self.ctx = SessionContext(
            jar,
            clock_ms,
            self.policy,
            timeout_ms=timeout_ms,
            cookie_path=cookie_path,
            secure=secure,
            refresh_cookie=refresh_cookie,
            source=source,
        )
        self.driver = SyncDriver(self.ctx, self.hooks, self._direct)

    # -- what sync code calls ------------------------------------------------------------

    def login(self, username: str, password: str) -> Session:
        """Sign in through this handler's opener; the jar then holds the session."""
        return self.driver.login(username, password)

    def logout(self) -> bool:
        """Sign out: cookies cleared, ``on_session_end("logout")``, then the ``logout`` call."""
        return self.end_session("logout")

    def end_session(self, reason: EndReason) -> bool:
        """Cookies cleared, ``on_session_end(reason)`` fired, then ``logout`` sent (best effort);
        the same order as the async client (:func:`tokensession.flow.end_flow`)."""
        return self.driver.end_session(reason)

    # -- the urllib chain ----------------------------------------------------------------

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        if getattr(req, _BYPASS, False) or not req.full_url.startswith(self.base):
            return req
        state: _FlowState | None = getattr(req, _FLOW, None)
        if state is None:
            timeout = getattr(req, "timeout", None)
            if not isinstance(timeout, (int, float)):  # socket's "global default": none set
                timeout = req.timeout = self.ctx.timeout_ms / 1000  # R6
            request = Request.build(
                req.get_method(),
                req.full_url[len(self.base) :],
                body=req.data if isinstance(req.data, bytes) else b"",
                headers={k.lower(): v for k, v in req.header_items()},
                timeout_ms=int(timeout * 1000),
            )
            stepper = self.driver.start(request_flow(self.ctx, request))
            assert isinstance(stepper.command, Send), "a request flow sends before it finishes"
            state = _FlowState(stepper, stepper.command)
            setattr(req, _FLOW, state)
        token = state.pending.request.headers.get("authorization")
        if token is None:
            req.remove_header("Authorization")
        else:
            req.add_header("Authorization", token)
        return req

    https_request = http_request

    def http_response(self, req: urllib.request.Request, response: Any) -> Any:
        state: _FlowState | None = getattr(req, _FLOW, None)
        if state is None or getattr(req, _BYPASS, False) or response.status == 401:
            return response  # a 401 goes on to http_error_401, via HTTPErrorProcessor
        with contextlib.suppress(HttpStatusError):  # urllib raises its own HTTPError, as callers expect
            self.driver.advance(state.stepper, Response(response.status, _headers(response.headers)))
        return response

    https_response = http_response

    def http_error_401(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message) -> Any:
        state: _FlowState | None = getattr(req, _FLOW, None)
        if state is None or getattr(req, _BYPASS, False):
            return None
        try:
            send = self.driver.advance(state.stepper, Response(401, _headers(headers)))
        except HttpStatusError:
            return None  # a 401 at login: the usual HTTPError
        if send is None:
            return None
        fp.close()
        retry = urllib.request.Request(  # noqa: S310 - the URL is the caller's own, already opened
            req.full_url, data=req.data, headers=dict(req.header_items()), method=req.get_method()
        )
        setattr(retry, _FLOW, _FlowState(state.stepper, send))
        return self.parent.open(retry, timeout=getattr(req, "timeout", None))  # R4: retry once

    # -- direct calls (refresh, login, logout): through the same opener, untouched -------

    def _direct(self, request: Request) -> Response | ApiError:
        req = urllib.request.Request(  # noqa: S310 - under the API base the caller configured
            request.url(self.base), data=request.body or None, headers=request.headers, method=request.method
        )
        setattr(req, _BYPASS, True)
        timeout = (request.timeout_ms or self.ctx.timeout_ms) / 1000
        try:
            with self.parent.open(req, timeout=timeout) as answer:
                return Response(answer.status, _headers(answer.headers), answer.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, _headers(exc.headers), exc.read())
        except TimeoutError:
            return RequestTimeout(f"no answer within {timeout} s", request=request)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return RequestTimeout(f"no answer within {timeout} s", request=request)
            return NetworkError(str(exc.reason), request=request)
        except OSError as exc:
            return NetworkError(str(exc), request=request)


def _headers(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()} if headers is not None else {}
