"""HTTP hardening with the fake embedder: HEAD, security headers, offline API docs.

Issue 16 items 1 (headers), 12 (HEAD) and 14 (docs without a CDN); the browser checks
are in ``test_browser_safety.py``.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from semsearch.service._protocol import MAX_URL_BYTES, protocol_for
from tests.helpers.api import API_KEY, build_index, make_client
from tests.live_server import serving

GET_ROUTES = [
    "/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/search?q=%E6%95%B0%E5%AD%97%E7%BB%8F%E6%B5%8E",
    "/similar?article_id=a1",
    "/articles/a1",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/static/app.js",
    "/docs-assets/swagger-ui-bundle.js",
]
PAGES = ["/", "/docs", "/redoc"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    test_client, runtime = make_client(build_index(tmp_path_factory.mktemp("safe") / "index"))
    with test_client:
        yield test_client
    runtime.close()


@pytest.mark.parametrize("url", GET_ROUTES)
def test_head_works_wherever_get_does(client: TestClient, url: str) -> None:
    get = client.get(url)
    head = client.head(url)
    assert get.status_code == 200, get.text
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


def test_head_on_a_post_only_route_is_405_listing_the_methods(client: TestClient) -> None:
    response = client.head("/articles")
    assert response.status_code == 405 and "POST" in response.headers["allow"]
    assert client.put("/healthz").headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("url", [*PAGES, "/search?q=x", "/articles/nope", "/static/app.js"])
def test_every_response_has_csp_without_inline_script_and_nosniff(
    client: TestClient, url: str
) -> None:
    response = client.get(url)
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no other origin
    assert directives["object-src"] == "'none'" and "frame-ancestors" in directives


@pytest.mark.parametrize("url", PAGES)
def test_pages_hold_no_inline_script_and_load_nothing_from_elsewhere(
    client: TestClient, url: str
) -> None:
    html = client.get(url).text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html), "another origin"
    for asset in re.findall(r"""(?:src|href)=["'](/[^"']+)""", html):
        assert client.get(asset).status_code == 200, asset


def test_error_responses_carry_the_headers_too(client: TestClient) -> None:
    response = client.post("/articles", json=[], headers={"X-API-Key": "wrong" + API_KEY})
    assert response.status_code in (401, 403)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


def test_docs_assets_come_from_the_installed_package(client: TestClient) -> None:
    import fastapi_offline

    bundle = Path(fastapi_offline.__file__).parent / "static" / "swagger-ui-bundle.js"
    assert client.get("/docs-assets/swagger-ui-bundle.js").content == bundle.read_bytes()


def test_head_requests_are_counted_under_their_route(client: TestClient) -> None:
    client.head("/healthz")
    metrics = client.get("/metrics").text
    assert 'method="HEAD",route="/healthz",status="200"' in metrics


# ------------------------------------------------ what the server answers before the app
# Issue 26 item 6: a 100,000-character GET query met uvicorn's plain-text 400 (httptools
# cannot parse a URL over 65,535 bytes) instead of the API's JSON error.


def _raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is and read the answer to the end: (status, headers, body)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _get_raw(base: str, target: str) -> tuple[int, dict[str, str], bytes]:
    # Connection: close, so the server ends the answer at once instead of after its keep-alive
    # timeout (5 s of waiting per request).
    return _raw(base, f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode("ascii"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TestClient]]:
    test_client, runtime = make_client(build_index(tmp_path_factory.mktemp("raw") / "index"))
    with serving(test_client.app, http=protocol_for(runtime.settings)) as base, test_client:
        yield base, test_client
    runtime.close()


@pytest.mark.parametrize("char", ["x", "字"])
def test_a_query_too_long_for_a_url_is_a_json_414(server: tuple[str, TestClient], char: str) -> None:
    base, client = server
    before = client.get("/readyz").json()
    status, headers, body = _get_raw(base, "/search?q=" + quote(char * 100_000))
    assert status == 414 and headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    error = json.loads(body)["error"]
    assert error["code"] == "too_long"
    assert f"over {MAX_URL_BYTES:,} bytes" in error["message"]
    assert "at most 1,000 characters" in error["message"] and "POST /search" in error["message"]
    assert client.get("/readyz").json() == before


@pytest.mark.parametrize("length", [1_001, 60_000, MAX_URL_BYTES - len("/search?q=")])
def test_a_long_query_in_a_url_that_fits_meets_the_apps_own_limit(
    server: tuple[str, TestClient], length: int
) -> None:
    # Up to the longest URL the server reads, the app answers: its query limit is the one
    # users meet, in the same shape.
    status, headers, body = _get_raw(server[0], "/search?q=" + "x" * length)
    assert status == 422 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == {
        "code": "too_long",
        "message": "q is over 1000 characters",
    }


def test_a_url_one_byte_over_the_limit_is_the_414(server: tuple[str, TestClient]) -> None:
    status, _, body = _get_raw(server[0], "/search?q=" + "x" * (MAX_URL_BYTES - 9))
    assert status == 414 and json.loads(body)["error"]["code"] == "too_long"


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", b"\x00\x01\x02\r\n\r\n"],
)
def test_a_request_that_is_not_http_is_a_json_400(
    server: tuple[str, TestClient], request_bytes: bytes
) -> None:
    status, headers, body = _raw(server[0], request_bytes)
    assert status == 400 and headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request" and "not a valid HTTP/1.1 request" in error["message"]


def test_the_server_answers_as_before_after_them(server: tuple[str, TestClient]) -> None:
    base, _ = server
    status, _, body = _get_raw(base, "/search?q=" + quote("数字经济"))
    assert status == 200 and json.loads(body)["results"]
