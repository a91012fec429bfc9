"""The seams hold: the API runs without SQLite files, argon2 or PyJWT (the in-page demo's case)."""

from __future__ import annotations

import doctest
import importlib
import json
import subprocess
import sys
import textwrap

import pytest

from .conftest import ROOT


def test_api_imports_and_serves_without_pyjwt_or_argon2() -> None:
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        sys.modules["jwt"] = None      # any import of PyJWT now fails
        sys.modules["argon2"] = None   # and of argon2-cffi
        from authapi.app import AuthApi, Settings
        from authapi.messages import ApiRequest
        from authapi.sqlite_store import SqliteStore

        class Passwords:
            async def check(self, username, password):
                return (username, password) == ("demo", "demo")
            def close(self):
                pass

        class Signer:
            ttl = 20
            def issue(self, username, session_id, now):
                return f"{username}|{session_id}|{now + self.ttl}"
            def verify(self, token, now):
                from authapi.tokens import InvalidToken
                sub, sid, exp = token.split("|")
                if now >= float(exp):
                    raise InvalidToken("expired")
                return {"sub": sub, "sid": sid, "exp": float(exp)}

        async def main():
            api = AuthApi.open(Settings(db_path=":memory:"), clock=lambda: 1000.0,
                               store=SqliteStore.open(":memory:"), passwords=Passwords(), signer=Signer())
            login = await api.handle(ApiRequest("POST", "login", body=b'{"username":"demo","password":"demo"}'))
            token = login.json()["access_token"]
            me = await api.handle(ApiRequest("GET", "me", headers={"authorization": "Bearer " + token}))
            print(json.dumps([login.status, me.json()]))
            api.close()

        asyncio.run(main())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [200, {"username": "demo", "demo": False}]  # is_demo is opt-in


@pytest.mark.parametrize(
    "module", ["settings", "tokens", "rotation", "sqlite_store", "asgi", "app", "handlers", "ratelimit"]
)
def test_docstring_examples_run(module: str) -> None:
    # pytest --doctest-modules runs them too; this also proves each module has some to run.
    result = doctest.testmod(importlib.import_module(f"authapi.{module}"))
    assert result.attempted > 0
    assert result.failed == 0
