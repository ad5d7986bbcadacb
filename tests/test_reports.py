"""Batch similarity reports with the fake embedder: kinds, k-NN, formats and CLI errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import IngestOptions
from semsearch.index import Collection
from semsearch.service.reports import (
    Corpus,
    duplicates_report,
    knn,
    load_corpus,
    load_other,
    match_report,
    queries_report,
    read_queries,
    related_report,
    write_report,
)
from semsearch.service.reports.calibration import best_f1_threshold, quality_at, roc_auc
from semsearch.service.reports.duplicates import find_groups
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.cli import Cli, fake_cli

THRESHOLD = 0.8
PROJECT = [
    "郑州市举行重大项目观摩活动，市领导分别带队观摩。",
    "安伟强调要立足改造提升传统产业，发展壮大新兴产业。",
]
PROJECT_COPY = [
    "郑州市举行重大项目观摩活动，市领导带队观摩了项目。",
    "安伟强调要立足改造提升传统产业，发展壮大新兴产业。",
]
DIGITAL = ["何雄调研数字经济发展情况。", "要加快建设算力基础设施和数据要素市场。"]
LONDON = ["The weather in London was rainy today.", "Football results from the weekend."]


@pytest.fixture()
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture()
def index_dir(tmp_path: Path, fake: FakeEmbedder) -> Path:
    path = tmp_path / "index"
    items = [
        make_article("p1", PROJECT, title="重大项目观摩", date="2023-04-20"),
        make_article("p2", PROJECT_COPY, title="重大项目观摩（转载）"),
        make_article("d1", DIGITAL, title="数字经济调研"),
        make_article("l1", LONDON, title="London"),
    ]
    items[0][0].url = "https://example.com/p1"
    with Collection.create(path, fake) as collection:
        collection.upsert(items)
    return path


@pytest.fixture()
def corpus(index_dir: Path, fake: FakeEmbedder) -> Corpus:
    return load_corpus(index_dir, fake)


def test_corpus_article_vectors_are_normalised_passage_means(corpus: Corpus) -> None:
    assert corpus.article_ids == ["d1", "l1", "p1", "p2"]
    assert corpus.offsets.tolist() == [0, 2, 4, 6, 8]
    mean = corpus.passage_vectors[0:2].mean(axis=0)
    np.testing.assert_allclose(corpus.article_vectors[0], mean / np.linalg.norm(mean), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(corpus.article_vectors, axis=1), 1.0, atol=1e-5)


def test_corpus_of_a_quantised_index_is_re_embedded(tmp_path: Path, fake: FakeEmbedder) -> None:
    path = tmp_path / "hnsw"
    with Collection.create(path, fake, kind="hnsw_sq8") as collection:
        collection.upsert([make_article("a", PROJECT), make_article("b", DIGITAL)])
        # A small write stays an exact appendable segment; sealing quantises it.
        collection.optimize("hnsw_sq8")
    corpus = load_corpus(path, fake)
    np.testing.assert_allclose(
        corpus.passage_vectors[0], fake.embed_passages([PROJECT[0]])[0], atol=1e-6
    )
    with pytest.raises(InputError, match="model is needed"):
        load_corpus(path, None)


@pytest.mark.parametrize("exact_max", [10_000, 100])
def test_knn_matches_brute_force(exact_max: int) -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(400, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    index = knn.build_index(base, exact_max=exact_max)
    found = knn.search(index, base, 5, exclude_self=True, batch_size=97)  # several batches
    sims = base @ base.T
    np.fill_diagonal(sims, -np.inf)
    truth = np.argsort(-sims, axis=1)[:, :5]
    assert not (found.ids == np.arange(400)[:, None]).any()
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found.ids, truth, strict=True)])
    assert recall == 1.0 if exact_max > 400 else recall > 0.8


def test_find_groups_needs_every_pair_above_the_threshold() -> None:
    # 0~1 and 1~2 are close, 0 and 2 are not: a chain must not make them one group.
    angles = np.radians([0.0, 20.0, 40.0, 90.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    threshold = float(np.cos(np.radians(25.0)))
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    ids = np.argsort(-sims, axis=1)[:, :2]
    found = knn.Neighbours(np.take_along_axis(sims, ids, axis=1), ids)
    groups, links = find_groups(found, vectors, threshold)
    assert groups in ([[0, 1]], [[1, 2]])
    assert len(links) == 1
    close = vectors.copy()
    close[2] = close[1]  # now 0, 1, 2 are pairwise close enough
    groups, _ = find_groups(found, close, float(np.cos(np.radians(21.0))))
    assert groups == [[0, 1, 2]]


def _neighbours(vectors: np.ndarray, k: int) -> knn.Neighbours:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    ids = np.argsort(-sims, axis=1)[:, :k]
    return knn.Neighbours(np.take_along_axis(sims, ids, axis=1), ids)


def test_find_groups_keeps_a_related_article_out_of_a_copy_pair() -> None:
    # 0 and 1 are near-copies (cosine 0.985); 2 is related to them (0.57 and 0.42), above
    # the threshold but far below 0 and 1's best match: only the copies form a group.
    angles = np.radians([0.0, 10.0, 65.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    groups, _ = find_groups(_neighbours(vectors, 2), vectors, 0.3)
    assert groups == [[0, 1]]
    # Three articles equally related to each other still form one group.
    even = np.eye(3, dtype=np.float32) * 0.8 + 0.2
    even /= np.linalg.norm(even, axis=1, keepdims=True)
    groups, _ = find_groups(_neighbours(even, 2), even, 0.3)
    assert groups == [[0, 1, 2]]


def test_related_report_lists_neighbours_with_the_passage_pair(corpus: Corpus) -> None:
    report = related_report(corpus, k=2, threshold=THRESHOLD, progress=False)
    by_id = {r["article_id"]: r for r in report.records}
    first = by_id["p1"]["neighbors"][0]
    assert first["neighbor_id"] == "p2" and first["level"] == "copy"
    assert first["passage_snippet"] == first["neighbor_passage_snippet"] == PROJECT[1]
    assert first["passage_score"] == pytest.approx(1.0, abs=1e-4)
    assert all(len(r["neighbors"]) == 2 for r in report.records)
    assert len(report.rows) == 8 and set(report.rows[0]) == set(report.columns)
    assert report.heatmap is not None and report.heatmap.matrix.shape == (4, 4)


def test_duplicates_report_groups_only_the_copy(corpus: Corpus) -> None:
    report = duplicates_report(corpus, threshold=THRESHOLD, progress=False)
    assert len(report.records) == 1
    group = report.records[0]
    assert {m["article_id"] for m in group["members"]} == {"p1", "p2"}
    assert {m["title"] for m in group["members"]} == {"重大项目观摩", "重大项目观摩（转载）"}
    assert group["size"] == 2 and group["min_score"] >= THRESHOLD
    assert report.summary["groups"] == 1 and report.summary["articles_in_groups"] == 2


def test_queries_report_collapses_passages_to_articles(
    corpus: Corpus, fake: FakeEmbedder, tmp_path: Path
) -> None:
    path = tmp_path / "queries.txt"
    path.write_text("数字经济 算力\n\nLondon weather football\n", encoding="utf-8")
    report = queries_report(corpus, fake, read_queries(path), k=2, progress=False)
    assert [r["query_id"] for r in report.records] == ["q1", "q3"]
    assert report.records[0]["articles"][0]["article_id"] == "d1"
    assert report.records[1]["articles"][0]["article_id"] == "l1"
    articles = report.records[0]["articles"]
    assert len({a["article_id"] for a in articles}) == len(articles) == 2
    assert {row["level"] for row in report.rows} == {"article", "passage"}


def test_match_report_ingests_files_like_ingest(
    corpus: Corpus, fake: FakeEmbedder, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.jsonl"
    records = [
        {"id": "w1", "title": "wire", "text": "\n".join(PROJECT_COPY)},
        {"id": "w2", "title": "wire 2", "text": "伦敦今天下雨。"},
    ]
    feed.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    other = load_other([feed], fake, options=IngestOptions(), progress=False)
    assert other.article_ids == ["w1", "w2"]
    report = match_report(corpus, other, k=3, threshold=THRESHOLD, progress=False)
    best = {r["article_id"]: r["neighbors"][0] for r in report.records}
    assert best["w1"]["neighbor_id"] == "p2" and best["w1"]["level"] == "copy"
    assert report.summary["with_duplicate"] == 1


def test_match_accepts_a_collection_directory(
    corpus: Corpus, index_dir: Path, fake: FakeEmbedder
) -> None:
    other = load_other([index_dir], fake, options=IngestOptions(), progress=False)
    report = match_report(corpus, other, k=1, threshold=THRESHOLD, progress=False)
    assert all(r["neighbors"][0]["score"] == pytest.approx(1.0, abs=1e-4) for r in report.records)


def test_read_queries_formats_and_errors(tmp_path: Path) -> None:
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"id": "a", "text": "one"}\n{"_id": 7, "query": "two"}\n', encoding="utf-8")
    assert read_queries(jsonl) == [("a", "one"), ("7", "two")]
    table = tmp_path / "q.csv"
    table.write_text("id,text\nx,第一\ny,第二\n", encoding="utf-8")
    assert read_queries(table) == [("x", "第一"), ("y", "第二")]
    with pytest.raises(InputError, match="not found"):
        read_queries(tmp_path / "missing.txt")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:1: no query text"):
        read_queries(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(InputError, match="no queries"):
        read_queries(empty)


def test_writers_produce_documented_csv_jsonl_and_self_contained_html(
    corpus: Corpus, tmp_path: Path
) -> None:
    report = duplicates_report(corpus, threshold=THRESHOLD, progress=False)
    write_report(report, tmp_path / "d.csv")
    write_report(report, tmp_path / "d.jsonl")
    write_report(report, tmp_path / "d.html")
    with (tmp_path / "d.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(report.columns) and len(rows) == 2
    lines = (tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and {m["article_id"] for m in json.loads(lines[0])["members"]} == {
        "p1",
        "p2",
    }
    page = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 2 and "重大项目观摩（转载）" in page
    assert "<script" not in page and 'src="http' not in page and "<link" not in page
    assert 'href="https://example.com/p1"' in page
    with pytest.raises(InputError, match="unsupported report format"):
        write_report(report, tmp_path / "d.xlsx")


def test_calibration_metrics() -> None:
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.9])
    positive = np.array([False, False, True, True, True])
    assert roc_auc(scores, positive) == pytest.approx(5 / 6)
    assert roc_auc(np.ones(4), np.array([True, False, True, False])) == pytest.approx(0.5)
    quality = quality_at(scores, positive, 0.5)
    assert (quality.precision, quality.recall) == (1.0, pytest.approx(2 / 3))
    best = best_f1_threshold(scores, positive)
    assert best.f1 == pytest.approx(6 / 7) and 0.1 < best.threshold < 0.35


@pytest.fixture()
def cli_fake(fake: FakeEmbedder) -> Cli:
    """``semsearch`` whose reports embed with the fake embedder."""
    return fake_cli(fake)


def test_cli_writes_every_kind(
    cli_fake: Cli, index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text("数字经济\n", encoding="utf-8")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "w", "text": "\n".join(PROJECT)}, ensure_ascii=False), encoding="utf-8"
    )
    runs = [
        ("related", [], "r.csv"),
        ("duplicates", ["--threshold", str(THRESHOLD)], "d.jsonl"),
        ("queries", [str(queries)], "q.html"),
        ("match", [str(feed)], "m.jsonl"),
    ]
    for kind, extra, name in runs:
        out_file = tmp_path / name
        code, out, err = cli_fake.run(
            capsys,
            "report",
            kind,
            *extra,
            "--index",
            str(index_dir),
            "--out",
            str(out_file),
            "--json",
        )
        assert code == 0, err
        assert json.loads(out)["kind"] == kind and out_file.stat().st_size > 0
    groups = (tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(groups) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "clusters", "--out", "x.csv"], "unknown report kind"),
        (["report", "related", "--out", "x.xlsx"], "unsupported report format"),
        (["report", "queries", "missing.txt", "--out", "x.csv"], "query file not found"),
        (["report", "queries", "--out", "x.csv"], "exactly one query file"),
        (["report", "match", "--out", "x.csv"], "needs files"),
        (["report", "related", "-k", "0", "--out", "x.csv"], "-k must be"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    cli_fake: Cli,
    index_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli_fake.run(capsys, *argv, "--index", str(index_dir))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("semsearch: error:") and message in err
    assert not list(tmp_path.glob("x.*"))
