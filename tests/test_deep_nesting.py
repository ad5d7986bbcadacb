"""Extra fields nested deep or holding many values are refused on every write path.

Issue 26, item 5: an extra field 500 or 900 arrays deep was an HTTP 500 (RecursionError);
300-400 deep was stored, and every later ``GET /articles/{id}`` answered 500.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from semsearch.embedder.errors import InputError
from semsearch.embedder.fields import MAX_EXTRA_DEPTH, MAX_EXTRA_VALUES
from semsearch.embedder.ingest import iter_articles
from semsearch.embedder.records import Article, Paragraph, Passage
from semsearch.index import Collection
from tests.fakes import FakeEmbedder
from tests.helpers.api import API_KEY, build_index, make_client


def _nested(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


@pytest.fixture()
def client(tmp_path: Path) -> TestClient:
    test_client, runtime = make_client(build_index(tmp_path / "index"))
    with test_client:
        yield test_client  # type: ignore[misc]
    runtime.close()


@pytest.mark.parametrize("depth", [MAX_EXTRA_DEPTH, 300, 500, 900, 5000, 100_000])
def test_post_articles_refuses_deep_extra_fields_with_a_422(client: TestClient, depth: int) -> None:
    before = client.get("/readyz").json()
    body = '{"articles": [{"id": "deep", "text": "正文。", "extra": ' + _nested(depth) + "}]}"
    response = client.post(
        "/articles",
        content=body,
        headers={"X-API-Key": API_KEY, "content-type": "application/json"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert "extra" in error["message"] or error["code"] == "invalid_request"
    assert client.get("/articles/deep").status_code == 404
    assert client.get("/readyz").json() == before


def test_a_shallow_extra_field_is_stored_and_read_back(client: TestClient) -> None:
    value = json.loads(_nested(MAX_EXTRA_DEPTH - 1))
    record = {"id": "ok", "text": "正文。", "extra": value, "many": list(range(1000))}
    response = client.post("/articles", json={"articles": [record]}, headers={"X-API-Key": API_KEY})
    assert response.status_code == 200
    assert client.get("/articles/ok").json()["metadata"]["extra"] == value


def test_jsonl_and_python_paths_refuse_them_too(tmp_path: Path) -> None:
    lines = tmp_path / "deep.jsonl"
    lines.write_text('{"id": "a", "text": "t", "extra": ' + _nested(900) + "}\n", encoding="utf-8")
    with pytest.raises(InputError, match="field 'extra' is nested more than 32 levels"):
        list(iter_articles([lines]))
    text = "正文。"
    article = Article(
        id="a",
        title="",
        text=text,
        paragraphs=[Paragraph(index=0, text=text, start=0, end=3)],
        metadata={"wide": list(range(MAX_EXTRA_VALUES + 1))},
    )
    passage = Passage(article_id="a", ordinal=0, paragraph_index=0, start=0, end=3, text=text)
    with Collection.create(tmp_path / "index", FakeEmbedder()) as collection:
        with pytest.raises(InputError, match="field 'wide' holds more than 10,000 values"):
            collection.upsert([(article, [passage])])
        assert collection.counts() == (0, 0)
