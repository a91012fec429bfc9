"""The token signer and password check of the in-page demo API, standard library only.

The server uses PyJWT and argon2-cffi (:mod:`authapi.tokens`,
:mod:`authapi.passwords`); a page running the API itself has neither, and
needs neither: the same HS256 tokens are a few lines of ``hmac``, and the
demo's one account has a public password, so slow hashing would only make
the page slower::

    signer = HmacAccessTokens(secret=b"k" * 32, ttl=20)
    token = signer.issue("demo", session_id="f1", now=1000.0)
    signer.verify(token, now=1010.0)["sub"]     # 'demo'
    passwords = PlainPasswords([("demo", "demo")])
    await passwords.check("demo", "demo")       # True

Tokens from :class:`HmacAccessTokens` and :class:`~authapi.tokens.AccessTokens`
are interchangeable (same header, claims and signature): the tests check each
verifies the other's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Iterable
from typing import Any

from authapi.tokens import ALGORITHM, ISSUER, InvalidToken, check_claims

_HEADER = {"alg": ALGORITHM, "typ": "JWT"}
_REQUIRED = ("exp", "iat", "sub", "jti", "sid", "iss")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _ascii(text: str) -> bool:
    # str.isascii, which MicroPython (the in-page demo API on it) has not.
    return all(ch < "\x80" for ch in text)


def _b64decode(text: str) -> bytes:
    if not _ascii(text):
        raise InvalidToken("malformed token")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:  # binascii.Error is one (MicroPython's binascii has no Error)
        raise InvalidToken("malformed token") from None


def _json_segment(text: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(text))
    except (ValueError, RecursionError):
        raise InvalidToken("malformed token") from None
    if not isinstance(value, dict):
        raise InvalidToken("malformed token")
    return value


class HmacAccessTokens:
    """HS256 access tokens with ``hmac`` (the :class:`~authapi.tokens.AccessTokenSigner` seam).

    As in :class:`~authapi.tokens.AccessTokens`, the algorithm is pinned: a
    header naming anything but ``HS256`` is refused before the signature is
    looked at, and expiry is judged against the ``now`` passed in.

    >>> signer = HmacAccessTokens(b"k" * 32, ttl=20)
    >>> signer.verify(signer.issue("demo", "f1", now=1000.0), now=1019.9)["sid"]
    'f1'
    >>> signer.verify(signer.issue("demo", "f1", now=1000.0), now=1020.0)
    Traceback (most recent call last):
    authapi.tokens.InvalidToken: token expired
    """

    def __init__(self, secret: bytes, ttl: int) -> None:
        if len(secret) < 32:
            raise ValueError("the signing secret must be at least 256 bits")
        self._secret = secret
        self.ttl = ttl

    def _sign(self, signing_input: bytes) -> bytes:
        return hmac.new(self._secret, signing_input, hashlib.sha256).digest()

    def issue(self, username: str, session_id: str, now: float) -> str:
        """A signed token for ``username`` in refresh family ``session_id`` (``exp`` rounded up)."""
        claims = {
            "iss": ISSUER,
            "sub": username,
            "sid": session_id,
            "jti": secrets.token_urlsafe(12),
            "iat": int(now),
            "exp": math.ceil(now) + self.ttl,
        }
        compact = (json.dumps(_HEADER, separators=(",", ":")), json.dumps(claims, separators=(",", ":")))
        signing_input = ".".join(_b64encode(part.encode()) for part in compact).encode("ascii")
        return signing_input.decode("ascii") + "." + _b64encode(self._sign(signing_input))

    def verify(self, token: str, now: float) -> dict[str, Any]:
        """The token's claims if it is ours and live at ``now``, else :class:`~authapi.tokens.InvalidToken`."""
        parts = token.split(".")
        if len(parts) != 3 or not _ascii(token):
            raise InvalidToken("malformed token")
        header = _json_segment(parts[0])
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("the algorithm is not allowed")
        signature = _b64decode(parts[2])
        if not hmac.compare_digest(signature, self._sign(f"{parts[0]}.{parts[1]}".encode("ascii"))):
            raise InvalidToken("bad signature")
        claims = _json_segment(parts[1])
        missing = [name for name in _REQUIRED if name not in claims]
        if missing:
            raise InvalidToken(f'Token is missing the "{missing[0]}" claim')
        if claims["iss"] != ISSUER:
            raise InvalidToken("Invalid issuer")
        return check_claims(claims, now)


class PlainPasswords:
    """The :class:`~authapi.passwords.PasswordChecker` seam for public demo accounts.

    Compares SHA-256 digests in constant time, and checks unknown names against
    a random digest so they take as long as known ones. No slow hash: these
    passwords are printed on the login page; what limits guessing is the
    API's rate limit, which still applies.

    >>> import asyncio
    >>> asyncio.run(PlainPasswords([("demo", "demo")]).check("demo", "demo"))
    True
    """

    def __init__(self, users: Iterable[tuple[str, str]]) -> None:
        self._digests = {name: self._digest(password) for name, password in users}
        self._dummy = secrets.token_bytes(32)

    @staticmethod
    def _digest(password: str) -> bytes:
        return hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()

    async def check(self, username: str, password: str) -> bool:
        expected = self._digests.get(username)
        same = hmac.compare_digest(self._digest(password), expected if expected is not None else self._dummy)
        return same and expected is not None

    def close(self) -> None:
        """Nothing to release (no threads)."""
