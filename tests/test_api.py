"""The HTTP API through FastAPI's test client, with the fake embedder (fast)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from semsearch.service import api_models
from semsearch.service.app import MARK_POST, MARK_PRE, create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import QueryEncoder, Runtime, split_paragraphs
from tests.fakes import FakeEmbedder
from tests.helpers.api import API_KEY, XSS, assert_error, build_index, make_client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = build_index(tmp_path_factory.mktemp("api") / "index")
    test_client, runtime = make_client(path, max_k=20, max_query_chars=200)
    with test_client:
        yield test_client
    runtime.close()


@pytest.fixture()
def writable(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    """A fresh collection per test, for writes."""
    test_client, runtime = make_client(build_index(tmp_path / "index"), max_body_bytes=4096)
    with test_client:
        yield test_client, runtime
    runtime.close()


# ---------------------------------------------------------------------- health


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["articles"] == 4 and ready["passages"] == 9
    assert ready["writes_enabled"] is True


def test_not_ready_while_loading_answers_503(tmp_path: Path) -> None:
    release = threading.Event()
    path = build_index(tmp_path / "index")

    def loader() -> Runtime:
        release.wait(10)
        return Runtime(path, FakeEmbedder(), ServiceSettings(batch_window_ms=0))

    app = create_app(settings=ServiceSettings(), loader=loader)
    with TestClient(app) as test_client:
        assert test_client.get("/healthz").status_code == 200
        assert_error(test_client.get("/readyz"), 503, "not_ready")
        assert_error(test_client.get("/search", params={"q": "数字"}), 503, "not_ready")
        release.set()
        deadline = time.monotonic() + 10
        while test_client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert test_client.get("/search", params={"q": "数字经济"}).status_code == 200


def test_failed_load_is_reported(tmp_path: Path) -> None:
    def loader() -> Runtime:
        raise RuntimeError("model file missing")

    with TestClient(create_app(settings=ServiceSettings(), loader=loader)) as test_client:
        deadline = time.monotonic() + 5
        while "model file missing" not in test_client.get("/readyz").text:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert_error(test_client.get("/readyz"), 503, "not_ready")


# ---------------------------------------------------------------------- search


def test_get_search_shape_and_best_hit(client: TestClient) -> None:
    body = client.get("/search", params={"q": "数字经济 核心产业", "k": 3}).json()
    assert {"query", "mode", "took_ms", "total", "has_more", "results"} <= set(body)
    assert body["query"] == "数字经济 核心产业" and body["mode"] == "hybrid"
    assert len(body["results"]) == 3 and body["has_more"] is True
    # total counts the match set (only a1 holds both words; no dense hit reaches the floor).
    assert body["total"] == body["total_passages"] == 1
    first = body["results"][0]
    assert first["rank"] == 1 and first["article"]["id"] == "a1"
    assert first["article"] == {
        "id": "a1",
        "title": "数字经济发展新高地",
        "date": "2023-04-18",
        "source": "zzwb",
        "section": "要闻",
        "url": None,
    }
    assert first["passage"]["text"] == "数字经济 核心产业 发展迅速"
    text = first["snippet_text"]
    marked = [text[s:e] for s, e in first["highlights"]]
    assert "数字经济" in marked and "核心产业" in marked
    assert "<mark>数字经济</mark>" in first["snippet"]
    assert MARK_PRE not in first["snippet"] + text and MARK_POST not in first["snippet"] + text


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_search_pages_validate_as_the_documented_model(client: TestClient, mode: str) -> None:
    # The route builds its page without validation (speed); a page must still be one the
    # model accepts and gives back unchanged.
    params = {"q": "数字 项目", "mode": mode, "facets": "source,year,month,meta.page"}
    body = client.get("/search", params=params).json()
    assert body["results"] and body["facets"]["source"]
    assert api_models.SearchResult.model_validate(body).model_dump(mode="json") == body


def test_post_search_with_filters(client: TestClient) -> None:
    body = client.post(
        "/search",
        json={"q": "数字", "k": 10, "filters": {"sources": ["wire"], "date_from": "2023-05-01"}},
    ).json()
    assert body["results"] and {h["article"]["id"] for h in body["results"]} == {"a3"}
    body = client.post(
        "/search", json={"q": "项目", "mode": "lexical", "filters": {"metadata": {"page": 2}}}
    ).json()
    assert {h["article"]["id"] for h in body["results"]} == {"a2"}


def test_get_search_filters_and_meta(client: TestClient) -> None:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("q", "数字"),
        ("source", "zzwb"),
        ("source", "wire"),
        ("date_to", "2023-04-18"),
        ("meta", "page=1"),
    ]
    body = client.get("/search", params=params).json()
    assert {h["article"]["id"] for h in body["results"]} == {"a1"}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_modes_and_paging(client: TestClient, mode: str) -> None:
    first = client.get("/search", params={"q": "数字 项目", "mode": mode, "k": 2}).json()
    second = client.get("/search", params={"q": "数字 项目", "mode": mode, "k": 2, "offset": 2})
    assert first["mode"] == mode and len(first["results"]) == 2
    ranks = [h["rank"] for h in second.json()["results"]]
    assert ranks == list(range(3, 3 + len(ranks)))
    first_ids = {h["passage"]["id"] for h in first["results"]}
    assert not first_ids & {h["passage"]["id"] for h in second.json()["results"]}


def test_collapse_gives_one_hit_per_article(client: TestClient) -> None:
    body = client.get("/search", params={"q": "数字 项目", "collapse": "true", "k": 10}).json()
    ids = [h["article"]["id"] for h in body["results"]]
    assert len(ids) == len(set(ids)) and body["collapsed"] is True


def test_snippet_escapes_markup(client: TestClient) -> None:
    body = client.get("/search", params={"q": "恶意 标记", "k": 1, "mode": "lexical"}).json()
    hit = body["results"][0]
    assert hit["article"]["title"] == "<script>alert(1)</script>"  # JSON keeps the data as is
    assert "<img" not in hit["snippet"] and "&lt;img" in hit["snippet"]
    assert "<b>" not in hit["snippet"] and "&lt;b&gt;" in hit["snippet"]
    assert hit["snippet"].count("<mark>") == hit["snippet"].count("</mark>") >= 1
    assert XSS in hit["snippet_text"]


# ---------------------------------------------------------------------- reads


def test_article_with_paragraphs_and_passages(client: TestClient) -> None:
    body = client.get("/articles/a2").json()
    assert body["id"] == "a2" and body["title"] == "重大项目观摩活动举行"
    assert body["metadata"] == {"page": 2}
    assert [p["text"] for p in body["paragraphs"]] == [
        "重大项目 观摩 活动 举行",
        "项目为王 理念",
        "数字 技术 应用 项目",
    ]
    for paragraph in body["paragraphs"]:
        assert body["text"][paragraph["start"] : paragraph["end"]] == paragraph["text"]
    assert [p["ordinal"] for p in body["passages"]] == [0, 1, 2]
    for passage in body["passages"]:
        assert body["text"][passage["start"] : passage["end"]] == passage["text"]


def test_passage_by_id(client: TestClient) -> None:
    hit = client.get("/search", params={"q": "项目为王"}).json()["results"][0]
    body = client.get(f"/passages/{hit['passage']['id']}").json()
    assert body["text"] == "项目为王 理念" and body["article"]["id"] == "a2"


def test_split_paragraphs_offsets() -> None:
    text = "甲。\n\n乙乙。\n\nc"
    assert [(p["start"], p["end"]) for p in split_paragraphs(text)] == [(0, 2), (4, 7), (9, 10)]


@pytest.mark.parametrize(
    "params",
    [
        {"article_id": "a1", "collapse": "true"},
        {"passage_id": 1},
        {"text": "cloud computing"},
    ],
)
def test_similar(client: TestClient, params: dict[str, Any]) -> None:
    body = client.get("/similar", params=params).json()
    assert body["mode"] == "similar" and body["results"]
    if "article_id" in params:
        assert "a1" not in {h["article"]["id"] for h in body["results"]}
    if "passage_id" in params:
        assert 1 not in {h["passage"]["id"] for h in body["results"]}


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code"),
    [
        ("get", "/search", {}, 422, "invalid_request"),
        ("get", "/search", {"params": {"q": "   "}}, 422, "invalid_request"),
        ("get", "/search", {"params": {"q": "x", "k": 0}}, 422, "invalid_request"),
        ("get", "/search", {"params": {"q": "x", "k": "ten"}}, 422, "invalid_request"),
        ("get", "/search", {"params": {"q": "x", "k": 21}}, 422, "limit_exceeded"),
        ("get", "/search", {"params": {"q": "x", "offset": 5000}}, 422, "limit_exceeded"),
        ("get", "/search", {"params": {"q": "x" * 201}}, 422, "too_long"),
        ("post", "/search", {"json": {"q": "x", "k": 21}}, 422, "limit_exceeded"),
        ("post", "/search", {"json": {"q": "x", "offset": 5000}}, 422, "limit_exceeded"),
        ("post", "/search", {"json": {"q": "x" * 201}}, 422, "too_long"),
        ("post", "/search", {"json": {"q": "x", "k": "10"}}, 422, "invalid_request"),
        ("get", "/similar", {"params": {"text": "x" * 201}}, 422, "too_long"),
        ("get", "/similar", {"params": {"text": "x", "k": 21}}, 422, "limit_exceeded"),
        ("get", "/passages/9223372036854775808", {}, 422, "invalid_request"),
        (
            "post",
            "/search",
            {"content": b"\xff\xfe{", "headers": {"content-type": "application/json"}},
            422,
            "invalid_request",
        ),
        ("get", "/search", {"params": {"q": "x", "mode": "fuzzy"}}, 422, "invalid_request"),
        ("get", "/search", {"params": {"q": "x", "meta": "novalue"}}, 422, "invalid_request"),
        ("get", "/search", {"params": {"q": "x", "min_score": "nan"}}, 422, "invalid_request"),
        ("post", "/search", {"json": {"q": "x", "colour": 1}}, 422, "invalid_request"),
        ("post", "/search", {"json": {"k": 3}}, 422, "invalid_request"),
        (
            "post",
            "/search",
            {"json": {"q": "x", "filters": {"metadata": {"bad key'": 1}}}},
            422,
            # Checked with the request, as the schema's key pattern states it (issue 26).
            "invalid_request",
        ),
        (
            "post",
            "/search",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "invalid_request",
        ),
        ("get", "/similar", {}, 422, "invalid_request"),
        ("get", "/similar", {"params": {"article_id": "a1", "text": "x"}}, 422, "invalid_request"),
        ("get", "/articles/nope", {}, 404, "not_found"),
        ("get", "/passages/999999", {}, 404, "not_found"),
        ("get", "/passages/abc", {}, 422, "invalid_request"),
        ("get", "/similar", {"params": {"article_id": "nope"}}, 404, "not_found"),
        ("get", "/similar", {"params": {"passage_id": 999999}}, 404, "not_found"),
        ("get", "/no-such-route", {}, 404, "not_found"),
        ("put", "/search", {}, 405, "method_not_allowed"),
        ("put", "/articles/a1", {}, 405, "method_not_allowed"),
    ],
)
def test_error_paths(
    client: TestClient, method: str, url: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = getattr(client, method)(url, **kwargs)
    assert_error(response, status, code)
    if status == 405 and url == "/articles/a1":
        assert response.headers["allow"] == "DELETE, GET, HEAD"


def test_unexpected_errors_are_json_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = client.app.state.semsearch.runtime  # type: ignore[attr-defined]

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runtime.collection, "passage", broken)
    error = assert_error(client.get("/passages/1"), 500, "internal")
    assert "boom" not in error["message"]  # internals stay in the log


# ---------------------------------------------------------------------- writes

NEW = {
    "id": "n1",
    "title": "新能源汽车产量创新高",
    "text": "新能源汽车 产量 同比 增长。\n电池 产业链 完善。",
    "date": "2023-07-01",
    "source": "zzwb",
    "page": 5,
}


def test_writes_need_a_key(writable: tuple[TestClient, Runtime]) -> None:
    test_client, _ = writable
    batch = {"articles": [NEW]}
    assert_error(test_client.post("/articles", json=batch), 401, "unauthorized")
    response = test_client.post("/articles", json=batch, headers={"X-API-Key": "wrong"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_error(test_client.delete("/articles/a1"), 401, "unauthorized")
    assert test_client.get("/readyz").json()["articles"] == 4


def test_writes_disabled_without_a_configured_key(tmp_path: Path) -> None:
    test_client, runtime = make_client(build_index(tmp_path / "index"), api_key=None)
    with test_client:
        response = test_client.post(
            "/articles", json={"articles": [NEW]}, headers={"X-API-Key": ""}
        )
        assert_error(response, 403, "writes_disabled")
        assert test_client.get("/readyz").json()["writes_enabled"] is False
    runtime.close()


def test_add_search_replace_delete(writable: tuple[TestClient, Runtime]) -> None:
    test_client, _ = writable
    key = {"X-API-Key": API_KEY}
    report = test_client.post("/articles", json={"articles": [NEW]}, headers=key).json()
    assert report["added"] == 1 and report["passages_added"] == 2
    hit = test_client.get("/search", params={"q": "新能源汽车 产量"}).json()["results"][0]
    assert hit["article"]["id"] == "n1"
    assert test_client.get("/articles/n1").json()["metadata"] == {"page": 5}
    again = test_client.post(
        "/articles", json={"articles": [NEW]}, headers={"Authorization": f"Bearer {API_KEY}"}
    ).json()
    assert again["unchanged"] == 1 and again["added"] == 0
    changed = {**NEW, "text": "储能 电站 投运。"}
    replaced = test_client.post("/articles", json={"articles": [changed]}, headers=key).json()
    assert replaced["replaced"] == 1 and replaced["passages_removed"] == 2
    assert test_client.get("/search", params={"q": "储能 电站"}).json()["results"][0]["article"][
        "id"
    ] == ("n1")
    assert test_client.delete("/articles/n1", headers=key).json() == {"id": "n1", "deleted": True}
    assert_error(test_client.get("/articles/n1"), 404, "not_found")
    assert_error(test_client.delete("/articles/n1", headers=key), 404, "not_found")
    assert "n1" not in {
        h["article"]["id"]
        for h in test_client.get("/search", params={"q": "储能 电站"}).json()["results"]
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "b2", "title": "t", "text": "   "},
        {"id": "b2", "title": "t", "text": "正文", "date": "not a date"},
        {"id": "b2", "title": "t"},
        {"id": "b2", "title": "t", "text": 42},
        {"id": "n1", "title": "duplicate id in the batch", "text": "正文"},
    ],
)
def test_failed_write_changes_nothing(
    writable: tuple[TestClient, Runtime], bad: dict[str, Any]
) -> None:
    test_client, runtime = writable
    before = test_client.get("/readyz").json()
    generation = runtime.collection.info().generation
    response = test_client.post(
        "/articles", json={"articles": [NEW, bad]}, headers={"X-API-Key": API_KEY}
    )
    error = assert_error(response, 422)
    assert "articles" in error["message"]
    assert test_client.get("/readyz").json() == before
    assert runtime.collection.info().generation == generation
    assert_error(test_client.get("/articles/n1"), 404, "not_found")


def test_empty_and_oversized_batches(writable: tuple[TestClient, Runtime]) -> None:
    test_client, _ = writable
    key = {"X-API-Key": API_KEY}
    assert_error(test_client.post("/articles", json={"articles": []}, headers=key), 422)
    big = {"articles": [{**NEW, "text": "长" * 5000}]}
    assert_error(test_client.post("/articles", json=big, headers=key), 413, "too_large")


def test_streamed_body_over_the_limit_is_413(writable: tuple[TestClient, Runtime]) -> None:
    test_client, _ = writable
    payload = json.dumps({"articles": [{**NEW, "text": "长" * 5000}]}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    response = test_client.post(
        "/articles",
        content=chunks(),
        headers={"X-API-Key": API_KEY, "content-type": "application/json"},
    )
    assert_error(response, 413, "too_large")


def test_writes_do_not_block_reads(writable: tuple[TestClient, Runtime]) -> None:
    test_client, runtime = writable
    with runtime._write_lock:  # a long write in progress holds the writer lock
        started = time.perf_counter()
        assert test_client.get("/search", params={"q": "数字经济"}).status_code == 200
        assert test_client.get("/articles/a1").status_code == 200
    assert time.perf_counter() - started < 5


# ---------------------------------------------------------------------- operations


def test_metrics(client: TestClient) -> None:
    client.get("/search", params={"q": "数字经济"})
    client.get("/articles/nope")
    text = client.get("/metrics").text
    assert 'semsearch_http_requests_total{method="GET",route="/search",status="200"}' in text
    assert 'route="/articles/{article_id}",status="404"' in text
    assert (
        'semsearch_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/search"}'
        in text
    )
    assert "semsearch_index_passages 9.0" in text
    assert "semsearch_model_seconds_total" in text
    assert "semsearch_query_cache_hits_total" in text


def test_openapi_documents_every_route_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    expected = {
        ("get", "/search"),
        ("post", "/search"),
        ("get", "/similar"),
        ("get", "/articles/{article_id}"),
        ("delete", "/articles/{article_id}"),
        ("post", "/articles"),
        ("get", "/passages/{passage_id}"),
        ("get", "/articles/{article_id}/pages/{page}"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
    }
    found = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert expected <= found
    text = json.dumps(schema)
    for name in ("SearchRequest", "SearchResult", "ArticleResponse", "ArticlesIn", "ErrorResponse"):
        assert "examples" in json.dumps(schema["components"]["schemas"][name]), name
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            ok = op["responses"]["200"]["content"]
            has_example = any(
                "example" in c or "examples" in json.dumps(c.get("schema", {})) for c in ok.values()
            )
            refs = json.dumps(ok)
            assert has_example or "$ref" in refs, (method, path)
    assert "X-API-Key" in text
    k = next(p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "k")
    assert k["schema"]["maximum"] == 20  # the configured limit is documented
    assert schema["components"]["schemas"]["SearchRequest"]["properties"]["q"]["maxLength"] == 200


# ---------------------------------------------------------------------- page


def test_search_page_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="search-form"' in page.text and 'name="viewport"' in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200
    # Results are user data: the page must never parse them as HTML.
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert client.get("/static/style.css").status_code == 200


# ---------------------------------------------------------------------- query encoding


class CountingEmbedder(FakeEmbedder):
    """Records the size of every query batch; slow enough for batches to form."""

    def __init__(self) -> None:
        super().__init__()
        self.query_batches: list[int] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.query_batches.append(len(texts))
        time.sleep(0.02)
        return super().embed_queries(texts)


def test_query_cache_serves_repeats() -> None:
    inner = CountingEmbedder()
    encoder = QueryEncoder(inner, cache_size=2, window_s=0, max_batch=8)
    first = encoder.embed_queries(["数字经济"])
    again = encoder.embed_queries(["数字经济"])
    assert np.array_equal(first, again) and inner.query_batches == [1]
    assert (encoder.hits, encoder.misses) == (1, 1)
    encoder.embed_queries(["b"])
    encoder.embed_queries(["c"])  # evicts 数字经济 (least recently used)
    encoder.embed_queries(["数字经济"])
    assert inner.query_batches == [1, 1, 1, 1]
    np.testing.assert_allclose(first, FakeEmbedder().embed_queries(["数字经济"]))


def _ask_concurrently(encoder: QueryEncoder, n: int) -> None:
    """``n`` threads embed one distinct query each; every answer must be its own vector."""
    results: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        results[i] = encoder.embed_queries([f"query {i}"])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    encoder.close()
    assert len(results) == n
    for i, vector in results.items():
        np.testing.assert_allclose(vector, FakeEmbedder().embed_queries([f"query {i}"]))


def test_concurrent_queries_are_micro_batched() -> None:
    inner = CountingEmbedder()
    _ask_concurrently(QueryEncoder(inner, cache_size=0, window_s=0.05, max_batch=32), 8)
    assert sum(inner.query_batches) == 8 and max(inner.query_batches) > 1


def test_batcher_passes_model_errors_to_callers() -> None:
    class Broken(FakeEmbedder):
        def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
            raise ValueError("model failed")

    encoder = QueryEncoder(Broken(), cache_size=4, window_s=0.001, max_batch=4)
    with pytest.raises(ValueError, match="model failed"):
        encoder.embed_queries(["x"])
    encoder.close()


def test_queries_arriving_while_the_model_is_busy_share_a_call() -> None:
    inner = CountingEmbedder()
    encoder = QueryEncoder(inner, cache_size=0, window_s=0, max_batch=32)
    encoder.embed_queries(["alone"])  # no company: goes at once, alone
    _ask_concurrently(encoder, 8)
    assert inner.query_batches[0] == 1
    assert sum(inner.query_batches[1:]) == 8 and len(inner.query_batches) - 1 < 8
