"""API fuzz against a real ``serve.py``, driven by the OpenAPI description (Hypothesis).

Schemathesis would pull in a second dependency tree for what a page of strategies
does here: each example picks a described operation (or a method or path nobody
described), fills it with well-shaped or hostile parts (random JSON, bytes that are
not UTF-8, junk headers, huge or odd query values) and sends it. Every answer must
be one the description lists for that operation, never a 5xx (except ``status/5xx``,
which asks for one), and every error body must be exactly ``{"error", "message"}``.
On each store (``[sqlite]``, ``[pg]``): sign-ins, refreshes and logouts reach it with all of that.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ROOT, Server, start_server, store_maker

OPENAPI = json.loads((ROOT / "authapi" / "openapi.json").read_text())
OPERATIONS = [(method.upper(), path.lstrip("/")) for path, ops in OPENAPI["paths"].items() for method in ops]
# Answers any operation may give besides its own: unknown path, wrong method.
GENERIC = {404, 405}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
texts = st.text(max_size=300)
# HTTP/1.1 clients refuse leading or trailing blanks in a header value; the rest goes.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120).map(str.strip)


def not_a_long_sleep(value: str) -> bool:
    # slow?ms=N really sleeps (up to 60 s): fuzz its parsing, not its patience.
    return not (value.isdigit() and value.isascii()) or len(value) <= 2


@st.composite
def bodies(draw: st.DrawFn, path: str) -> bytes:
    shaped: dict[str, Any] = {}
    if path == "login":
        shaped = {"username": draw(st.sampled_from(["demo", "nobody"]) | texts), "password": draw(texts)}
    elif path in ("refresh_token", "logout"):
        shaped = {"refresh_token": draw(texts | json_values)}
    choice = draw(st.sampled_from(["shaped", "json", "bytes", "empty"]))
    if choice == "shaped":
        return json.dumps(shaped).encode()
    if choice == "json":
        return json.dumps(draw(json_values)).encode()
    if choice == "bytes":
        return draw(st.binary(max_size=300))
    return b""


@st.composite
def calls(draw: st.DrawFn) -> dict[str, Any]:
    method, path = draw(st.sampled_from(OPERATIONS))
    op_path = path
    if path == "status/{code}":
        code = draw(st.integers(0, 1000).map(str) | texts.filter(lambda t: t not in ("", ".", "..")))
        path = "status/" + quote(code, safe="")
    if draw(st.integers(0, 9)) == 0:  # now and then a method nobody described
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    if draw(st.integers(0, 19)) == 0:  # or a path nobody described
        path = quote(draw(texts), safe="/")
    params = draw(
        st.dictionaries(st.text(max_size=10).filter(lambda n: n != "ms"), texts.filter(not_a_long_sleep), max_size=3)
    )
    if op_path == "slow":
        params["ms"] = draw(st.integers(0, 30).map(str) | texts.filter(not_a_long_sleep))
    headers = {}
    if draw(st.booleans()):
        headers["authorization"] = draw(
            st.sampled_from(["Bearer", "Basic x", "bearer !", "Bearer a.b.c"]) | header_text
        )
    if draw(st.booleans()):
        headers["content-type"] = draw(st.sampled_from(["application/json", "text/plain"]) | header_text)
    body = draw(bodies(op_path)) if method == "POST" else b""
    return {"method": method, "path": path, "op": op_path, "params": params, "headers": headers, "body": body}


@pytest.fixture(scope="module")
def fuzzed(store: str, request: pytest.FixtureRequest) -> Iterator[Server]:
    srv = start_server(store_maker(request, store)("fuzz"), "--access-ttl", "30")
    yield srv
    assert srv.stop() == 0


@pytest.fixture(scope="module")
def http(fuzzed: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzzed.api, timeout=30, trust_env=False) as c:
        yield c


def allowed(call: dict[str, Any], status: int) -> bool:
    method, op = call["method"], call["op"]
    if status in GENERIC:
        return True
    ops = OPENAPI["paths"]["/" + op]
    responses = ops.get(method.lower(), {}).get("responses", {})
    return str(status) in responses or f"{str(status)[0]}XX" in responses


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=calls())
def test_no_input_makes_the_api_fail_or_answer_off_the_description(http: httpx.Client, call: dict[str, Any]) -> None:
    resp = http.request(
        call["method"], call["path"], params=call["params"], headers=call["headers"], content=call["body"]
    )
    asked_for_5xx = call["op"] == "status/{code}" and call["path"] in {f"status/{c}" for c in range(500, 600)}
    assert resp.status_code < 500 or asked_for_5xx, (call, resp.status_code, resp.text[:300])
    assert allowed(call, resp.status_code), (call, resp.status_code, resp.text[:300])
    if resp.status_code >= 400:
        body = resp.json()
        assert set(body) == {"error", "message"}, body
        assert isinstance(body["error"], str) and isinstance(body["message"], str)


def test_the_description_is_served_at_api_v1_openapi_json(http: httpx.Client) -> None:
    resp = http.get("openapi.json")
    assert resp.status_code == 200
    assert resp.json() == json.loads(Path(ROOT / "authapi" / "openapi.json").read_text())
