"""Refresh-token rotation: the pure policy, with no storage and no clock.

Theory of operation
-------------------
A login starts a *family* with an absolute expiry (login time +
``refresh_ttl``; never extended). The family's tokens form one chain
``t0 -> t1 -> t2 ...``: presenting the chain's head ``tn`` *spends* it and
makes ``tn+1`` the head. Only the head is live.

Successors are not drawn at random: ``t(n+1) = HMAC(key, t(n))``. So a
retry of the same ``tn`` derives the *same* ``tn+1`` again, without the
server ever storing a token (only SHA-256 hashes are stored). That gives the
grace rule its meaning:

* ``tn`` presented again less than ``grace`` after it was spent (a client
  that lost the answer, or two tabs racing) walks the chain from ``tn`` to the
  current head and answers with it. Nothing is revoked, nothing new is
  minted: the family keeps exactly one live token, and every racer ends up
  holding the same one.
* presented at or after ``grace``, it is token reuse (RFC 9700 4.14.2): the
  whole family is revoked, its head included.

The verdicts, from the presented token's row and its family's::

    row missing                      -> UNKNOWN  (401)
    family revoked                   -> REVOKED  (401)
    now >= family.expires_ms         -> EXPIRED  (401)
    row not spent                    -> ROTATE   (spend it, add its successor)
    spent, now - spent_ms < grace    -> REPLAY   (answer with the chain's head)
    spent, now - spent_ms >= grace   -> REUSE    (revoke the family, 401)
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets

from authapi.store import Family, RefreshToken

#: How far a replay may walk down the chain to find the head. Each step is a
#: rotation inside the grace interval, so real chains are one or two steps.
MAX_REPLAY_STEPS = 64


class Verdict(enum.Enum):
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ROTATE = "rotate"
    REPLAY = "replay"
    REUSE = "reuse"


def judge(token: RefreshToken | None, family: Family | None, now_ms: int, grace_ms: int) -> Verdict:
    """What presenting ``token`` at ``now_ms`` means (see the table above).

    >>> fam = Family("f", "demo", created_ms=0, expires_ms=10_000)
    >>> judge(RefreshToken(b"h", "f", issued_ms=0, spent_ms=1_000), fam, now_ms=5_000, grace_ms=10_000)
    <Verdict.REPLAY: 'replay'>
    """
    if token is None or family is None:
        return Verdict.UNKNOWN
    if family.revoked_ms is not None:
        return Verdict.REVOKED
    if now_ms >= family.expires_ms:
        return Verdict.EXPIRED
    if token.spent_ms is None:
        return Verdict.ROTATE
    if now_ms - token.spent_ms < grace_ms:
        return Verdict.REPLAY
    return Verdict.REUSE


def new_token() -> str:
    """A fresh refresh token for a new family: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def successor(key: bytes, token: str) -> str:
    """The token that follows ``token`` in its chain (deterministic, 256 bits).

    >>> successor(b"k" * 32, "a") == successor(b"k" * 32, "a") != successor(b"k" * 32, "b")
    True
    """
    digest = hmac.new(key, b"refresh-successor\x00" + token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> bytes:
    """What the store keeps instead of the token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
