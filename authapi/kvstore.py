"""A :class:`~authapi.store.Store` over a tiny key-value seam: the in-page demo API's storage.

In the page the key-value seam is ``localStorage`` (``tokensession.browser.storage``);
in tests it is a dict::

    kv = MemoryKeyValue()
    with KvStore(kv, key="pyauth-demo-api:/").transaction() as tx:
        tx.add_family(Family("f1", "demo", created_ms=0, expires_ms=604_800_000))
    with KvStore(kv, key="pyauth-demo-api:/").read() as tx:   # another tab, or after a reload
        tx.family("f1")                                       # the same family

Why the whole state lives under **one key**, rewritten by each transaction:

* atomicity comes free: one ``setItem`` of one JSON value is all-or-nothing,
  so another tab never sees half a transaction (a rotation spends one token
  and adds its successor; two keys would let a reader in between);
* every transaction starts by re-reading that key, so a tab always works on
  what the other tabs last wrote (``localStorage`` is synchronous; the API's
  transactions contain no ``await``, so nothing of this tab interleaves);
* the state is small: two secrets, the families, and per family its token
  hashes (spent ones capped by :data:`MAX_SPENT_PER_FAMILY`).

What one key does not give: a lock across tabs. Two tabs writing at the very
same moment could lose one write. The writers are ``login``, ``refresh_token``
and ``logout``; the session client already runs refreshes one at a time
across tabs (a Web Lock), so what is left is two tabs signing in within the
same few milliseconds, which costs one of them its session, never a token.

Nothing stored here is a usable token: refresh tokens are kept as SHA-256
hashes (see :mod:`authapi.rotation`), access tokens not at all. The two
secrets (access-token signing key, refresh-chain key) are stored, as the
SQLite store keeps them in its file.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from authapi.store import Family, RefreshToken

log = logging.getLogger("authapi")

STATE_VERSION = 1
#: Spent token hashes kept per family (the oldest go first). A spent token is
#: kept to recognise its reuse (which revokes the family); one older than this
#: many rotations is answered as unknown (401) without revoking anything.
MAX_SPENT_PER_FAMILY = 100


class KeyValue(Protocol):
    """Strings under string keys: ``localStorage`` in the page, a dict in tests."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class MemoryKeyValue(dict[str, str]):
    """The :class:`KeyValue` seam over a dict (tests; a page where storage is refused).

    >>> kv = MemoryKeyValue()
    >>> kv.set("a", "1"); kv.get("a"), kv.get("b")
    ('1', None)
    """

    def set(self, key: str, value: str) -> None:
        self[key] = value


def _hash_key(token_hash: bytes) -> str:
    return base64.urlsafe_b64encode(token_hash).rstrip(b"=").decode("ascii")


def _empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "secrets": {}, "families": {}, "tokens": {}}


class KvTx:
    """:class:`~authapi.store.StoreTx` over one decoded state (a private copy)."""

    def __init__(self, state: dict[str, Any], writable: bool) -> None:
        self._families: dict[str, dict[str, Any]] = state["families"]
        # token hash (base64url) -> [family_id, issued_ms, spent_ms]
        self._tokens: dict[str, list[Any]] = state["tokens"]
        self._writable = writable
        self.dirty = False

    def _write(self) -> None:
        if not self._writable:
            raise RuntimeError("a read-only snapshot must not write")
        self.dirty = True

    def token(self, token_hash: bytes) -> RefreshToken | None:
        row = self._tokens.get(_hash_key(token_hash))
        return None if row is None else RefreshToken(token_hash, row[0], row[1], row[2])

    def family(self, family_id: str) -> Family | None:
        row = self._families.get(family_id)
        if row is None:
            return None
        return Family(
            family_id, row["username"], row["created_ms"], row["expires_ms"], row["revoked_ms"], row["revoked_reason"]
        )

    def add_family(self, family: Family) -> None:
        if family.id in self._families:
            raise ValueError(f"family {family.id!r} exists")
        self._write()
        self._families[family.id] = {
            "username": family.username,
            "created_ms": family.created_ms,
            "expires_ms": family.expires_ms,
            "revoked_ms": family.revoked_ms,
            "revoked_reason": family.revoked_reason,
        }

    def add_token(self, token: RefreshToken) -> None:
        key = _hash_key(token.hash)
        if key in self._tokens:
            raise ValueError("token hash exists")
        if token.family_id not in self._families:
            raise ValueError(f"no family {token.family_id!r}")  # SQLite's foreign key, by hand
        self._write()
        self._tokens[key] = [token.family_id, token.issued_ms, token.spent_ms]

    def spend_token(self, token_hash: bytes, now_ms: int) -> None:
        row = self._tokens.get(_hash_key(token_hash))
        if row is None or row[2] is not None:
            return
        self._write()
        row[2] = now_ms
        self._forget_old_spent(row[0])

    def _forget_old_spent(self, family_id: str) -> None:
        spent = sorted((row[2], key) for key, row in self._tokens.items() if row[0] == family_id and row[2] is not None)
        for _, key in spent[: max(0, len(spent) - MAX_SPENT_PER_FAMILY)]:
            del self._tokens[key]

    def revoke_family(self, family_id: str, now_ms: int, reason: str) -> None:
        row = self._families.get(family_id)
        if row is None or row["revoked_ms"] is not None:
            return
        self._write()
        row["revoked_ms"], row["revoked_reason"] = now_ms, reason

    def live_tokens(self, family_id: str) -> int:
        return sum(1 for row in self._tokens.values() if row[0] == family_id and row[2] is None)

    def purge(self, now_ms: int, keep_revoked_ms: int, limit: int | None = None) -> int:
        dead = {
            fid
            for fid, row in self._families.items()
            if row["expires_ms"] <= now_ms
            or (row["revoked_ms"] is not None and row["revoked_ms"] <= now_ms - keep_revoked_ms)
        }
        if limit is not None:
            dead = set(sorted(dead)[:limit])
        if not dead:
            return 0
        self._write()
        for fid in dead:
            del self._families[fid]
        for key in [key for key, row in self._tokens.items() if row[0] in dead]:
            del self._tokens[key]
        return len(dead)


class KvStore:
    """The whole token store as one JSON value under ``key`` of a :class:`KeyValue`."""

    def __init__(self, kv: KeyValue, key: str = "pyauth-demo-api") -> None:
        self.kv = kv
        self.key = key

    def _load(self) -> dict[str, Any]:
        raw = self.kv.get(self.key)
        if raw is None:
            return _empty_state()
        try:
            state = json.loads(raw)
            if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
                raise ValueError(f"not a version {STATE_VERSION} state")
            for part in ("secrets", "families", "tokens"):
                if not isinstance(state.get(part), dict):
                    raise ValueError(f"no {part!r} object")
        except (ValueError, RecursionError) as exc:
            # A demo must not stay broken: start afresh (everyone signs in again).
            log.warning("demo API state under %r is unreadable (%s); starting afresh", self.key, exc)
            return _empty_state()
        return state

    def _save(self, state: dict[str, Any]) -> None:
        self.kv.set(self.key, json.dumps(state, separators=(",", ":")))

    @contextmanager
    def transaction(self) -> Iterator[KvTx]:
        """Read the latest state, change it, write it back in one ``set`` (nothing on an exception).

        >>> store = KvStore(MemoryKeyValue())
        >>> with store.transaction() as tx:
        ...     tx.family("nope") is None
        True
        """
        state = self._load()
        tx = KvTx(state, writable=True)
        yield tx
        if tx.dirty:
            self._save(state)

    @contextmanager
    def read(self) -> Iterator[KvTx]:
        """The latest state, read-only."""
        yield KvTx(self._load(), writable=False)

    def secret(self, name: str, nbytes: int = 32) -> bytes:
        """The secret ``name``, made (``secrets.token_bytes``) and stored on first use."""
        state = self._load()
        stored = state["secrets"].get(name)
        if isinstance(stored, str):
            try:
                value = base64.b64decode(stored, validate=True)
            except ValueError:
                value = b""
            if len(value) >= nbytes:
                return value
        value = secrets.token_bytes(nbytes)
        state["secrets"][name] = base64.b64encode(value).decode("ascii")
        self._save(state)
        return value

    def close(self) -> None:
        """Nothing to release: every transaction already wrote its state."""
