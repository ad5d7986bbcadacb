"""Entity pages and facet counts of a sharded collection against one collection holding
the same articles (fake embedder, dictionary tagger): the Python API, HTTP and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from semsearch.index import Collection, SearchRequest
from semsearch.index._search import MatchConfig
from semsearch.index.cluster import read_cluster, shard_of, split_collection
from semsearch.index.config import IndexConfig
from semsearch.index.entities import EntityPageConfig
from semsearch.index.sharded import ClusterConfig, ShardedCollection, local_shards
from semsearch.service.app import create_app
from semsearch.service.runtime import ClusterRuntime, Runtime
from tests.fake_tagger import TEST_NAMES, fake_extractor
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.api import API_KEY
from tests.helpers.cli import fake_cli

SHARDS = 3
PEOPLE = ["何雄", "张昕", "李明"]
PLACES = ["巩义市", "管城区", "郑州"]
ORGS = ["阿里巴巴", "蚂蚁集团"]


def _articles() -> list[Any]:
    """60 articles naming overlapping sets of entities, so that counts spread unevenly
    over the shards and every list is cut somewhere."""
    out = []
    for i in range(60):
        named = [PEOPLE[i % 3], PLACES[(i * 7) % 3]] + ([ORGS[i % 2]] if i % 5 else [])
        if i % 4 == 0:
            named.append(PEOPLE[(i + 1) % 3])
        date = None if i % 11 == 0 else f"202{i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        out.append(
            make_article(
                f"a{i:02d}",
                [f"{'和'.join(named)} 共同 出席 数字经济 会议 第{i}场", f"城市 交通 报道 {i}"],
                title=f"第{i}场会议",
                date=date,
                source=["zzwb", "rmrb", "wire"][i % 3],
            )
        )
    return out


@pytest.fixture()
def pair(tmp_path: Path) -> Iterator[tuple[Collection, ShardedCollection]]:
    with Collection.create(tmp_path / "one", FakeEmbedder(), entities=fake_extractor()) as single:
        single.upsert(_articles())
    split_collection(tmp_path / "one", tmp_path / "cluster", FakeEmbedder(), SHARDS)
    with (
        Collection.open(tmp_path / "one", FakeEmbedder(), read_only=True) as single,
        ShardedCollection.open(tmp_path / "cluster", FakeEmbedder()) as cluster,
    ):
        # The entities really are spread: every shard holds some of each person's articles.
        for index, shard in enumerate(cluster.shards):
            assert {r.name for r in shard.top_entities("person", 10)} == set(PEOPLE), index
        yield single, cluster


def test_top_entities_and_entity_pages_answer_as_one_collection(
    pair: tuple[Collection, ShardedCollection],
) -> None:
    single, cluster = pair
    for kind in (None, "person", "place", "org"):
        for limit in (1, 2, 3, 5, 50):
            assert cluster.top_entities(kind, limit) == single.top_entities(kind, limit), (kind, limit)
    assert cluster.tagged_articles() == single.tagged_articles() == 60
    for config in (EntityPageConfig(), EntityPageConfig(cooccurring=2, latest=3)):
        for name in [*PEOPLE, *PLACES, *ORGS]:
            kind = {"PER": "person", "LOC": "place", "ORG": "org"}[TEST_NAMES[name]]
            page, alone = cluster.entity(kind, name, config), single.entity(kind, name, config)
            assert page is not None and alone is not None
            assert page.as_json() == alone.as_json(), (name, config)
    assert cluster.entity("person", "无名氏") is None


def test_facets_over_shards_count_what_one_collection_counts_past_each_shards_cut(
    tmp_path: Path,
) -> None:
    """With two values shown per facet, a shard listing only its own top two would miss
    values that are in the top two of the sum; each shard lists more (shard_size)."""
    narrow = MatchConfig(facet_values=2)
    with Collection.create(
        tmp_path / "one", FakeEmbedder(), entities=fake_extractor(), config=IndexConfig(match=narrow)
    ) as single:
        single.upsert(_articles())
        split_collection(tmp_path / "one", tmp_path / "cluster", FakeEmbedder(), SHARDS)
        request = SearchRequest(
            query="数字经济", mode="lexical", facets=("person", "place", "org", "source"), count=True
        )
        alone = single.run(request)
        manifest = read_cluster(tmp_path / "cluster")
        shards = local_shards(tmp_path / "cluster", manifest)
        config = ClusterConfig(match=narrow)
        with ShardedCollection(manifest, shards, FakeEmbedder(), config) as cluster:
            merged = cluster.run(request)
            assert merged.facets == alone.facets
            assert all(len(v) == 2 for v in merged.facets.values())  # type: ignore[union-attr]
            # The same with each shard cut at the final two: the counts come out lower
            # (what docs/distributed.md warns of when shard_size is too small).
            tight = ClusterConfig(match=narrow, shard_factor=1.0, shard_extra=0)
            with ShardedCollection(manifest, shards, FakeEmbedder(), tight) as cut:
                short = cut.run(request).facets
            assert short != alone.facets
            for name, values in (short or {}).items():
                full = {v["value"]: v["count"] for v in single.run(
                    SearchRequest(query="数字经济", mode="lexical", facets=(name,), count=True)
                ).facets[name]}  # type: ignore[index]
                assert all(v["count"] <= full.get(v["value"], v["count"]) for v in values)


@pytest.fixture()
def http(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    from pydantic import SecretStr

    from semsearch.service.config import ServiceSettings

    with Collection.create(tmp_path / "one", FakeEmbedder(), entities=fake_extractor()) as single:
        single.upsert(_articles())
    split_collection(tmp_path / "one", tmp_path / "cluster", FakeEmbedder(), SHARDS)
    settings = ServiceSettings(api_key=SecretStr(API_KEY), batch_window_ms=0)
    manifest = read_cluster(tmp_path / "cluster")
    shards = local_shards(tmp_path / "cluster", manifest)
    cluster = ClusterRuntime(tmp_path / "cluster", FakeEmbedder(), settings, shards, ClusterConfig())
    one = Runtime(tmp_path / "one", FakeEmbedder(), settings)
    with TestClient(create_app(one)) as a, TestClient(create_app(cluster)) as b:
        yield a, b
    one.close()
    cluster.close()


@pytest.mark.parametrize(
    "url",
    [
        "/entities",
        "/entities?type=person&limit=2",
        "/entities?type=place&limit=1",
        "/entities/person/何雄",
        "/entities/place/郑州",
        "/entities/org/阿里巴巴",
    ],
)
def test_entity_routes_answer_as_one_collection(http: tuple[TestClient, TestClient], url: str) -> None:
    one, cluster = http
    a, b = one.get(url, headers={"X-API-Key": API_KEY}), cluster.get(url, headers={"X-API-Key": API_KEY})
    assert (a.status_code, b.status_code) == (200, 200), b.text
    assert b.json() == a.json()


def test_entity_routes_bad_input_and_unknown_names_on_a_cluster(http: tuple[TestClient, TestClient]) -> None:
    _, cluster = http
    assert cluster.get("/entities/person/无名氏", headers={"X-API-Key": API_KEY}).status_code == 404
    assert cluster.get("/entities?type=nope", headers={"X-API-Key": API_KEY}).status_code == 422
    assert cluster.get("/entities?limit=0", headers={"X-API-Key": API_KEY}).status_code == 422


def test_entities_commands_on_a_cluster_print_what_they_print_for_one_collection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Collection.create(tmp_path / "one", FakeEmbedder(), entities=fake_extractor()) as single:
        single.upsert(_articles())
    split_collection(tmp_path / "one", tmp_path / "cluster", FakeEmbedder(), SHARDS)
    assert len({shard_of(f"a{i:02d}", SHARDS) for i in range(60)}) == SHARDS
    cli = fake_cli(FakeEmbedder())
    for argv in (
        ["entities", "top", "-n", "4"],
        ["entities", "top", "--type", "org", "--json"],
        ["entities", "show", "person", "张昕"],
        ["entities", "show", "place", "巩义市", "--json"],
    ):
        outs = []
        for index in ("one", "cluster"):
            code, out, err = cli.run(capsys, *argv, "--index", str(tmp_path / index))
            assert code == 0, err
            outs.append(json.loads(out) if "--json" in argv else out)
        assert outs[0] == outs[1] and outs[0], argv
    code, out, _ = cli.run(capsys, "entities", "show", "person", "无名氏", "--index", str(tmp_path / "cluster"))
    assert code == 1 and "no article names" in out
    code, _, err = cli.run(capsys, "entities", "top", "--type", "nope", "--index", str(tmp_path / "cluster"))
    assert code == 2
