"""Distributed ingest: ``semsearch ingest --engine ray`` against local ingest, a lost worker,
the missing-extra message, and the bulk index pieces it is built on."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from semsearch.embedder.cache import EmbeddingCache
from semsearch.index import Collection
from semsearch.index.bulk import ShardStore, ShardWriter, keys_array, text_key, trained_empty_index
from semsearch.service import distributed
from semsearch.service.cli import main
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.cli import Cli
from tests.helpers.paths import shared_path
from tests.helpers.ray_runtime import RayRuntime

# A few hundred real paragraphs: People's Daily 1998 and THUCNews passages.
SOURCES = {"pd1998_para": 150, "thucnews_passage": 150}
QUERIES = [
    "经济体制改革",
    "国有企业下岗职工再就业",
    "农业生产和农民收入",
    "香港回归祖国",
    "股市行情与投资者",
    "足球比赛结果",
    "科技创新与人才培养",
    "环境保护和污染治理",
]


# ---------------------------------------------------------------------------- no Ray needed


def test_engine_ray_without_ray_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    source = tmp_path / "a.jsonl"
    source.write_text('{"id": "a", "text": "一段文字"}\n', encoding="utf-8")
    code = main(["ingest", str(source), "--index", str(tmp_path / "ix"), "--engine", "ray"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and 'pip install "semsearch[distributed]"' in err
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["--workers", "0"], {}, "ray_workers"),
        ([], {"SEMSEARCH_BULK_INDEX_KIND": "nope"}, "unknown bulk index kind 'nope'"),
    ],
)
def test_engine_ray_bad_settings_exit_2_and_write_nothing(
    flags: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    source = tmp_path / "a.jsonl"
    source.write_text('{"id": "a", "text": "一段文字"}\n', encoding="utf-8")
    code = main(
        ["ingest", str(source), "--index", str(tmp_path / "ix"), "--engine", "ray", *flags]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert not (tmp_path / "ix").exists()


def test_shards_round_trip_by_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texts = [f"passage {i}" for i in range(250)]
    vectors = rng.standard_normal((250, 8)).astype(np.float32)
    writer = ShardWriter(tmp_path, 8, shard_rows=100)
    for start in range(0, 250, 30):  # batches straddle shard boundaries
        batch = texts[start : start + 30]
        writer.add(keys_array([text_key(t) for t in batch]), vectors[start : start + 30])
    writer.flush()
    store = ShardStore(tmp_path)
    assert (store.shards, len(store), store.unique_keys()) == (3, 250, 250)
    order = rng.permutation(250)
    positions = store.find(keys_array([text_key(texts[i]) for i in order]))
    assert (positions >= 0).all()
    np.testing.assert_array_equal(store.vectors_at(positions), vectors[order])
    assert store.find(keys_array([text_key("never written")]))[0] == -1
    assert len(store.sample(40)) == 40


def test_bulk_prepared_ivf_collection_trains_on_the_whole_job(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    articles = [
        make_article(f"a{i}", [f"文章 {i} 段落 {j} 内容" for j in range(3)]) for i in range(200)
    ]
    texts = [p.text for _, passages in articles for p in passages]
    writer = ShardWriter(tmp_path / "shards", embedder.dimension, shard_rows=128)
    writer.add(keys_array([text_key(t) for t in texts]), embedder.embed_passages(texts))
    writer.flush()
    store = ShardStore(tmp_path / "shards")
    index = trained_empty_index(
        embedder.dimension,
        "ivf_flat",
        {},
        expected=len(texts),
        store=store,
        build={"engine": "test"},
    )
    with Collection.create(tmp_path / "ix", embedder) as collection:
        collection.prepare_bulk(index, auto=False)
        collection.upsert(articles)
        info = collection.info()
        assert collection.check().ok
    assert (info.index_kind, info.passages) == ("ivf_flat", 600)
    assert info.index_params["build"] == {"engine": "test", "train_sample": 600}
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["index_params"]["build"]["engine"] == "test"
    with (
        Collection.open(tmp_path / "ix", embedder) as collection,
        pytest.raises(Exception, match="not empty"),
    ):
        collection.prepare_bulk(
            trained_empty_index(embedder.dimension, "flat", {}, expected=1, store=store, build={}),
            auto=True,
        )


# ---------------------------------------------------------------------------- Ray, real model


@pytest.fixture(scope="module")
def ray_local(ray_runtime: RayRuntime) -> Any:
    """The session's local Ray, shared by the tests below (the CLI joins it)."""
    ray = ray_runtime.ensure()
    # Test-only actor classes live here; workers cannot import this module by name.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return ray


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = shared_path("corpus", "news-112k.jsonl")
    wanted = dict(SOURCES)
    lines = []
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            src = json.loads(line)["src"]
            if wanted.get(src, 0) > 0:
                wanted[src] -= 1
                lines.append(line)
            if not any(wanted.values()):
                break
    path = tmp_path_factory.mktemp("corpus") / "news.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def run_ingest(
    cli: Cli, capsys: pytest.CaptureFixture[str], corpus: Path, index: Path, model_dir: Path, *extra: str
) -> dict[str, Any]:
    argv = ["ingest", str(corpus), "--index", str(index), "--model-dir", str(model_dir)]
    code = cli([*argv, "--no-progress", "--json", *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def local_index(cli: Cli, corpus: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("local") / "index"
    assert cli(["ingest", str(corpus), "--index", str(index), "--model-dir", str(model_dir),
                 "--no-cache", "--no-progress", "--json"]) == 0  # fmt: skip
    return index


def top10(index: Path, embedder: Any) -> list[list[tuple[str, int]]]:
    with Collection.open(index, embedder, read_only=True) as collection:
        return [
            [(hit.article_id, hit.ordinal) for hit in collection.search(q, mode=mode, k=10).results]
            for q in QUERIES
            for mode in ("dense", "hybrid")
        ]


def entity_facets(index: Path, embedder: Any) -> tuple[dict[str, Any], Any]:
    """Entity facets of the test queries' matches, and every entity's counts per month."""
    facets: dict[str, Any] = {}
    with Collection.open(index, embedder, read_only=True) as collection:
        for query in QUERIES:
            found = collection.search(query, mode="lexical", facets=("person", "place", "org"), count=True)
            for name, values in (found.facets or {}).items():
                facets.setdefault(name, []).extend(values)
        return facets, collection.entity_counts()


def passage_keys(index: Path) -> list[tuple[str, int]]:
    with Collection.open(index, None, read_only=True) as collection:
        assert collection.check().ok  # FAISS ids == live passage ids, nothing extra
        rows = collection._conn.execute("SELECT article_id, ordinal FROM passages").fetchall()
    return sorted((str(a), int(o)) for a, o in rows)


@pytest.mark.slow
def test_ray_collection_answers_like_local(
    cli: Cli, ray_local: Any,
    corpus: Path,
    local_index: Path,
    model_dir: Path,
    real_embedder: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A fresh embedding cache, so the actors really embed; the compiled backend models (int8
    # ONNX, OpenVINO) live apart from it and are reused rather than rebuilt in every actor.
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("SEMSEARCH_CACHE_DIR", str(cache_dir))
    index = tmp_path / "ray-index"
    summary = run_ingest(cli, capsys, corpus, index, model_dir, "--engine", "ray", "--workers", "2")
    assert summary["engine"] == "ray" and summary["added"] == 300
    assert passage_keys(index) == passage_keys(local_index)
    assert top10(index, real_embedder) == top10(local_index, real_embedder)
    # The actors filled the cache, so a rerun skips model time for every text.
    assert len(EmbeddingCache(cache_dir, real_embedder.dimension)) == summary["embedded_texts"]
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["index_params"]["build"]["engine"] == "ray"
    # Entities tagged as local ingest tags them (the real tagger on both sides).
    assert entity_facets(index, real_embedder) == entity_facets(local_index, real_embedder)
    assert any(entity_facets(index, real_embedder)[0].values())


class CrashOnceActor(distributed.EmbedActor):
    """Dies (the whole worker process) on its first batch, once across restarts."""

    marker = ""

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        marker = Path(self.marker)
        if not marker.exists():
            marker.touch()
            os._exit(1)
        return super().__call__(batch)


@pytest.mark.slow
def test_a_lost_worker_is_retried_and_every_passage_indexed_once(
    cli: Cli, ray_local: Any,
    corpus: Path,
    local_index: Path,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = tmp_path / "crashed"
    crashing = type("EmbedActor", (CrashOnceActor,), {"marker": str(marker)})
    monkeypatch.setattr(distributed, "EmbedActor", crashing)
    index = tmp_path / "ray-index"
    summary = run_ingest(cli, capsys, corpus, index, model_dir, "--engine", "ray", "--no-cache")
    assert marker.exists()  # a worker did die mid-job
    assert summary["added"] == 300
    assert passage_keys(index) == passage_keys(local_index)
