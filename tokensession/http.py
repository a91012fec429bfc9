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
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout_ms: int | None = None,
    ) -> Request:
        out = {"accept": "application/json"}
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            out["content-type"] = "application/json"
        out.update({k.lower(): v for k, v in (headers or {}).items()})
        return cls(method.upper(), path.lstrip("/"), out, body, timeout_ms)


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
