"""HTTP hardening with the fake embedder: HEAD, security headers, offline API docs.

Issue 16 items 1 (headers), 12 (HEAD) and 14 (docs without a CDN); the browser checks
are in ``test_browser_safety.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers.api import API_KEY, build_index, make_client

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
