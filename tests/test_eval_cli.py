"""``semsearch eval``: a synthetic BEIR folder with the fake embedder, bad input, and the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semsearch.embedder.errors import InputError
from semsearch.embedder.settings import Settings
from semsearch.service.evaluation import evaluate, load_beir, parse_modes
from tests.fakes import FakeEmbedder
from tests.helpers.cli import Cli, fake_cli
from tests.helpers.paths import shared_path

METRIC_KEYS = {"ndcg@10", "recall@10", "recall@100", "mrr@10"}

CORPUS = [
    {
        "_id": "a1",
        "title": "郑州地铁",
        "text": "郑州地铁三号线今日开通运营。\n沿线设有二十一座车站。",
    },
    {"_id": "a2", "title": "数字经济", "text": "数字经济核心产业增加值增长百分之十二。"},
    {
        "_id": "a3",
        "title": "Weather",
        "text": "Heavy rain is expected in Henan province this weekend.",
    },
    {"_id": "a4", "title": "足球", "text": "河南队主场二比一战胜对手，取得三连胜。"},
    {"_id": "a5", "title": "", "text": "   "},  # no text: skipped like `ingest --skip-bad` does
]
QUERIES = [
    {"_id": "q1", "text": "郑州地铁三号线开通"},
    {"_id": "q2", "text": "数字经济核心产业"},
    {"_id": "q3", "text": "heavy rain in Henan"},
    {"_id": "q4", "text": "河南队三连胜"},
    {"_id": "q5", "text": "unjudged query"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\ta1\t2\nq2\ta2\t1\nq3\ta3\t1\nq4\ta4\t1\nq4\ta1\t0\n"


def _write_beir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("corpus.jsonl", CORPUS), ("queries.jsonl", QUERIES)):
        (folder / name).write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
        )
    (folder / "qrels.tsv").write_text(QRELS, encoding="utf-8")
    return folder


@pytest.fixture()
def beir(tmp_path: Path) -> Path:
    return _write_beir(tmp_path / "tiny")


@pytest.fixture()
def fake_model() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture()
def fake(fake_model: FakeEmbedder) -> Cli:
    """``semsearch`` whose commands evaluate the fake embedder."""
    return fake_cli(fake_model)


def test_json_prints_one_object_per_mode(
    beir: Path, fake: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = fake.run(capsys, "eval", str(beir), "--json", "--mode", "all")
    assert code == 0, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["mode"] for o in objects] == ["hybrid", "dense", "lexical"]
    for obj in objects:
        assert set(obj) == {"mode", "queries", "timings", *METRIC_KEYS}
        assert obj["queries"] == 4  # q5 has no judgement, q4's second line is not relevant
        assert all(0.0 <= obj[key] <= 1.0 for key in METRIC_KEYS)
        assert {"ingest_s", "search_p50_ms", "search_p99_ms"} <= set(obj["timings"])
    by_mode = {o["mode"]: o for o in objects}
    # Each query shares most of its words with exactly one article.
    assert by_mode["hybrid"]["ndcg@10"] > 0.9 and by_mode["lexical"]["mrr@10"] > 0.9
    assert by_mode["dense"]["recall@100"] == 1.0


def test_text_output_and_limit(beir: Path, fake: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = fake.run(capsys, "eval", str(beir), "--mode", "lexical", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("tiny: 4 articles") and "2 queries" in lines[0]
    assert "1 corpus records skipped" in lines[0]
    assert len(lines) == 3 and lines[2].split()[0] == "lexical"


def test_rankings_are_articles_and_embeddings_reused(beir: Path) -> None:
    fake = FakeEmbedder()
    report = evaluate(load_beir(beir), fake, modes=["dense"], k=3)
    (result,) = report.results
    assert report.articles == 4 and report.passages == 5  # a1 has two paragraphs
    for ranking in result.rankings.values():
        assert len(ranking) == len(set(ranking)) == 4
    assert result.rankings["q1"][0] == "a1"
    assert set(result.metrics) == {"ndcg@3", "recall@3", "recall@100", "mrr@3"}


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        (lambda d: d.mkdir(), [], "missing corpus.jsonl, queries.jsonl, qrels.tsv"),
        (lambda d: None, [], "is not a directory"),
        (
            lambda d: (_write_beir(d) / "qrels.tsv").write_text("q1\ta1\n"),
            [],
            "expected 3 tab-separated columns",
        ),
        (
            lambda d: (_write_beir(d) / "qrels.tsv").write_text("q\td\tscore\nq1\ta1\thigh\n"),
            [],
            "not an integer",
        ),
        (lambda d: (_write_beir(d) / "corpus.jsonl").write_text("{oops\n"), [], "not JSON"),
        (
            lambda d: (_write_beir(d) / "qrels.tsv").write_text("q\td\tscore\nq1\ta1\t0\n"),
            [],
            "no query with a relevant document",
        ),
        (_write_beir, ["--mode", "fuzzy"], "unknown mode 'fuzzy'"),
        (_write_beir, ["--limit", "0"], "argument --limit: must be at least 1, got 0"),
        (_write_beir, ["-k", "0"], "-k must be at least 1"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    fake: Cli,
    capsys: pytest.CaptureFixture[str],
    setup: object,
    argv: list[str],
    message: str,
) -> None:
    folder = tmp_path / "set"
    setup(folder)  # type: ignore[operator]
    code, out, err = fake.run(capsys, "eval", str(folder), "--json", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_parse_modes() -> None:
    assert parse_modes("all") == ["hybrid", "dense", "lexical"]
    assert parse_modes("dense") == ["dense"]
    with pytest.raises(InputError):
        parse_modes("similar")


@pytest.mark.slow
def test_real_model_on_sohu_dd(
    cli: Cli, real_settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = shared_path("eval", "sohu2021_dd_retrieval")
    assert real_settings.model_dir is not None
    code, out, err = cli.run(
        capsys,
        "eval",
        str(folder),
        "--limit",
        "30",
        "--json",
        "--model-dir",
        str(real_settings.model_dir),
        "--no-progress",
    )
    assert code == 0, err
    results = {o["mode"]: o for o in map(json.loads, out.splitlines())}
    assert results["hybrid"]["queries"] == 30
    # Reference (all 293 queries, fp32): dense .893, BM25 .866, fused ~.90.
    assert results["hybrid"]["ndcg@10"] > 0.7
    assert results["dense"]["ndcg@10"] > 0.7 and results["lexical"]["ndcg@10"] > 0.6
    assert results["hybrid"]["recall@100"] > 0.9


def test_kept_collections_are_keyed_by_backend(beir: Path, tmp_path: Path) -> None:
    from semsearch.service.evaluation import kept_collection

    class OtherBackend(FakeEmbedder):
        backend_name = "other"

    dataset = load_beir(beir)
    paths = []
    for embedder in (FakeEmbedder(), OtherBackend(), FakeEmbedder()):
        with kept_collection(dataset, embedder, tmp_path / "keep") as collection:
            paths.append(collection.path)
            assert collection.info().passages > 0
    # Same weights, other backend: its own build; the first build is reused as it was.
    assert paths[0] != paths[1] and paths[0] == paths[2]
