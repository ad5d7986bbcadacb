"""The ``semsearch`` command line end to end with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import Cli
from tests.helpers.paths import SEED

pytestmark = pytest.mark.slow

SECOND_TITLE = "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"
FIRST_TITLE = "2023年全市重大项目观摩活动举行"


@pytest.fixture(scope="module")
def seed_index(cli: Cli, tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    index = tmp_path_factory.mktemp("cli") / "index"
    assert (
        cli(["ingest", str(SEED), "--index", str(index), "--model-dir", str(model_dir), "--json"])
        == 0
    )
    return index


def test_ingest_prints_a_summary_and_is_idempotent(
    cli: Cli, seed_index: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli.run(
        capsys, "ingest", str(SEED), "--index", str(seed_index), "--model-dir", str(model_dir)
    )
    assert code == 0
    assert "2 articles" in out and "0 added" in out and "2 unchanged" in out and "0 skipped" in out
    code, out, _ = cli.run(capsys, "info", "--index", str(seed_index), "--json")
    info = json.loads(out)
    assert {"articles", "passages", "model", "index_kind", "dimension"} <= info.keys()
    assert info["articles"] == 2 and info["dimension"] == 384


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("数字经济 核心产业", SECOND_TITLE),
        ("重大项目观摩", FIRST_TITLE),
        ("the mayor visited digital economy companies", SECOND_TITLE),
    ],
)
def test_search_json_finds_the_right_article(
    cli: Cli,
    seed_index: Path,
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
    query: str,
    title: str,
) -> None:
    response = cli.search_json(capsys, seed_index, model_dir, query, "-k", "3")
    assert {"query", "mode", "took_ms", "results"} <= response.keys()
    assert response["mode"] == "hybrid" and response["query"] == query
    first = response["results"][0]
    assert {
        "rank",
        "score",
        "passage_id",
        "article_id",
        "title",
        "text",
        "snippet",
        "date",
        "source",
    } <= first.keys()
    assert first["title"] == title and first["rank"] == 1


def test_similar_by_article_excludes_the_example(
    cli: Cli, seed_index: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = cli.search_json(capsys, seed_index, model_dir, "重大项目观摩")["results"][0][
        "article_id"
    ]
    code, out, _ = cli.run(
        capsys,
        "similar",
        "--article",
        article,
        "--per-article",
        "--index",
        str(seed_index),
        "--model-dir",
        str(model_dir),
        "--json",
    )
    assert code == 0
    assert [hit["article_id"] for hit in json.loads(out)["results"]] != []
    assert article not in [hit["article_id"] for hit in json.loads(out)["results"]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b'{"id": "a", "title": "t", "text": "good"}\n{not json\n', ":2"),
        (b'{"id": "a", "title": "t"}\n', "text"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    cli: Cli,
    seed_index: Path,
    model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    before = json.loads(cli.run(capsys, "info", "--index", str(seed_index), "--json")[1])
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    code, _out, err = cli.run(
        capsys, "ingest", str(bad), "--index", str(seed_index), "--model-dir", str(model_dir)
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("semsearch: error:") and message in err
    after = json.loads(cli.run(capsys, "info", "--index", str(seed_index), "--json")[1])
    assert (after["articles"], after["passages"], after["generation"]) == (
        before["articles"],
        before["passages"],
        before["generation"],
    )


def test_skip_bad_counts_and_keeps_the_good_records(
    cli: Cli, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(
        '{"id": "r1", "title": "郑州发布数字经济规划", "text": "郑州市发布数字经济发展规划，提出建设算力中心。", "source": "wire"}\n'
        "not json at all\n"
        '{"id": "r2", "title": "no text here"}\n',
        encoding="utf-8",
    )
    index = tmp_path / "index"
    code, out, _ = cli.run(
        capsys,
        "ingest",
        str(records),
        "--skip-bad",
        "--index",
        str(index),
        "--model-dir",
        str(model_dir),
        "--json",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["articles"] == 1 and summary["skipped"] == 2
    response = cli.search_json(capsys, index, model_dir, "算力中心", "--source", "wire")
    assert response["results"][0]["article_id"] == "r1"


def test_usage_errors_exit_2(
    cli: Cli, seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.run(capsys, "search", "x", "--index", str(seed_index), "--mode", "fuzzy")[0] == 2
    code, _, err = cli.run(capsys, "search", "x", "--index", str(seed_index), "-k", "0")
    assert code == 2 and err.count("\n") == 1
    code, _, err = cli.run(capsys, "info", "--index", str(seed_index.parent / "missing"))
    assert code == 2 and "no collection" in err


def test_reanalyze_switches_the_lexical_index(
    cli: Cli, seed_index: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--index", str(seed_index), "--model-dir", str(model_dir))

    def analyzer() -> str:
        code, out, _ = cli.run(capsys, "info", *common, "--json")
        assert code == 0
        return str(json.loads(out)["lexical_analyzer"])

    assert analyzer() == "jieba+bigrams+fold"
    code, out, _ = cli.run(capsys, "index", "reanalyze", *common, "--analyzer", "jieba")
    assert code == 0 and "rebuilt with jieba:" in out
    assert analyzer() == "jieba"
    code, out, _ = cli.run(capsys, "info", *common)
    assert code == 0 and "lexical analyzer jieba (`semsearch index reanalyze` upgrades it" in out
    words_only = cli.search_json(capsys, seed_index, model_dir, "数字经济", "--mode", "lexical")
    assert words_only["results"][0]["title"] == SECOND_TITLE
    assert cli.run(capsys, "index", "reanalyze", *common)[0] == 0
    assert analyzer() == "jieba+bigrams+fold"
    assert cli.run(capsys, "index", "reanalyze", *common, "--analyzer", "ngram")[0] == 2
    assert analyzer() == "jieba+bigrams+fold"


def test_delete_removes_an_article(
    cli: Cli, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    assert (
        cli.run(capsys, "ingest", str(SEED), "--index", str(index), "--model-dir", str(model_dir))[
            0
        ]
        == 0
    )
    article = cli.search_json(capsys, index, model_dir, "重大项目观摩")["results"][0]["article_id"]
    code, out, _ = cli.run(
        capsys, "delete", article, "--index", str(index), "--model-dir", str(model_dir), "--json"
    )
    assert code == 0 and json.loads(out)["deleted"] == 1
    response = cli.search_json(capsys, index, model_dir, "重大项目观摩", "-k", "20")
    assert article not in {hit["article_id"] for hit in response["results"]}


def test_backend_flag_offers_every_backend() -> None:
    from typing import get_args

    from semsearch.embedder.settings import Backend
    from semsearch.service.cli import build_parser

    for backend in get_args(Backend):
        args = build_parser().parse_args(["search", "q", "--backend", backend])
        assert args.backend == backend


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["serve", "--port", "70000"], {}, "invalid setting port (SEMSEARCH_PORT)"),
        (["info"], {"SEMSEARCH_THREADS": "abc"}, "invalid setting threads (SEMSEARCH_THREADS)"),
    ],
)
def test_invalid_settings_name_the_setting(
    cli: Cli,
    argv: list[str],
    env: dict[str, str],
    message: str,
    seed_index: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = cli.run(capsys, *argv, "--index", str(seed_index))
    assert code == 2 and err.count("\n") == 1 and message in err
