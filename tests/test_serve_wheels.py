"""serve.py serves the library's wheels at /wheels/ and the examples at /examples/, also under a base path."""

from __future__ import annotations

import sys
import zipfile
from io import BytesIO

import httpx

from tests.serverproc import ROOT, ServerProcess

sys.path.insert(0, str(ROOT / "tools"))
import build_wheels  # tools/ is a script folder, not a package


def test_wheels_and_the_minimal_example_under_a_base_path() -> None:
    with ServerProcess(["--base-path", "/repo/"]) as srv:
        assert srv.url.endswith("/repo/")
        for name in build_wheels.wheel_names():
            answer = httpx.get(srv.url + "wheels/" + name, timeout=30)
            assert answer.status_code == 200, name
            assert zipfile.ZipFile(BytesIO(answer.content)).testzip() is None
            again = httpx.get(srv.url + "wheels/" + name, headers={"if-none-match": answer.headers["etag"]})
            assert again.status_code == 304  # revalidated, not sent again
        assert httpx.get(srv.url + "wheels/tokensession-0.0.0-py3-none-any.whl").status_code == 404
        assert httpx.get(srv.url + "wheels/..%2Fpyproject.toml").status_code == 404
        page = httpx.get(srv.url + "examples/minimal/")
        assert page.status_code == 200 and 'config="pyscript.toml"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert httpx.get(srv.url + "examples/minimal/main.py").status_code == 200
