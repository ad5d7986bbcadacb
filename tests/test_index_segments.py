"""Segmented vectors: writes add segments, merges fold them, readers reload only what is new."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from semsearch.index import Collection, segments, store, vectors
from semsearch.index._files import generation_files, vectors_name
from semsearch.index.config import IndexConfig, MergePolicy
from semsearch.index.manifest import MANIFEST_NAME
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.paths import shared_path

WORDS = ["经济", "项目", "数字", "产业", "城市", "交通", "科技", "人才", "市场", "郑州"]


def _article(n: int, paragraphs: int = 2) -> tuple:
    return make_article(
        f"a{n}", [f"{WORDS[n % 10]} {WORDS[(n * 3 + j) % 10]} 第{n}篇 段{j}" for j in range(paragraphs)]
    )


def _tight(factor: int = 3, seal: int = 12) -> IndexConfig:
    """Merge after a few writes and seal small segments, so tests see every path."""
    return IndexConfig(merge=MergePolicy(merge_factor=factor, seal_vectors=seal))


def _faiss_files(path: Path) -> set[str]:
    return {p.name for p in path.iterdir() if p.suffix == ".faiss"}


def test_a_write_saves_only_its_own_vectors(tmp_path: Path) -> None:
    coll = Collection.create(tmp_path / "c", FakeEmbedder())
    coll.upsert([_article(i) for i in range(10)])
    first = coll.info().segments
    assert len(first) == 1 and first[0]["vectors"] == 20
    before = os.stat(tmp_path / "c" / first[0]["file"])
    coll.upsert([_article(10)])
    after = coll.info().segments
    assert [s["vectors"] for s in after] == [20, 2]
    # The first segment's file was not rewritten.
    assert os.stat(tmp_path / "c" / first[0]["file"]).st_ino == before.st_ino
    assert _faiss_files(tmp_path / "c") == {s["file"] for s in after}
    coll.close()


def test_reader_keeps_the_segments_it_has(tmp_path: Path) -> None:
    writer = Collection.create(tmp_path / "c", FakeEmbedder())
    writer.upsert([_article(i) for i in range(5)])
    reader = Collection.open(tmp_path / "c", FakeEmbedder(), read_only=True)
    assert reader.search("经济", mode="dense").results
    held = dict(reader._state.loaded)
    writer.upsert([_article(5)])
    hits = reader.search("第5篇", mode="lexical").results
    assert hits and hits[0].article_id == "a5"
    now = reader._state.loaded
    assert len(now) == 2
    for name, segment in held.items():
        assert now[name] is segment  # same object: not read again
    reader.close()
    writer.close()


def test_deletes_are_tombstones_until_a_merge_drops_them(
    tmp_path: Path
) -> None:
    config = _tight(factor=3, seal=1000)
    coll = Collection.create(tmp_path / "c", FakeEmbedder(), config=config)
    coll.upsert([_article(i) for i in range(10)])  # 20 vectors: a higher tier
    coll.upsert([_article(10)])
    coll.upsert([_article(11)])
    coll.delete(["a10"])  # 2 of 24 vectors: below the rebuild fraction
    info = coll.info()
    assert info.tombstones == 2 and [s["vectors"] for s in info.segments] == [20, 2, 2]
    assert all(h.article_id != "a10" for h in coll.search("经济", mode="dense", k=30).results)
    coll.upsert([_article(12)])  # the third tier-0 segment: the write folds the three
    info = coll.info()
    assert [s["vectors"] for s in info.segments] == [20, 4]
    assert info.tombstones == 0 and coll.check().ok
    assert {h.article_id for h in coll.search("经济", mode="dense", k=30).results} == {
        f"a{i}" for i in range(13) if i != 10
    }
    coll.close()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw_fp16"])
def test_merges_seal_segments_and_search_stays_exact(
    tmp_path: Path, kind: str
) -> None:
    config = _tight()
    embedder = FakeEmbedder()
    coll = Collection.create(tmp_path / "c", embedder, kind=kind, config=config)
    live: dict[str, list[str]] = {}
    for n in range(40):
        item = _article(n % 25, paragraphs=1 + n % 3)
        coll.upsert([item])
        live[item[0].id] = [p.text for p in item[1]]
        if n % 7 == 6:
            coll.delete([f"a{(n * 5) % 25}"])
            live.pop(f"a{(n * 5) % 25}", None)
    info = coll.info()
    sealed = [s for s in info.segments if s["sealed"]]
    assert sealed and all(s["kind"] == kind for s in sealed)
    assert len(info.segments) < 40 and coll.check().ok
    texts = [t for paras in live.values() for t in paras]
    vectors = embedder.embed_passages(texts)
    for query in ("经济 项目", "科技 人才 第7篇", "郑州"):
        qv = embedder.embed_queries([query])[0]
        kth = np.sort(vectors @ qv)[::-1][4]
        hits = coll.search(query, mode="dense", k=5).results
        assert len(hits) == 5
        for hit in hits:
            assert hit.text in texts
            tolerance = 2e-3 if kind == "hnsw_fp16" else 1e-5
            assert float(embedder.embed_passages([hit.text])[0] @ qv) >= kth - tolerance
    coll.close()


def test_a_large_write_is_sealed_at_once(tmp_path: Path) -> None:
    config = _tight(seal=12)
    coll = Collection.create(tmp_path / "c", FakeEmbedder(), kind="hnsw", config=config)
    coll.upsert([_article(i) for i in range(8)])  # 16 vectors >= 12
    [segment] = coll.info().segments
    assert segment["sealed"] and segment["kind"] == "hnsw" and segment["vectors"] == 16
    coll.close()


def test_optimize_merges_everything(tmp_path: Path) -> None:
    coll = Collection.create(tmp_path / "c", FakeEmbedder())
    for i in range(5):
        coll.upsert([_article(i)])
    coll.delete(["a1"])
    assert len(coll.info().segments) == 5
    info = coll.optimize("flat")
    assert [s["vectors"] for s in info.segments] == [8] and info.segments[0]["sealed"]
    assert info.tombstones == 0 and coll.check().ok
    assert _faiss_files(tmp_path / "c") == {info.segments[0]["file"]}
    coll.close()


def test_generation_files_lists_what_a_generation_is(tmp_path: Path) -> None:
    coll = Collection.create(tmp_path / "c", FakeEmbedder())
    coll.upsert([_article(0)])
    coll.upsert([_article(1)])
    files = generation_files(tmp_path / "c", coll._conn)
    assert files[:2] == [tmp_path / "c" / MANIFEST_NAME, tmp_path / "c" / store.DATABASE_NAME]
    assert {f.name for f in files[2:]} == _faiss_files(tmp_path / "c")
    assert all(f.is_file() for f in files)
    coll.close()


def _to_format_1(path: Path) -> None:
    """Rewrite a one-segment collection into the layout before segments (format 1)."""
    conn = store.connect(path / store.DATABASE_NAME)
    with store.transaction(conn, write=True):
        meta = store.read_meta(conn)
        [record] = meta.segments or ()
        store.write_meta(conn, segments=None, next_segment=0)
    conn.close()
    generation = meta.generation
    (path / record["file"]).rename(path / vectors_name(generation))
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    manifest.pop("segments")
    manifest.update(format_version=1, vectors_file=vectors_name(generation))
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_format_1_collections_open_and_grow(tmp_path: Path) -> None:
    path = tmp_path / "c"
    coll = Collection.create(path, FakeEmbedder(), kind="hnsw")
    coll.upsert([_article(i) for i in range(6)])
    coll.optimize("hnsw")
    expected = [h.passage_id for h in coll.search("经济 项目", mode="dense", k=5).results]
    coll.close()
    _to_format_1(path)
    assert [name.split("-")[0] for name in _faiss_files(path)] == ["vectors"]
    old = Collection.open(path, FakeEmbedder(), read_only=True)
    [segment] = old.info().segments
    assert segment["sealed"] and segment["file"].startswith("vectors-")
    assert [h.passage_id for h in old.search("经济 项目", mode="dense", k=5).results] == expected
    old.close()
    coll = Collection.open(path, FakeEmbedder())
    coll.upsert([_article(6)])
    coll.delete(["a0"])
    info = coll.info()
    assert [s["file"].split("-")[0] for s in info.segments] == ["vectors", "segment"]
    assert coll.check().ok and info.passages == 12
    found = {h.article_id for h in coll.search("第6篇", mode="dense", k=20).results}
    assert found == {f"a{i}" for i in range(1, 7)}
    coll.close()


@pytest.mark.slow
def test_real_model_segments_match_one_index(
    tmp_path: Path, real_embedder: object
) -> None:
    """Real embeddings over many segments rank exactly as one optimized index does."""
    corpus = shared_path("corpus", "news-112k.jsonl")
    with corpus.open(encoding="utf-8") as handle:
        texts = [json.loads(next(handle))["text"][:200] for _ in range(60)]
    config = _tight(factor=3, seal=20)
    coll = Collection.create(tmp_path / "c", real_embedder, config=config)  # type: ignore[arg-type]
    for start in range(0, len(texts), 4):
        coll.upsert([make_article(f"n{start + i}", [t]) for i, t in enumerate(texts[start : start + 4])])
    coll.delete(["n3", "n17"])
    assert len(coll.info().segments) > 1
    queries = ["经济发展", "体育比赛 冠军", "the stock market"]
    segmented = [
        [(h.passage_id, round(h.score, 5)) for h in coll.search(q, mode="dense", k=8).results]
        for q in queries
    ]
    assert len(coll.optimize("flat").segments) == 1
    single = [
        [(h.passage_id, round(h.score, 5)) for h in coll.search(q, mode="dense", k=8).results]
        for q in queries
    ]
    assert segmented == single
    coll.close()


class HeldMerges:
    """A merge policy's ``before_build`` hook: every merge build waits for ``release``.

    ``started`` is set when one begins; clearing ``holding`` lets later builds through.
    """

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.holding = True

    def __call__(self, segments: int) -> None:
        if not self.holding:
            return
        self.started.set()
        assert self.release.wait(30), "the test never released the merge"


def _held(factor: int, seal: int) -> tuple[IndexConfig, HeldMerges]:
    """A tight config whose merges wait for the test (background merges held mid-build)."""
    held = HeldMerges()
    policy = MergePolicy(merge_factor=factor, seal_vectors=seal, before_build=held)
    return IndexConfig(merge=policy), held


def test_background_merges_run_behind_writes(tmp_path: Path) -> None:
    config, held = _held(factor=3, seal=1000)
    started, release = held.started, held.release
    coll = Collection.create(tmp_path / "c", FakeEmbedder(), background_merges=True, config=config)
    for n in range(3):
        coll.upsert([_article(n)])
    assert started.wait(10)  # the thread took the three tier-0 segments
    # While that merge is being built, writes and reads go on and commit.
    for n in range(3, 6):
        coll.upsert([_article(n)])
    coll.delete(["a4"])
    assert len(coll.info().segments) == 6
    assert {h.article_id for h in coll.search("经济", mode="dense", k=30).results} == {
        f"a{i}" for i in range(6) if i != 4
    }
    release.set()
    assert coll.wait_for_merges(30)
    info = coll.info()
    # a0-a2 folded into one tier-1 segment, then a3-a5 into another (a4's tombstones dropped).
    assert [s["vectors"] for s in info.segments] == [6, 4] and info.tombstones == 0
    assert coll.check().ok
    assert {h.article_id for h in coll.search("经济", mode="dense", k=30).results} == {
        f"a{i}" for i in range(6) if i != 4
    }
    coll.close()
    reopened = Collection.open(tmp_path / "c", FakeEmbedder(), read_only=True, config=config)
    assert reopened.info().segments == info.segments
    reopened.close()


def test_a_background_merge_that_lost_its_segments_changes_nothing(tmp_path: Path) -> None:
    config, held = _held(factor=3, seal=1000)
    started, release = held.started, held.release
    coll = Collection.create(tmp_path / "c", FakeEmbedder(), background_merges=True, config=config)
    for n in range(3):
        coll.upsert([_article(n)])
    assert started.wait(10)
    # optimize replaces every segment while the merge of three of them is being built.
    held.holding = False
    optimized = coll.optimize("flat")
    release.set()
    assert coll.wait_for_merges(30)
    info = coll.info()
    assert info.segments == optimized.segments and [s["vectors"] for s in info.segments] == [6]
    assert coll.check().ok and info.passages == 6
    assert _faiss_files(tmp_path / "c") == {info.segments[0]["file"]}
    coll.close()


def test_closing_waits_for_the_merge_in_progress(tmp_path: Path) -> None:
    config, held = _held(factor=3, seal=1000)
    started, release = held.started, held.release
    coll = Collection.create(tmp_path / "c", FakeEmbedder(), background_merges=True, config=config)
    for n in range(3):
        coll.upsert([_article(n)])
    assert started.wait(10)
    threading.Timer(0.2, release.set).start()
    coll.close()  # returns once the merge committed (or gave up), never mid-way
    reopened = Collection.open(tmp_path / "c", FakeEmbedder(), config=config)
    assert reopened.check().ok and reopened.info().passages == 6
    assert [s["vectors"] for s in reopened.info().segments] == [6]
    reopened.close()


def _mappings_of(file: Path) -> int:
    """How many memory mappings of ``file`` this process holds."""
    return sum(1 for line in Path("/proc/self/maps").read_text().splitlines() if line.endswith(str(file)))


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_reader_and_writer_share_one_mapped_copy(tmp_path: Path) -> None:
    # 1,000 passages of 384 floats: a 1.5 MB segment, above MMAP_MIN_BYTES.
    embedder = FakeEmbedder(dimension=384)
    writer = Collection.create(tmp_path / "c", embedder)
    writer.upsert([_article(n, paragraphs=4) for n in range(250)])
    writer.close()
    writer = Collection.open(tmp_path / "c", embedder)
    reader = Collection.open(tmp_path / "c", embedder, read_only=True)
    [segment] = reader.info().segments
    file = (tmp_path / "c" / segment["file"]).resolve()
    assert file.stat().st_size >= vectors.MMAP_MIN_BYTES
    assert reader.search("经济", mode="dense").results
    writer.upsert([_article(1000)])  # the writer needs the segment list, not a copy of it
    assert writer.search("经济", mode="dense").results
    # Both objects search the one mapping of the file: no private copy, none twice.
    assert _mappings_of(file) == 1
    hits = reader.search("第1000篇", mode="lexical").results
    assert hits and hits[0].article_id == "a1000"
    reader.close()
    writer.close()


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vectors_are_found_by_id_in_whichever_segment_holds_them(kind: str) -> None:
    rng = np.random.default_rng(7)
    dimension = 16
    ids = rng.permutation(np.arange(5, 5000, 7))[:300]
    matrix = rng.standard_normal((len(ids), dimension)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    parts = []
    for chunk in np.array_split(np.arange(len(ids)), 3):
        index = vectors.VectorIndex(dimension, kind)
        index.add(ids[chunk], matrix[chunk])
        parts.append(segments.Segment(index))
    stored = segments.SegmentedVectors(dimension, kind, {}, parts)
    query = matrix[0]
    asked = rng.permutation(ids)[:120]
    rows = {int(i): matrix[k] for k, i in enumerate(ids)}
    expected = np.asarray([rows[int(i)] @ query for i in asked], dtype=np.float32)
    got = stored.similarities(query, asked)
    assert got is not None
    np.testing.assert_allclose(got, expected, atol=1e-2 if kind == "hnsw" else 1e-5)
    again = stored.reconstruct(asked)
    assert again is not None
    np.testing.assert_allclose(again, np.stack([rows[int(i)] for i in asked]), atol=1e-2)
    # An id stored nowhere (between, below and above the stored ones) is no answer.
    for missing in (6, 0, 10_000):
        assert stored.similarities(query, np.append(asked, missing)) is None
