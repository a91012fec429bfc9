"""One call and one answer, as plain data: what flows, drivers and transports pass around.

>>> request = Request.build("POST", "login", json={"username": "demo"})
>>> request.headers["content-type"], request.body
('application/json', b'{"username":"demo"}')
>>> Response(200, body=b'{"ok": true}').json()
{'ok': True}
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


@dataclass
class Request:
    """One call, before it goes out. Header names are lower-case.

    >>> Request.build("POST", "login", json={"username": "demo"}).headers["content-type"]
    'application/json'
    """

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    timeout_ms: int | None = None

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout_ms: int | None = None,
    ) -> Request:
        """``json`` is sent as JSON, ``form`` as ``application/x-www-form-urlencoded`` (OAuth's
        token and revocation endpoints). ``path`` is relative to the API base, or a whole
        ``https://`` URL for a call to another server (a token endpoint).

        >>> Request.build("POST", "https://id.test/token", form={"grant_type": "refresh_token", "x": "a b"}).body
        b'grant_type=refresh_token&x=a+b'
        """
        out = {"accept": "application/json"}
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            out["content-type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            out["content-type"] = "application/x-www-form-urlencoded"
        out.update({k.lower(): v for k, v in (headers or {}).items()})
        return cls(method.upper(), path if is_absolute(path) else path.lstrip("/"), out, body, timeout_ms)

    def url(self, base: str) -> str:
        """Where the request goes: ``path`` under ``base`` (which ends in ``/``), or ``path`` itself
        when it is a whole URL (a source's call to another server).

        >>> Request("GET", "me").url("http://a.test/api/"), Request("POST", "https://id.test/token").url("x/")
        ('http://a.test/api/me', 'https://id.test/token')
        """
        return self.path if is_absolute(self.path) else base + self.path


@dataclass
class Response:
    """One answer. Header names are lower-case."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ``None`` for an empty body. Raises ``ValueError`` if it is not JSON."""
        return jsonlib.loads(self.body) if self.body else None


def is_absolute(path: str) -> bool:
    """Whether a request's ``path`` is a whole URL (another server) rather than one under the API base.

    >>> is_absolute("https://id.test/token"), is_absolute("me")
    (True, False)
    """
    return path.startswith(("https://", "http://"))
