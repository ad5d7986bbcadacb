"""``semsearch shard reshard``: a cluster copied into another shard count keeps every stored
field, vector and entity mention, answers dense searches, totals and facets as the source,
leaves the source as it was, and leaves nothing behind when it fails."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from semsearch.embedder.records import Article, Passage, Region
from semsearch.index import Collection, SearchRequest
from semsearch.index import reshard as reshard_module
from semsearch.index.cluster import is_cluster, read_cluster, shard_of, split_collection
from semsearch.index.errors import CollectionError, InputError
from semsearch.index.reshard import ReshardConfig, reshard_cluster
from semsearch.index.sharded import ShardedCollection
from tests.fake_tagger import fake_extractor
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.cli import fake_cli
from tests.helpers.paths import shared_path

WORDS = [
    "经济",
    "项目",
    "数字",
    "产业",
    "城市",
    "交通",
    "教育",
    "医疗",
    "科技",
    "农业",
    "文化",
    "旅游",
]
PEOPLE = ["何雄", "张昕", "李明"]
FACETS = ("source", "year", "month", "person", "place")
QUERIES = ["经济 项目", "数字 科技", "何雄 城市", "旅游", '"城市 交通"', "+教育 -医疗"]


class _Jittered(FakeEmbedder):
    """The fake model with a little noise on every vector it makes: the same text gets
    another vector each time, so a copy that embedded anything again, or handed one
    passage's vector to another with the same text, would not compare equal."""

    def __init__(self) -> None:
        super().__init__()
        self._rng = np.random.default_rng(5)

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        vectors = super().embed_passages(texts) + self._rng.normal(
            0, 0.05, (len(texts), self.dimension)
        )
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _with_layout(item: tuple[Article, list[Passage]], i: int) -> tuple[Article, list[Passage]]:
    """Give an article what only some inputs have: a page file, boxes, byline fields."""
    article, passages = item
    article.page_file = f"/archive/pages/{i:03d}.pdf"
    article.author = "记者 张昕"
    article.url = f"https://example.org/{i}"
    article.kicker = "本报讯"
    article.reporters = ["张昕"]
    boxed = [
        Passage(
            **{
                **p.__dict__,
                "regions": (Region(page=1 + i % 4, boxes=((10.5, 20.0 + j, 300.25, 40.0 + j),)),),
            }
        )
        for j, p in enumerate(passages)
    ]
    return article, boxed


def _corpus(n: int) -> list[tuple[Article, list[Passage]]]:
    rng = random.Random(11)
    out = []
    for i in range(n):
        paragraphs = [
            f"{PEOPLE[i % 3]}到巩义市 " + " ".join(rng.sample(WORDS, 4)) + f" 第{i}篇"
            for _ in range(rng.randint(1, 3))
        ]
        if i % 9 == 0:
            paragraphs.append("本报记者 张昕 摄")  # the same text in many articles
        item = make_article(
            f"a{i:03d}",
            paragraphs,
            title=f"{PEOPLE[(i + 1) % 3]}出席会议 {i}",
            date=None if i % 13 == 0 else f"202{i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}",
            source=rng.choice(["zzwb", "rmrb", "wire"]),
            section=rng.choice(["要闻", "经济", None]),
            metadata={"page": i % 8, "edition": "A"},
        )
        out.append(_with_layout(item, i) if i % 4 == 0 else item)
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Clusters of 3 and 2 shards split from one collection (most articles tagged, some
    never: those must stay untagged)."""
    root = tmp_path_factory.mktemp("reshard")
    corpus = _corpus(90)
    with Collection.create(root / "one", _Jittered(), entities=fake_extractor()) as one:
        one.upsert(corpus[:80])
    with Collection.open(root / "one", _Jittered()) as one:
        one.upsert(corpus[80:])  # no tagger: untagged
        one.delete(["a005", "a006"])  # deleted rows and tombstoned vectors must not travel
    out = {}
    for shards in (3, 2):
        split_collection(root / "one", root / f"c{shards}", FakeEmbedder(), shards)
        out[shards] = root / f"c{shards}"
    return out


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in conn.execute(sql).fetchall()), key=repr)


def _dump(cluster: Path) -> dict[str, Any]:
    """Everything stored, keyed without passage ids (a cluster numbers them its own way),
    read straight from each shard's tables and index."""
    out: dict[str, Any] = {
        "articles": [],
        "passages": [],
        "pages": [],
        "mentions": [],
        "tagged": [],
        "counts": [],
        "vectors": {},
    }
    manifest = read_cluster(cluster)
    for index in range(manifest.shards):
        with Collection.open(manifest.shard_path(cluster, index), None, read_only=True) as shard:
            conn = shard._conn
            articles = _rows(conn, "SELECT * FROM articles")
            assert all(shard_of(str(r[0]), manifest.shards) == index for r in articles)
            out["articles"] += articles
            out["passages"] += _rows(
                conn,
                "SELECT article_id, ordinal, paragraph_index, start, end, text, layout FROM passages",
            )
            out["pages"] += _rows(conn, "SELECT article_id, path FROM page_files")
            out["mentions"] += _rows(
                conn,
                "SELECT m.article_id, p.ordinal, m.field, m.start, m.end, e.type, e.name, m.printed"
                " FROM mentions m JOIN entities e ON e.id = m.entity_id"
                " LEFT JOIN passages p ON p.id = m.passage_id",
            )
            out["tagged"] += _rows(conn, "SELECT article_id FROM tagged_articles")
            out["counts"] += _rows(
                conn,
                "SELECT ae.article_id, e.type, e.name, ae.mentions FROM article_entities ae"
                " JOIN entities e ON e.id = ae.entity_id",
            )
            keys = dict(
                ((int(r[0])), (str(r[1]), int(r[2])))
                for r in conn.execute("SELECT id, article_id, ordinal FROM passages")
            )
            found = shard.passage_vectors()
            for pid, vector in zip(found.passage_ids, found.vectors, strict=True):
                out["vectors"][keys[int(pid)]] = vector
    for key in ("articles", "passages", "pages", "mentions", "tagged", "counts"):
        out[key].sort(key=repr)
    return out


def _files(path: Path) -> dict[str, str]:
    """Every file's digest. A reader of a WAL database leaves an empty log and the shared
    memory index beside it (SQLite's, not data): those are left out, the log when empty."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
        and not p.name.endswith("-shm")
        and not (p.name.endswith("-wal") and p.stat().st_size == 0)
    }


def _assert_same_store(source: Path, copy: Path, *, rich: bool = True) -> None:
    a, b = _dump(source), _dump(copy)
    for key in ("articles", "passages", "pages", "mentions", "tagged", "counts"):
        assert b[key] == a[key], key
    assert b["vectors"].keys() == a["vectors"].keys()
    for key, vector in a["vectors"].items():
        assert np.array_equal(b["vectors"][key], vector), key
    if not rich:  # real tags: some mentions, every article read by the tagger
        assert a["mentions"] and len(a["tagged"]) == len(a["articles"])
        return
    assert a["pages"] and a["mentions"] and any(r[6] for r in a["passages"])  # the fixture has them
    assert len(a["tagged"]) < len(a["articles"])  # and untagged articles
    twins = [a["vectors"][(r[0], r[1])] for r in a["passages"] if r[5] == "本报记者 张昕 摄"]
    assert len(twins) > 2 and not np.array_equal(twins[0], twins[1])  # same text, own vectors


def _same_ranking(a: Any, b: Any) -> None:
    """Same scores rank for rank; the same passages at each score inside the page (ties are
    broken by passage id, which the clusters number differently)."""
    scores = [round(h.score, 5) for h in a.results]
    assert [round(h.score, 5) for h in b.results] == scores
    inner = set(scores) - ({scores[0], scores[-1]} if scores else set())
    for score in inner:
        assert {(h.article_id, h.ordinal) for h in b.results if round(h.score, 5) == score} == {
            (h.article_id, h.ordinal) for h in a.results if round(h.score, 5) == score
        }


def _top10_agreement(a: ShardedCollection, b: ShardedCollection, query: str, mode: str) -> float:
    """Share of ``b``'s top 10 that ``a`` ranks in its top 10, a hit tied with ``a``'s
    10th score counting as in (short passages of the same words tie by the dozen, and a
    tie is broken by passage id, which each cluster numbers its own way)."""
    deep = a.search(query, mode=mode, k=100).results
    top = b.search(query, mode=mode, k=10).results
    if not top:
        return 1.0
    score = {(h.article_id, h.ordinal): h.score for h in deep}
    edge = deep[min(9, len(deep) - 1)].score - 1e-6
    return sum(score.get((h.article_id, h.ordinal), -1.0) >= edge for h in top) / len(top)


def _assert_same_answers(
    source: Path, copy: Path, embedder: Any = None, queries: Sequence[str] = QUERIES
) -> dict[str, float]:
    """Dense rankings, totals, facets and entity lists as the source; returns the mean
    lexical and hybrid top-10 agreement (BM25 statistics are per shard)."""
    agreement: dict[str, list[float]] = {"lexical": [], "hybrid": []}
    with (
        ShardedCollection.open(source, embedder or FakeEmbedder()) as a,
        ShardedCollection.open(copy, embedder or FakeEmbedder()) as b,
    ):
        assert b.counts() == a.counts()
        assert b.tagged_articles() == a.tagged_articles()
        # Every entity: a short list is cut per shard first, so with other shards it may
        # differ at its tail, by design (docs/distributed.md), in either cluster.
        for kind in (None, "person", "place"):
            assert b.top_entities(kind, 100_000) == a.top_entities(kind, 100_000)
        for query in queries:
            for collapse in (False, True):
                dense = {"mode": "dense", "k": 10, "collapse": collapse}
                _same_ranking(a.search(query, **dense), b.search(query, **dense))
            for mode in ("dense", "lexical", "hybrid"):
                request = SearchRequest(query=query, mode=mode, count=True, facets=FACETS)
                x, y = a.run(request), b.run(request)
                assert (y.total, y.total_passages, y.total_relation) == (
                    x.total,
                    x.total_passages,
                    x.total_relation,
                )
                assert y.facets == x.facets
                if mode != "dense":
                    agreement[mode].append(_top10_agreement(a, b, query, mode))
    return {mode: float(np.mean(values)) for mode, values in agreement.items()}


@pytest.mark.parametrize(("old", "new"), [(3, 2), (2, 5)])
def test_reshard_keeps_every_field_vector_and_mention(
    sources: dict[int, Path], tmp_path: Path, old: int, new: int
) -> None:
    before = _files(sources[old])
    # Small batches, so the copy runs through many pages, early flushes and writes.
    config = ReshardConfig(read_articles=7, write_passages=16, buffer_passages=24)
    report = reshard_cluster(sources[old], tmp_path / "c", new, config)
    assert read_cluster(tmp_path / "c").shards == new
    assert (report.articles, report.passages) == (
        88,
        sum(1 for _ in _dump(sources[old])["passages"]),
    )
    assert report.writes > new
    _assert_same_store(sources[old], tmp_path / "c")
    agreement = _assert_same_answers(sources[old], tmp_path / "c")
    # Measured on this 88-article corpus of 12 words: lexical 0.85 (3->2) and 0.83 (2->5),
    # hybrid 0.80 and 0.72; the match sets, totals and facets above are exact.
    assert agreement["lexical"] >= 0.75 and agreement["hybrid"] >= 0.6, agreement
    assert _files(sources[old]) == before


def test_writes_stay_within_the_buffer(
    sources: dict[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    flush = reshard_module._Destination.flush

    def spy(self: Any) -> None:
        sizes.append(self.passages)
        flush(self)

    monkeypatch.setattr(reshard_module._Destination, "flush", spy)
    config = ReshardConfig(read_articles=5, write_passages=10, buffer_passages=12)
    reshard_cluster(sources[3], tmp_path / "c", 4, config)
    # An article holds at most 4 passages: a write is cut right after it passes the size.
    assert max(sizes) <= 10 + 4 - 1
    assert len([s for s in sizes if s]) >= 100 // 10


def test_a_failed_reshard_leaves_dest_empty_and_source_as_it_was(
    sources: dict[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _files(sources[3])
    calls = 0
    upsert = Collection.upsert

    def failing(self: Collection, items: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise OSError("disk full")
        return upsert(self, items)

    monkeypatch.setattr(Collection, "upsert", failing)
    dest = tmp_path / "c"
    with pytest.raises(OSError, match="disk full"):
        reshard_cluster(
            sources[3],
            dest,
            2,
            ReshardConfig(read_articles=5, write_passages=8, buffer_passages=16),
        )
    assert calls == 4
    assert dest.is_dir() and not any(dest.iterdir())
    assert _files(sources[3]) == before
    monkeypatch.undo()
    reshard_cluster(sources[3], dest, 2)  # the emptied directory takes a new attempt
    assert is_cluster(dest)


def test_quantised_shards_and_a_misrouted_article_are_refused(
    sources: dict[int, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "src"
    reshard_cluster(sources[2], copy, 2)
    with Collection.open(copy / "shard-001", FakeEmbedder()) as shard:
        shard.optimize("hnsw_sq8")
    with pytest.raises(InputError, match="hnsw_sq8"):
        reshard_cluster(copy, tmp_path / "d", 3)
    assert not any((tmp_path / "d").iterdir())
    wrong = tmp_path / "wrong"
    reshard_cluster(sources[2], wrong, 2)
    stray = next(a for a, _ in _corpus(90) if shard_of(a.id, 2) == 1)
    with Collection.open(wrong / "shard-000", FakeEmbedder()) as shard:
        shard.upsert([next(item for item in _corpus(90) if item[0].id == stray.id)])
    with pytest.raises(CollectionError, match="inconsistent"):
        reshard_cluster(wrong, tmp_path / "e", 3)
    assert not any((tmp_path / "e").iterdir())


def test_cli_reshard_and_bad_input(
    sources: dict[int, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = fake_cli(FakeEmbedder())
    code, out, err = cli.run(
        capsys, "shard", "reshard", str(sources[3]), str(tmp_path / "c"), "--shards", "2", "--json"
    )
    assert code == 0, err
    made = json.loads(out)
    assert made["shards"] == 2 and sum(c["articles"] for c in made["counts"]) == 88
    code, out, _ = cli.run(
        capsys, "shard", "reshard", str(tmp_path / "c"), str(tmp_path / "d"), "--shards", "4"
    )
    # One write per new shard for the tagged articles and one for the never tagged.
    assert code == 0 and out.splitlines()[0].endswith(
        ": 88 articles, 194 passages (78 with entity tags) copied in 8 writes"
    )
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    one = sources[3].parent / "one"
    for argv, says in (
        (
            ["reshard", str(sources[3]), str(tmp_path / "full"), "--shards", "2"],
            "not an empty directory",
        ),
        (
            ["reshard", str(tmp_path / "nope"), str(tmp_path / "e"), "--shards", "2"],
            "no sharded collection",
        ),
        (["reshard", str(sources[3]), str(tmp_path / "e"), "--shards", "0"], "--shards"),
        (["reshard", str(sources[3]), str(tmp_path / "e"), "--shards", "257"], "between 1 and 256"),
        (
            ["reshard", str(one), str(tmp_path / "e"), "--shards", "2"],
            "use `semsearch shard split`",
        ),
        (
            ["reshard", str(sources[3]), str(sources[3] / "inside"), "--shards", "2"],
            "inside the source",
        ),
        (
            ["split", str(sources[3]), str(tmp_path / "e"), "--shards", "2"],
            "use `semsearch shard reshard`",
        ),
    ):
        code, out, err = cli.run(capsys, "shard", *argv)
        assert code == 2, argv
        assert err.count("\n") == 1 and err.startswith("semsearch: error:") and says in err, err
    assert not (tmp_path / "e").exists() or not any((tmp_path / "e").iterdir())
    assert not (sources[3] / "inside").exists()


@pytest.mark.slow
def test_real_model_reshard_answers_as_the_source(
    real_embedder: Any, real_settings: Any, tmp_path: Path
) -> None:
    """News paragraphs embedded and tagged for real, split in 3, resharded to 2: every
    vector and mention copied (the model and the tagger are not asked again)."""
    from semsearch.embedder.entities import EntityConfig, EntityExtractor

    lines = shared_path("corpus", "news-112k.jsonl").read_text(encoding="utf-8").splitlines()[:240]
    texts = [json.loads(line)["text"] for line in lines]
    items = [
        make_article(
            f"n{i:03d}",
            texts[i : i + 4],
            source=["rmrb", "xinhua"][i % 2],
            date=f"199{i % 8}-01-01",
        )
        for i in range(0, len(texts), 4)
    ]
    extractor = EntityExtractor(EntityConfig.from_settings(real_settings))
    with Collection.create(tmp_path / "one", real_embedder, entities=extractor) as one:
        one.upsert(items)
    split_collection(tmp_path / "one", tmp_path / "c3", real_embedder, 3)
    report = reshard_cluster(tmp_path / "c3", tmp_path / "c2", 2)
    assert (report.articles, report.passages, report.tagged) == (60, 240, 60)
    _assert_same_store(tmp_path / "c3", tmp_path / "c2", rich=False)
    queries = ["经济体制改革", "香港回归祖国", "农业生产和农民收入", "江泽民 新年讲话"]
    agreement = _assert_same_answers(tmp_path / "c3", tmp_path / "c2", real_embedder, queries)
    # Measured: lexical 0.875, hybrid 0.975 (4 queries, 240 news paragraphs).
    assert agreement["lexical"] >= 0.75 and agreement["hybrid"] >= 0.85, agreement
