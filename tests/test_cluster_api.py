"""The HTTP app over a sharded collection (shards in-process, fake embedder): answers as
over the same collection unsharded; partial answers and 503 writes when a shard stalls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from semsearch.index.cluster import read_cluster, shard_of, split_collection
from semsearch.index.sharded import ClusterConfig, local_shards
from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import ClusterRuntime, Runtime
from tests.fakes import FakeEmbedder
from tests.helpers.api import API_KEY, assert_error, build_index
from tests.test_shards import _Stalled

SHARDS = 3
KEY = {"X-API-Key": API_KEY}
SETTINGS = ServiceSettings(api_key=SecretStr(API_KEY), batch_window_ms=0)


@pytest.fixture()
def clients(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, threading.Event]]:
    single = build_index(tmp_path / "one")
    split_collection(single, tmp_path / "cluster", FakeEmbedder(), SHARDS)
    stalled = threading.Event()
    shards: list[Any] = local_shards(tmp_path / "cluster", read_cluster(tmp_path / "cluster"))
    shards[1] = _Stalled(shards[1], stalled)
    config = ClusterConfig(deadline_s=0.3)
    cluster = ClusterRuntime(tmp_path / "cluster", FakeEmbedder(), SETTINGS, shards, config)
    one = Runtime(single, FakeEmbedder(), SETTINGS)
    with TestClient(create_app(one)) as a, TestClient(create_app(cluster), raise_server_exceptions=False) as b:
        yield a, b, stalled
    one.close()
    cluster.close()


def _strip(body: dict[str, Any]) -> dict[str, Any]:
    """A search answer without what differs by construction: timing, passage ids, and BM25
    scores (each shard computes them with its own statistics)."""
    out = {k: v for k, v in body.items() if k != "took_ms"}
    lexical = body["mode"] == "lexical"
    out["results"] = [
        {
            **{k: v for k, v in hit.items() if not (lexical and k in ("score", "lexical_score"))},
            "passage": {k: v for k, v in hit["passage"].items() if k != "id"},
        }
        for hit in body["results"]
    ]
    return out


@pytest.mark.parametrize(
    "params",
    [
        {"q": "数字经济", "mode": "dense", "count": "true", "facets": "source,year"},
        {"q": "数字 项目", "mode": "lexical", "k": 2, "offset": 1},
        {"q": "项目", "mode": "dense", "sort": "date-desc", "facets": "month"},
    ],
)
def test_search_answers_as_one_collection(clients, params: dict[str, Any]) -> None:
    one, cluster, _ = clients
    a = one.get("/search", params=params)
    b = cluster.get("/search", params=params)
    assert a.status_code == b.status_code == 200, b.text
    assert _strip(b.json()) == _strip(a.json())
    assert b.json()["partial"] is False
    assert ("facets" in params) == bool(b.json()["facets"])


def test_articles_similar_and_writes_are_routed(clients) -> None:
    one, cluster, _ = clients
    assert cluster.get("/articles/a2").json() == one.get("/articles/a2").json() | {
        "passages": cluster.get("/articles/a2").json()["passages"]
    }
    assert_error(cluster.get("/articles/nope"), 404)
    hit = cluster.get("/search", params={"q": "数字经济", "mode": "dense", "k": 1}).json()["results"][0]
    passage = cluster.get(f"/passages/{hit['passage']['id']}")
    assert passage.status_code == 200 and passage.json()["text"] == hit["passage"]["text"]
    similar = cluster.get("/similar", params={"article_id": "a1", "k": 3}).json()
    assert similar["results"] and "a1" not in {h["article"]["id"] for h in similar["results"]}
    new = {"id": "n1", "title": "新能源汽车产量创新高", "text": "新能源汽车 产量 同比 增长。", "source": "zzwb"}
    report = cluster.post("/articles", json={"articles": [new]}, headers=KEY)
    assert report.status_code == 200 and report.json()["added"] == 1
    assert cluster.get("/articles/n1").status_code == 200
    assert cluster.get("/readyz").json()["articles"] == 5
    assert cluster.delete("/articles/n1", headers=KEY).status_code == 200
    assert_error(cluster.get("/articles/n1"), 404)


def test_a_stalled_shard_answers_partially_and_refuses_writes(clients) -> None:
    _, cluster, stalled = clients
    whole = cluster.get("/search", params={"q": "数字", "mode": "dense", "count": "true"}).json()
    stalled.set()
    part = cluster.get("/search", params={"q": "数字", "mode": "dense", "count": "true"})
    assert part.status_code == 200
    assert part.json()["partial"] is True and part.json()["missing_shards"] == [1]
    assert part.json()["total_relation"] == "gte"
    victim = next(f"w{i}" for i in range(100) if shard_of(f"w{i}", SHARDS) == 1)
    article = {"id": victim, "title": "t", "text": "新能源 汽车"}
    assert_error(cluster.post("/articles", json={"articles": [article]}, headers=KEY), 503, "shard_unavailable")
    stalled.clear()
    assert_error(cluster.get(f"/articles/{victim}"), 404)
    again = cluster.get("/search", params={"q": "数字", "mode": "dense", "count": "true"}).json()
    assert again["partial"] is False and again["total"] == whole["total"]
