"""The password book: argon2id at its default cost, no oracle for unknown names."""

from __future__ import annotations

from typing import Literal

import pytest
from argon2 import PasswordHasher

from authapi.passwords import PasswordBook

from .conftest import SharedBook

pytestmark = pytest.mark.anyio


def test_default_cost_is_argon2_cffi_defaults() -> None:
    book = PasswordBook.from_users([("demo", "demo")])
    try:
        stored = book._hashes["demo"]
        assert stored.startswith("$argon2id$")
        assert "m=65536,t=3,p=4" in stored
        assert "demo" not in stored.split("$")[-1]
    finally:
        book.close()


async def test_check_accepts_only_the_right_password(password_book: SharedBook) -> None:
    assert await password_book.check("demo", "demo")
    assert await password_book.check("alice", "wonderland")
    assert not await password_book.check("demo", "Demo")
    assert not await password_book.check("alice", "demo")


async def test_unknown_user_is_checked_against_a_dummy_hash(password_book: SharedBook) -> None:
    verified: list[str] = []

    class SpyHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            verified.append(str(hash))
            return super().verify(hash, password)

    book = SharedBook(password_book._hashes, password_book._dummy, SpyHasher(1, 1024, 1), workers=1)
    try:
        assert not await book.check("nobody", "demo")
        assert verified == [password_book._dummy]
    finally:
        PasswordBook.close(book)


async def test_a_user_whose_password_matches_the_dummy_is_still_unknown(password_book: SharedBook) -> None:
    # Even if someone found the dummy's password, it signs in no one.
    book = SharedBook({}, password_book._hasher.hash("guess"), password_book._hasher, workers=1)
    assert not await book.check("nobody", "guess")
    PasswordBook.close(book)


async def test_check_runs_in_a_worker_thread(password_book: SharedBook, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    threads: list[str] = []
    real = password_book._verify

    def spy(username: str, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(username, password)

    monkeypatch.setattr(password_book, "_verify", spy)
    await password_book.check("demo", "demo")
    assert threads
    assert threads[0].startswith("argon2")
