"""boot.js asks for the app's own files early: its list must name exactly what the page loads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def early_files() -> list[str]:
    source = (WEB / "boot.js").read_text(encoding="utf-8")
    found = re.search(r"const EARLY_FILES = (\[.*?\]);", source)
    assert found is not None, "no EARLY_FILES in boot.js"
    return list(json.loads(found.group(1)))


def test_boot_js_asks_early_for_the_files_pyscript_and_the_app_load() -> None:
    config = tomllib.loads((WEB / "pyscript.toml").read_text(encoding="utf-8"))
    html = (WEB / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script type="py" src="([^"]+)"', html)
    # [files] of pyscript.toml, the <script type="py"> sources, and the app's config.json
    # (tokensession.browser.page.load_config's default URL): nothing more, nothing less.
    assert sorted(early_files()) == sorted([*config["files"], *scripts, "config.json"])
