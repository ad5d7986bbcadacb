"""Collection behaviour with the fake embedder: storage, updates, filters, collapse, repair."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from semsearch.index import Collection, CollectionError, Filters, ModelMismatchError, SnippetStyle
from tests.fakes import FakeEmbedder, make_article


def _corpus() -> list:
    return [
        make_article(
            "a1",
            ["数字经济 核心产业 发展迅速", "人工智能 区块链 云计算", "数据要素 市场"],
            date="2023-04-18",
            source="zzwb",
            section="要闻",
            metadata={"page": 1},
        ),
        make_article(
            "a2",
            ["重大项目 观摩 活动 举行", "项目为王 理念", "数字 技术 应用 项目"],
            date="2023-04-19",
            source="zzwb",
            section="要闻",
            metadata={"page": 2},
        ),
        make_article(
            "a3",
            ["The mayor visited digital economy companies in 2023", "Cloud computing and AI"],
            date="2023-05-01",
            source="wire",
            section="english",
        ),
    ]


@pytest.fixture()
def coll(tmp_path: Path) -> Collection:
    c = Collection.create(tmp_path / "c", FakeEmbedder())
    c.upsert(_corpus())
    yield c
    c.close()


def test_info_and_reopen(coll: Collection, tmp_path: Path) -> None:
    info = coll.info()
    assert (info.articles, info.passages, info.index_kind, info.dimension) == (3, 8, "flat", 64)
    coll.close()
    again = Collection.open(tmp_path / "c", FakeEmbedder(), read_only=True)
    assert again.info().passages == 8
    assert again.check().ok
    again.close()


def test_modes_and_json_shape(coll: Collection) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        response = coll.search("数字经济", mode=mode, k=3)
        assert response.results, mode
        assert response.results[0].article_id == "a1"
        data = response.to_dict()
        assert {"query", "mode", "took_ms", "results"} <= data.keys()
        assert {"rank", "score", "passage_id", "article_id", "title", "text", "snippet", "date", "source"} <= data[
            "results"
        ][0].keys()


def test_lexical_english_and_numbers(coll: Collection) -> None:
    hits = coll.search("mayor 2023", mode="lexical").results
    assert [h.article_id for h in hits] == ["a3"]
    assert "<mark>mayor</mark>" in hits[0].snippet and "<mark>2023</mark>" in hits[0].snippet


def test_filters_before_cut(coll: Collection) -> None:
    hits = coll.search("数字经济", k=10, filters=Filters(sources=["wire"])).results
    assert hits and {h.article_id for h in hits} == {"a3"}
    assert len(hits) == 2  # k hits exist within the filter: all are returned
    hits = coll.search("项目", mode="dense", k=10, filters=Filters(date_from="2023-04-19", date_to="2023-04-19"))
    assert {h.article_id for h in hits.results} == {"a2"}
    hits = coll.search("项目", k=10, filters=Filters(metadata={"page": 1})).results
    assert {h.article_id for h in hits} == {"a1"}
    assert coll.search("项目", filters=Filters(article_ids=[])).results == []


def test_collapse_pagination_floor(coll: Collection) -> None:
    collapsed = coll.search("数字 项目 经济", k=10, collapse=True).results
    assert len({h.article_id for h in collapsed}) == len(collapsed) == 3
    assert sum(h.matched_passages for h in collapsed) > 0
    full = coll.search("数字", mode="dense", k=8).results
    page2 = coll.search("数字", mode="dense", k=3, offset=3).results
    assert [h.passage_id for h in page2] == [h.passage_id for h in full[3:6]]
    assert [h.rank for h in page2] == [4, 5, 6]
    floor = full[2].score
    assert all(h.score >= floor for h in coll.search("数字", mode="dense", k=8, min_score=floor).results)
    style = SnippetStyle(pre="[", post="]")
    assert "[数字经济]" in coll.search("数字经济", mode="lexical", snippet_style=style).results[0].snippet


def test_replace_metadata_and_delete(coll: Collection) -> None:
    old_ids = {h.passage_id for h in coll.search("项目", k=20).results if h.article_id == "a2"}
    article, passages = make_article("a2", ["完全不同的新内容 交通"], date="2023-04-19", source="zzwb")
    report = coll.upsert([(article, passages)])
    assert report.replaced == 1 and report.passages_removed == 3
    hits = coll.search("项目为王", k=20).results
    assert not old_ids & {h.passage_id for h in hits}
    same = make_article("a3", ["The mayor visited digital economy companies in 2023", "Cloud computing and AI"],
                        source="changed")
    assert coll.upsert([same]).metadata_only == 1
    assert coll.get_article("a3")["source"] == "changed"
    assert coll.delete(["a1", "missing"]) == 1
    assert all(h.article_id != "a1" for h in coll.search("数字经济", k=20).results)
    assert coll.info().articles == 2 and coll.check().ok


def test_similar(coll: Collection) -> None:
    pid = coll.search("人工智能 区块链", mode="lexical").results[0].passage_id
    by_passage = coll.similar(passage_id=pid, k=5).results
    assert pid not in {h.passage_id for h in by_passage}
    by_article = coll.similar(article_id="a1", k=5, collapse=True).results
    assert "a1" not in {h.article_id for h in by_article}
    assert coll.similar(text="数字经济 核心产业", k=1).results[0].article_id == "a1"


def test_model_mismatch_refused(coll: Collection, tmp_path: Path) -> None:
    with pytest.raises(ModelMismatchError, match="built with model"):
        Collection.open(tmp_path / "c", FakeEmbedder(name="other-model"))


def test_missing_vectors_repaired_or_refused(coll: Collection, tmp_path: Path) -> None:
    segment = coll.info().segments[0]["file"]
    coll.close()
    (tmp_path / "c" / segment).unlink()
    with pytest.raises(CollectionError, match="inconsistent"):
        Collection.open(tmp_path / "c", FakeEmbedder(), read_only=True)
    embedder = FakeEmbedder()
    repaired = Collection.open(tmp_path / "c", embedder)
    assert embedder.calls == 8  # rebuilt by re-embedding every stored passage
    assert repaired.check().ok
    assert repaired.search("数字经济").results[0].article_id == "a1"
    repaired.close()


@pytest.mark.parametrize("kind", ["hnsw", "ivf_flat", "ivf_sq8"])
def test_optimize_kinds(coll: Collection, kind: str) -> None:
    info = coll.optimize(kind)
    assert info.index_kind == kind and info.recall_at_10 is not None
    assert coll.search("数字经济", mode="dense").results[0].article_id == "a1"
    coll.delete(["a1"])
    assert all(h.article_id != "a1" for h in coll.search("数字经济", k=20).results)
    assert coll.check().ok


@pytest.mark.parametrize("kind", ["flat", "hnsw_fp16", "ivf_flat"])
def test_lead_similarities_are_the_first_passages_cosines(coll: Collection, kind: str) -> None:
    coll.optimize(kind)
    dense = coll.search("数字经济 核心产业", mode="dense", k=8).results
    first = {h.article_id: h.score for h in dense if h.ordinal == 0}
    lead = coll.lead_similarities("数字经济 核心产业", ["a1", "a2", "missing"])
    if kind.startswith("ivf"):
        assert lead == {}  # IVF cannot look vectors up by id: no lead term, search still works
    else:
        assert set(lead) == {"a1", "a2"}
        for article, score in lead.items():
            assert score == pytest.approx(first[article], abs=2e-3)
    hits = coll.search("数字经济 核心产业", collapse=True).results
    assert hits[0].article_id == "a1" and len({h.article_id for h in hits}) == len(hits)


@pytest.mark.parametrize("readers", [1, 4])
def test_readers_during_writes(coll: Collection, tmp_path: Path, readers: int) -> None:
    reader = Collection.open(tmp_path / "c", FakeEmbedder(), read_only=True)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                hits = reader.search("新闻 数字 项目", k=50, collapse=True).results
                # Consistent snapshots: every hit resolves to a stored passage, one per
                # article, ranked in order.
                assert all(h.text for h in hits)
                assert len({h.article_id for h in hits}) == len(hits)
                assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for i in range(15):
        coll.upsert([make_article(f"n{i}", [f"新闻 {i} 数字 项目", f"第二段 {i}"])])
        if i % 3 == 0:
            coll.delete([f"n{i}"])
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    found = {h.article_id for h in reader.search("新闻 数字 项目", k=50, collapse=True).results}
    assert found >= {f"n{i}" for i in range(15) if i % 3}
    assert not found & {f"n{i}" for i in range(0, 15, 3)}
    reader.close()


def test_read_only_collection_reads_in_parallel(coll: Collection, tmp_path: Path) -> None:
    reader = Collection.open(tmp_path / "c", FakeEmbedder(), read_only=True)
    barrier = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def inside_snapshot() -> None:
        try:
            with reader._snapshot():
                barrier.wait()  # both threads must be inside a snapshot at once
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=inside_snapshot) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    reader.close()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw_fp16", "ivf_flat"])
def test_a_filtered_dense_search_ranks_exactly_the_passages_let_through(
    coll: Collection, kind: str
) -> None:
    exact = {h.passage_id: h.score for h in coll.search("数字 项目", mode="dense", k=20).results}
    coll.optimize(kind)
    within = Filters(sources=["zzwb"])
    hits = coll.search("数字 项目", mode="dense", k=20, filters=within).results
    # Every passage of a1 and a2 (three each), and nothing else.
    assert len(hits) == 6 and {h.article_id for h in hits} == {"a1", "a2"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        assert hit.score == pytest.approx(exact[hit.passage_id], abs=2e-3)
