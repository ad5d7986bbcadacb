"""Sharded collections without Ray: split, routing, merged search against one collection."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from semsearch.index import Collection, Filters
from semsearch.index.cluster import (
    create_cluster,
    local_passage_id,
    read_cluster,
    shard_of,
    split_collection,
)
from semsearch.index.errors import InputError
from semsearch.index.sharded import (
    ClusterConfig,
    ShardClient,
    ShardedCollection,
    ShardUnavailableError,
    local_shards,
)
from tests.fakes import FakeEmbedder, make_article

WORDS = ["经济", "项目", "数字", "产业", "城市", "交通", "教育", "医疗", "科技", "农业", "文化", "旅游", "环境", "能源", "金融", "体育"]
SHARDS = 3


def _corpus(n: int = 60) -> list:
    rng = random.Random(7)
    out = []
    for i in range(n):
        paragraphs = [" ".join(rng.sample(WORDS, 4)) + f" 第{i}篇" for _ in range(rng.randint(1, 3))]
        out.append(
            make_article(
                f"a{i:03d}",
                paragraphs,
                date=f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}",
                source=rng.choice(["zzwb", "rmrb", "wire"]),
                section=rng.choice(["要闻", "经济"]),
            )
        )
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Collection, ShardedCollection]]:
    root = tmp_path_factory.mktemp("shards")
    single = Collection.create(root / "single", FakeEmbedder())
    single.upsert(_corpus())
    single.close()
    split_collection(root / "single", root / "cluster", FakeEmbedder(), SHARDS)
    one = Collection.open(root / "single", FakeEmbedder(), read_only=True)
    cluster = ShardedCollection.open(root / "cluster", FakeEmbedder())
    yield one, cluster
    cluster.close()
    one.close()


def _keys(response) -> list[tuple[str, int]]:
    return [(h.article_id, h.ordinal) for h in response.results]


def _same_ranking(a, b) -> None:
    """Equal scores rank for rank, and the same passages at each score (ties are broken
    by passage id, which a cluster numbers differently; a tie at either end of the page may cross
    it)."""
    scores = [round(h.score, 5) for h in a.results]
    assert [round(h.score, 5) for h in b.results] == scores
    for score in set(scores) - ({scores[0], scores[-1]} if scores else set()):
        def at(r, s=score):
            return {k for k, h in zip(_keys(r), r.results, strict=True) if round(h.score, 5) == s}
        assert at(b) == at(a)


def test_split_puts_every_article_in_its_one_shard(pair, tmp_path_factory) -> None:
    one, cluster = pair
    manifest = cluster.manifest
    assert manifest.shards == SHARDS
    seen: dict[str, int] = {}
    for index, shard in enumerate(cluster.shards):
        for article_id in shard.article_texts():
            assert article_id not in seen
            seen[article_id] = index
            assert shard_of(article_id, SHARDS) == index
    assert set(seen) == set(one.article_texts())
    assert cluster.counts() == one.counts()


@pytest.mark.parametrize("query", ["经济 项目", "数字 科技 第12篇", "旅游"])
@pytest.mark.parametrize("collapse", [False, True])
def test_dense_results_equal_one_collection(pair, query: str, collapse: bool) -> None:
    one, cluster = pair
    for offset in (0, 5):
        a = one.search(query, mode="dense", k=10, offset=offset, collapse=collapse)
        b = cluster.search(query, mode="dense", k=10, offset=offset, collapse=collapse)
        _same_ranking(a, b)
        assert [h.rank for h in b.results] == [h.rank for h in a.results]
        assert not b.partial


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "dense"])
def test_totals_and_facets_equal_one_collection(pair, mode: str) -> None:
    one, cluster = pair
    for query in ("经济", "数字 产业", '"城市 交通"', "+教育 -医疗"):
        options = {"mode": mode, "count": True, "facets": ("source", "year", "month")}
        a = one.search(query, **options)
        b = cluster.search(query, **options)
        assert (b.total, b.total_passages, b.total_relation) == (a.total, a.total_passages, a.total_relation)
        assert b.facets == a.facets


def test_date_order_merges_like_one_collection(pair) -> None:
    one, cluster = pair
    for sort in ("date-desc", "date-asc"):
        a = one.search("经济", mode="lexical", sort=sort, k=8, offset=2)
        b = cluster.search("经济", mode="lexical", sort=sort, k=8, offset=2)
        assert [h.date for h in b.results] == [h.date for h in a.results]
        assert _keys(b) == _keys(a)


@pytest.mark.parametrize("sort", ["relevance", "date-desc"])
def test_without_snippets_every_shard_leaves_them_empty(pair, sort: str) -> None:
    _, cluster = pair
    shown = cluster.search("经济", mode="hybrid", k=10, sort=sort)
    bare = cluster.search("经济", mode="hybrid", k=10, sort=sort, snippets=False)
    assert len(shown.results) == 10 and all("<mark>" in h.snippet for h in shown.results)
    assert [replace(h, snippet="") for h in shown.results] == bare.results


def test_filters_apply_on_every_shard(pair) -> None:
    one, cluster = pair
    filters = Filters(sources=["wire"], date_from="2023-03-01")
    a = one.search("经济", mode="dense", k=20, filters=filters)
    b = cluster.search("经济", mode="dense", k=20, filters=filters)
    _same_ranking(a, b)
    assert {h.source for h in b.results} == {"wire"}


def test_lexical_and_hybrid_top10_mostly_agree(pair) -> None:
    # BM25 statistics are per shard (tantivy cannot take them from outside): ranks may move,
    # but the matched set is the same, so a 10-deep list keeps most of its members.
    one, cluster = pair
    for mode in ("lexical", "hybrid"):
        a = set(_keys(one.search("数字 经济", mode=mode, k=10)))
        b = set(_keys(cluster.search("数字 经济", mode=mode, k=10)))
        assert len(a & b) >= 7


def test_similar_and_routed_reads(pair) -> None:
    one, cluster = pair
    hit = cluster.search("交通", mode="dense", k=1).results[0]
    passage = cluster.passage(hit.passage_id)
    assert passage is not None and passage.text == hit.text and passage.id == hit.passage_id
    shard, _ = local_passage_id(hit.passage_id, SHARDS)
    assert shard == shard_of(hit.article_id, SHARDS)
    row, passages = cluster.article_with_passages(hit.article_id)
    assert row["id"] == hit.article_id and hit.passage_id in {p.id for p in passages}
    assert cluster.get_article("nope") is None and cluster.passage(10**9) is None
    a = one.similar(article_id=hit.article_id, k=5)
    b = cluster.similar(article_id=hit.article_id, k=5)
    _same_ranking(a, b)
    assert hit.article_id not in {h.article_id for h in b.results}
    c = cluster.similar(passage_id=hit.passage_id, k=5)
    assert hit.passage_id not in {h.passage_id for h in c.results}
    single_pid = next(p.id for p in one.article_with_passages(hit.article_id)[1] if p.ordinal == hit.ordinal)
    _same_ranking(one.similar(passage_id=single_pid, k=5), c)
    with pytest.raises(InputError):
        cluster.similar(article_id="nope")


def test_create_then_routed_writes(tmp_path: Path) -> None:
    create_cluster(tmp_path / "c", FakeEmbedder(), 2)
    assert read_cluster(tmp_path / "c").shards == 2
    with ShardedCollection.open(tmp_path / "c", FakeEmbedder()) as cluster:
        report = cluster.upsert(_corpus(12))
        assert (report.added, cluster.counts()[0]) == (12, 12)
        for index, shard in enumerate(cluster.shards):
            assert all(shard_of(a, 2) == index for a in shard.article_texts())
        assert cluster.delete(["a003", "a004", "zzz"]) == 2
        assert cluster.get_article("a003") is None and cluster.counts()[0] == 10
        assert cluster.search("经济", mode="dense", k=3).results
    with pytest.raises(InputError):
        create_cluster(tmp_path / "c", FakeEmbedder(), 2)
    with pytest.raises(InputError):
        create_cluster(tmp_path / "d", FakeEmbedder(), 0)


class _Stalled:
    """A shard that stops answering while ``stalled`` is set (a dead replica, seen from the
    ingress: calls do not come back)."""

    def __init__(self, inner: ShardClient, stalled: threading.Event) -> None:
        self._inner = inner
        self._stalled = stalled

    def __getattr__(self, name: str):
        method = getattr(self._inner, name)
        if name == "close":
            return method

        def call(*args, **kwargs):
            if self._stalled.is_set():
                self._stalled.wait(2.0)
                raise ConnectionError("shard down")
            return method(*args, **kwargs)

        return call


def test_a_stalled_shard_gives_a_partial_answer_and_blocks_writes(pair, tmp_path: Path) -> None:
    _, whole = pair
    path = tmp_path / "c"
    split_collection(Path(whole.shards[0].path).parent / "../single", path, FakeEmbedder(), SHARDS)
    manifest = read_cluster(path)
    stalled = threading.Event()
    shards: list = local_shards(path, manifest)
    shards[1] = _Stalled(shards[1], stalled)
    config = ClusterConfig(deadline_s=0.3)
    with ShardedCollection(manifest, shards, FakeEmbedder(), config) as cluster:
        full = cluster.search("经济", mode="hybrid", count=True)
        stalled.set()
        part = cluster.search("经济", mode="hybrid", count=True)
        assert part.partial and part.missing_shards == [1]
        assert part.to_dict()["partial"] is True and part.to_dict()["missing_shards"] == [1]
        assert part.total_relation == "gte" and part.total < full.total
        assert all(shard_of(h.article_id, SHARDS) != 1 for h in part.results)
        before = [s.counts() for i, s in enumerate(shards) if i != 1]
        items = [a for a in _corpus(30) if shard_of(a[0].id, SHARDS) in (0, 1)][:4]
        items = [(a.__class__(**{**a.__dict__, "id": f"new-{a.id}"}), p) for a, p in items]
        with pytest.raises(ShardUnavailableError):
            cluster.upsert(items)
        assert [s.counts() for i, s in enumerate(shards) if i != 1] == before
        stalled.clear()
        again = cluster.search("经济", mode="hybrid", count=True)
        assert not again.partial and again.total == full.total


def test_cli_split_info_search_and_bad_input(tmp_path: Path, capsys) -> None:
    import json

    from semsearch.service.cli import main
    from semsearch.service.context import CommandContext

    context = CommandContext(load_embedder=lambda _settings: FakeEmbedder())
    with Collection.create(tmp_path / "one", FakeEmbedder()) as one:
        one.upsert(_corpus(20))
    assert main(["shard", "split", str(tmp_path / "one"), str(tmp_path / "c"), "--shards", "2", "--json"], context) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["shards"] == 2 and sum(c["articles"] for c in made["counts"]) == 20
    argv = ["search", "经济", "--index", str(tmp_path / "c"), "--mode", "dense", "--json"]
    assert main(argv, context) == 0
    found = json.loads(capsys.readouterr().out)
    assert main([*argv[:3], str(tmp_path / "one"), *argv[4:]], context) == 0
    alone = json.loads(capsys.readouterr().out)
    assert found["results"] and "partial" not in found
    assert (found["total"], found["total_relation"]) == (alone["total"], alone["total_relation"])
    assert [h["score"] for h in found["results"]] == [h["score"] for h in alone["results"]]
    for bad in (
        ["shard", "split", str(tmp_path / "one"), str(tmp_path / "c"), "--shards", "2"],
        ["shard", "create", str(tmp_path / "e"), "--shards", "0"],
        ["shard", "info", str(tmp_path / "one")],
        ["serve", "--cluster", str(tmp_path / "one")],
    ):
        assert main(bad, context) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("semsearch: error:")
    assert not (tmp_path / "e").exists() or not any((tmp_path / "e").iterdir())


def test_cli_ingest_routes_articles_into_a_cluster(tmp_path: Path, capsys) -> None:
    import json

    from semsearch.service.cli import main
    from semsearch.service.context import CommandContext

    context = CommandContext(load_embedder=lambda _settings: FakeEmbedder())
    assert main(["shard", "create", str(tmp_path / "c"), "--shards", "3"], context) == 0
    source = tmp_path / "in.jsonl"
    records = [{"id": f"j{i}", "title": f"标题{i}", "text": f"城市 交通 第{i}篇 报道"} for i in range(12)]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    capsys.readouterr()
    argv = ["ingest", str(source), "--index", str(tmp_path / "c"), "--json"]
    assert main(argv, context) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["added"], summary["shards"]) == (12, 3)
    with ShardedCollection.open(tmp_path / "c", FakeEmbedder()) as cluster:
        assert cluster.counts()[0] == 12
        for index, shard in enumerate(cluster.shards):
            assert all(shard_of(a, 3) == index for a in shard.article_texts())


def test_routed_writes_store_the_entities_the_ingress_found(tmp_path: Path) -> None:
    from semsearch.index import SearchRequest, parse_entity
    from tests.fake_tagger import fake_extractor

    articles = [
        make_article(f"e{i}", [f"何雄到巩义市调研数字经济 第{i}次", "阿里巴巴 项目 落地"]) for i in range(12)
    ] + [make_article(f"n{i}", [f"天气 晴朗 数字经济 第{i}天"]) for i in range(6)]
    create_cluster(tmp_path / "cluster", FakeEmbedder(), 3)
    single = Collection.create(tmp_path / "single", FakeEmbedder(), entities=fake_extractor())
    single.upsert(articles)
    with ShardedCollection.open(
        tmp_path / "cluster", FakeEmbedder(), entities=fake_extractor()
    ) as cluster:
        cluster.upsert(articles)
        # The articles went to more than one shard, each shard storing its articles' tags.
        assert len({shard_of(a.id, 3) for a, _ in articles}) > 1
        for request in (
            SearchRequest(
                query="数字经济", mode="lexical", facets=("person", "place", "org"), count=True
            ),
            SearchRequest(
                query="数字经济",
                mode="lexical",
                filters=Filters(entities=[parse_entity("person:何雄")]),
                count=True,
            ),
        ):
            merged, alone = cluster.run(request), single.run(request)
            assert merged.total == alone.total and merged.facets == alone.facets
            assert merged.facets is None or merged.facets["person"] == [{"value": "何雄", "count": 12}]
        assert merged.total == 12
    single.close()
