"""Fixtures for the static build (contract section 9): one build per run, served dumb.

``site`` runs ``./build.sh`` (the command the Pages workflow runs) once per
session into a temporary ``.../demo-repo/`` and serves its parent with
``plainserver.py`` (``http.server``: no compression, no headers), so the app
lives under ``/demo-repo/`` as on GitHub Pages. The browser comes from
``tests/browser/conftest.py`` (Debian's Chromium and its flags).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.browser.conftest import browser_type_launch_args  # noqa: F401  (Debian's Chromium, its flags)
from tests.serverproc import ROOT
from tests.static.plainserver import PlainServer

PREFIX = "demo-repo"


@dataclass(frozen=True)
class Site:
    out: Path  # the built folder
    url: str  # http://127.0.0.1:PORT/demo-repo/
    origin: str  # http://127.0.0.1:PORT


def build_site(out: Path, *args: str) -> None:
    """``./build.sh OUT ARGS``; the install step is skipped: ./test.sh has just done it."""
    env = {**os.environ, "BUILD_SKIP_SETUP": "1"}
    done = subprocess.run([str(ROOT / "build.sh"), str(out), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"./build.sh failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pages") / PREFIX
    build_site(out)
    return out


@pytest.fixture(scope="session")
def site(built: Path) -> Iterator[Site]:
    with PlainServer(built.parent) as srv:
        yield Site(built, srv.url + PREFIX + "/", srv.url.rstrip("/"))


@pytest.fixture
def cold_context(browser: Browser) -> Iterator[BrowserContext]:
    """A context of its own: an empty HTTP cache, cookies and storage (a first visit)."""
    ctx = browser.new_context(locale="en-US")
    yield ctx
    ctx.close()
