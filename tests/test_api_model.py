"""The HTTP API with the real model on the sample newspaper page (slow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.helpers.cli import Cli
from tests.helpers.seed import FIRST_TITLE, SECOND_TITLE, build_seed_index

pytestmark = pytest.mark.slow

API_KEY = "slow-test-key"


@pytest.fixture(scope="module")
def client(
    cli: Cli, tmp_path_factory: pytest.TempPathFactory, model_dir: Path, real_embedder: object
) -> Iterator[TestClient]:
    path = build_seed_index(cli, tmp_path_factory.mktemp("api-model") / "index", model_dir)
    runtime = Runtime(path, real_embedder, ServiceSettings(api_key=SecretStr(API_KEY)))  # type: ignore[arg-type]
    with TestClient(create_app(runtime)) as test_client:
        yield test_client
    runtime.close()


@pytest.mark.parametrize(
    ("query", "mode", "title"),
    [
        ("数字经济 核心产业", "hybrid", SECOND_TITLE),
        ("重大项目观摩", "hybrid", FIRST_TITLE),
        ("the mayor visited digital economy companies", "dense", SECOND_TITLE),
        ("数字经济", "lexical", SECOND_TITLE),
    ],
)
def test_search_finds_the_right_article(
    client: TestClient, query: str, mode: str, title: str
) -> None:
    body = client.get("/search", params={"q": query, "mode": mode, "k": 3}).json()
    assert body["results"][0]["article"]["title"] == title
    post = client.post("/search", json={"q": query, "mode": mode, "k": 3}).json()
    assert [h["passage"]["id"] for h in post["results"]] == [
        h["passage"]["id"] for h in body["results"]
    ]


def test_hit_in_context_and_more_like_this(client: TestClient) -> None:
    hit = client.get("/search", params={"q": "数字经济 核心产业"}).json()["results"][0]
    article = client.get(f"/articles/{hit['article']['id']}").json()
    passage = hit["passage"]
    assert article["text"][passage["start"] : passage["end"]] == passage["text"]
    assert any(p["id"] == passage["id"] for p in article["passages"])
    similar = client.get(
        "/similar", params={"article_id": hit["article"]["id"], "collapse": "true"}
    ).json()
    assert similar["results"] and hit["article"]["id"] not in {
        h["article"]["id"] for h in similar["results"]
    }
    by_passage = client.get("/similar", params={"passage_id": passage["id"]}).json()
    assert passage["id"] not in {h["passage"]["id"] for h in by_passage["results"]}


def test_repeated_query_hits_the_cache(client: TestClient) -> None:
    encoder = client.app.state.semsearch.runtime.encoder  # type: ignore[attr-defined]
    client.get("/search", params={"q": "城市 更新 项目 投资"})
    hits = encoder.hits
    client.get("/search", params={"q": "城市 更新 项目 投资"})
    assert encoder.hits == hits + 1
    assert "semsearch_model_seconds_total" in client.get("/metrics").text


def test_write_then_search_then_delete(client: TestClient) -> None:
    key = {"X-API-Key": API_KEY}
    record = {
        "id": "api-new-1",
        "title": "郑州地铁新线开通运营",
        "text": "郑州地铁10号线今日开通运营，全长21公里，设站12座。\n市民乘车更加便捷。",
        "date": "2023-04-21",
        "source": "郑州晚报",
    }
    report = client.post("/articles", json={"articles": [record]}, headers=key).json()
    assert report["added"] == 1
    top = client.get("/search", params={"q": "地铁 开通", "k": 1}).json()["results"][0]
    assert top["article"]["id"] == "api-new-1"
    assert client.delete("/articles/api-new-1", headers=key).status_code == 200
    after = client.get("/search", params={"q": "地铁 开通"}).json()["results"]
    assert "api-new-1" not in {h["article"]["id"] for h in after}


def test_serve_command_refuses_a_missing_index(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["serve", "--index", str(tmp_path / "none")]) == 2
    assert "no collection" in capsys.readouterr().err
