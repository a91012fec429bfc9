"""Plain request/response values exchanged with the API handlers.

They carry no framework types, so a handler can be driven by an ASGI server,
by a test's in-memory transport or by the page itself::

    req = ApiRequest("POST", "login", body=b'{"username":"demo","password":"demo"}')
    resp = await api.handle(req)
    assert resp.status == 200
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiRequest:
    """One call to the API.

    ``path`` is relative to the API base (``"login"``, ``"status/404"``);
    ``query`` is the raw query string without ``?``; header names are
    lower-case; ``client`` is the caller's address (for rate limits).
    ``root`` is the URL path the API is served under (``"/api/v1"``) and
    ``secure`` says the request came over https: the HttpOnly refresh
    cookie is scoped to that path and marked ``Secure`` on https.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: str = "local"
    root: str = "/"
    secure: bool = False


@dataclass
class ApiResponse:
    """An answer: status, headers (lower-case names) and raw body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
    """An ``application/json`` answer (UTF-8, compact)."""
    out = {"content-type": "application/json", "cache-control": "no-store"}
    out.update(headers or {})
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return ApiResponse(status, out, body)


def error_response(status: int, error: str, message: str, headers: Mapping[str, str] | None = None) -> ApiResponse:
    """The contract's error body: ``{"error": "<word>", "message": "<text>"}``."""
    return json_response(status, {"error": error, "message": message}, headers)


class ApiError(Exception):
    """Raised by a handler to answer with the contract's error body.

    For example::

        raise ApiError(400, "bad_request", "'username' must be a string")
    """

    def __init__(self, status: int, error: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> ApiResponse:
        return error_response(self.status, self.error, self.message, self.headers)
