"""Every way a call can fail, as one tree (the only errors the client raises)::

    ApiError                    .request, .response (None when nothing answered)
    ├── HttpStatusError         an answer with status >= 400          .status
    │   └── UnauthorizedError   a 401 that ended no session (bad credentials at login)
    ├── NetworkError            no answer: offline, DNS, reset, server down
    │   └── RequestTimeout      no answer within timeoutMs (R6)
    ├── SessionExpired          the session ended (R2, R3, R4, refresh refused)   .reason
    ├── RefreshFailed           a refresh that failed without ending the session  .kind
    ├── SignInFailed            a sign-in at an OpenID provider that did not complete  .reason
    └── UnexpectedError         background work raised what the rules do not know  .cause

``RefreshFailed.kind`` is ``"network"``, ``"timeout"`` or ``"server"`` (a 5xx
or an unreadable answer): a blip, so the session is kept while its token is
valid. A refresh refused with 400/401 is ``SessionExpired("refresh_rejected")``.
One function, :func:`tokensession.messages.toast_text`, turns any of them into text::

    try:
        await api.get("me")
    except SessionExpired:
        ...                     # on_session_end has already fired
    except ApiError as exc:
        show(toast_text(exc, lang))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from tokensession.http import Request, Response

#: Why a session ended, as ``on_session_end(reason)`` receives it.
EndReason: TypeAlias = Literal["expired", "unauthorized", "refresh_rejected", "logout", "elsewhere"]
RefreshKind: TypeAlias = Literal["network", "timeout", "server"]
#: Why a sign-in at an OpenID provider failed (:mod:`tokensession.oidc`): ``"provider"``, the
#: provider answered an error (``.error``: ``access_denied``...); ``"state"``, the callback's
#: ``state`` is not the one this tab sent (forged, replayed, or another tab's); ``"issuer"``,
#: its ``iss`` is not the provider's (RFC 9207 mix-up); ``"expired"``, no pending sign-in or
#: an old one; ``"discovery"``, an unusable discovery document; ``"code"``, the token endpoint
#: refused the code or answered without usable tokens; ``"id_token"``, the ID token failed a check.
SignInReason: TypeAlias = Literal["provider", "state", "issuer", "expired", "discovery", "code", "id_token"]


class ApiError(Exception):
    """Base of every client error; carries what was sent and what came back."""

    def __init__(self, message: str, *, request: Request | None = None, response: Response | None = None) -> None:
        super().__init__(message)
        self.request = request
        self.response = response


class HttpStatusError(ApiError):
    """The server answered with an error status."""

    def __init__(self, status: int, *, request: Request | None = None, response: Response | None = None) -> None:
        path = request.path if request is not None else "?"
        super().__init__(f"HTTP {status} from {path}", request=request, response=response)
        self.status = status


class UnauthorizedError(HttpStatusError):
    """A 401 that is about the credentials, not the session (``login``)."""

    def __init__(self, *, request: Request | None = None, response: Response | None = None) -> None:
        super().__init__(401, request=request, response=response)


class NetworkError(ApiError):
    """Nothing answered (the request may or may not have reached the server)."""


class RequestTimeout(NetworkError):
    """No answer within the request's ``timeout_ms`` (R6); the request was abandoned."""


class SessionExpired(ApiError):
    """The session ended; cookies are cleared and ``on_session_end`` has fired."""

    def __init__(self, reason: EndReason, *, request: Request | None = None, response: Response | None = None) -> None:
        super().__init__(f"session ended: {reason}", request=request, response=response)
        self.reason: EndReason = reason


class RefreshFailed(ApiError):
    """A refresh failed by a blip (network, timeout, 5xx); the session is kept while valid."""

    def __init__(
        self,
        kind: RefreshKind,
        *,
        cause: ApiError | None = None,
        request: Request | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(f"refresh failed: {kind}", request=request, response=response)
        self.kind: RefreshKind = kind
        self.cause = cause


class SignInFailed(ApiError):
    """A sign-in at an OpenID provider that did not complete; nothing was stored.

    >>> exc = SignInFailed("provider", error="access_denied", description="End-User aborted interaction")
    >>> exc.reason, exc.error, str(exc)
    ('provider', 'access_denied', 'sign-in failed: provider: access_denied: End-User aborted interaction')
    """

    def __init__(
        self,
        reason: SignInReason,
        *,
        error: str | None = None,
        description: str | None = None,
        request: Request | None = None,
        response: Response | None = None,
    ) -> None:
        detail = ": ".join(part for part in (reason, error, description) if part)
        super().__init__(f"sign-in failed: {detail}", request=request, response=response)
        self.reason: SignInReason = reason
        self.error = error  # the provider's or the check's short word (``access_denied``, ``invalid_grant``...)
        self.description = description


class UnexpectedError(ApiError):
    """Background work (an R1 refresh) raised something no rule expects: a bug, or a raw error
    of the platform. It is logged with its traceback and reported to ``on_error``, never lost.

    >>> UnexpectedError(TypeError("boom")).cause
    TypeError('boom')
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"unexpected error: {cause!r}")
        self.cause = cause
