"""Query syntax, facets, totals and date order on the sample page with the real model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from semsearch.index import Collection
from tests.helpers.cli import Cli
from tests.helpers.paths import SEED

pytestmark = pytest.mark.slow

FIRST_TITLE = "2023年全市重大项目观摩活动举行"
SECOND_TITLE = "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"
MODES = ["hybrid", "dense", "lexical"]


def _titles(coll: Collection, query: str, mode: str, **kw: object) -> set[str]:
    response = coll.search(query, mode=mode, k=50, **kw)  # type: ignore[arg-type]
    return {hit.title for hit in response.results}


@pytest.mark.parametrize("mode", MODES)
def test_phrase_finds_only_passages_holding_it(seed_collection: Collection, mode: str) -> None:
    response = seed_collection.search('"项目为王"', mode=mode, k=20, count=True)
    assert len(response.results) == 2 and response.total == 1 and response.total_passages == 2
    for hit in response.results:
        assert hit.title == FIRST_TITLE
        assert "项目为王" in re.sub(r"\s", "", hit.text)
        assert "<mark>项目为王</mark>" in hit.snippet
    # Without quotes the same words rank passages that lack the phrase too.
    assert len(seed_collection.search("项目为王", mode=mode, k=20).results) > 2


@pytest.mark.parametrize("mode", MODES)
def test_must_exclude_and_or_on_the_sample(seed_collection: Collection, mode: str) -> None:
    assert _titles(seed_collection, "数字经济 -观摩", mode) == {SECOND_TITLE}
    assert _titles(seed_collection, '重大项目 -"数字 经济"', mode) == {FIRST_TITLE}
    assert _titles(seed_collection, '"数字经济" OR "项目为王"', mode) == {FIRST_TITLE, SECOND_TITLE}
    assert _titles(seed_collection, "+算力 项目", mode) == {SECOND_TITLE}


@pytest.mark.parametrize("mode", MODES)
def test_facets_and_date_order_on_the_sample(seed_collection: Collection, mode: str) -> None:
    response = seed_collection.search(
        '"数字经济" OR "重大项目"',
        mode=mode,
        k=1,
        collapse=True,
        sort="date-desc",
        facets=["month", "year", "source"],
    )
    assert response.total == 2 and len(response.results) == 1
    assert response.facets == {
        "month": [{"value": "2023-04", "count": 2}],
        "year": [{"value": "2023", "count": 2}],
        "source": [],
    }
    dates = [
        h.date for h in seed_collection.search("数字经济", mode=mode, k=10, sort="date-asc").results
    ]
    assert dates == sorted(dates)


def test_cli_syntax_facets_sort_and_errors(
    cli: Cli, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = str(tmp_path / "index")
    common = ["--index", index, "--model-dir", str(model_dir)]
    assert cli(["ingest", str(SEED), *common]) == 0
    capsys.readouterr()
    code = cli(
        ["search", '"项目为王"', *common, "--facets", "month", "--sort", "date-desc", "--json"]
    )
    body = json.loads(capsys.readouterr().out)
    assert code == 0 and body["total"] == 1 and body["total_passages"] == 2
    assert body["facets"] == {"month": [{"value": "2023-04", "count": 1}]}
    assert body["sort"] == "date-desc"
    assert cli(["search", "数字经济 -观摩", *common, "--facets", "month"]) == 0
    out = capsys.readouterr().out
    assert "of 1 matching articles" in out and "month: 2023-04 1" in out
    # ``--`` ends the options, so a query may start with ``-``.
    assert cli(["search", *common, "--", "-观摩"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("semsearch: error:") and err.count("\n") == 1
    assert "only exclusions" in err


def test_cli_reads_pasted_text_with_an_unbalanced_quote(
    cli: Cli, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = str(tmp_path / "index")
    common = ["--index", index, "--model-dir", str(model_dir)]
    assert cli(["ingest", str(SEED), *common]) == 0
    capsys.readouterr()
    pasted = "他指出，重大项目是经济发展的“压舱石"
    assert cli(["search", pasted, *common, "-k", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"query read as: words {pasted}; note: unbalanced quote “ read as text"
    assert FIRST_TITLE in out[1]
    assert cli(["search", "压舱石”", *common, "-k", "1", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["parsed"]["notes"] == ["unbalanced quote ” read as text"]
    assert body["results"][0]["title"] == FIRST_TITLE
    # A plain query prints no reading line: the output starts with the first hit.
    assert cli(["search", "数字经济", *common, "-k", "1"]) == 0
    assert capsys.readouterr().out.startswith("  1. ")


@pytest.fixture(scope="module")
def cli_common(cli: Cli, tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> list[str]:
    """``--index DIR --model-dir DIR`` of the sample page ingested once (search-only tests)."""
    index = str(tmp_path_factory.mktemp("cli-words") / "index")
    common = ["--index", index, "--model-dir", str(model_dir)]
    assert cli(["ingest", str(SEED), *common, "--json"]) == 0
    return common


@pytest.mark.parametrize(
    ("words", "title"),
    [
        (["-观摩", "数字经济"], SECOND_TITLE),  # argparse reads -观摩 as an unknown option
        (["数字经济", "-观摩"], SECOND_TITLE),
        (['-"数字经济"', "重大项目"], FIRST_TITLE),
        (["重大项目", '-"数字 经济"'], FIRST_TITLE),  # a space: argparse's own positional
        (["+算力", "项目", "-观摩"], SECOND_TITLE),
    ],
)
def test_cli_query_words_may_start_with_a_dash(
    cli: Cli,
    cli_common: list[str],
    capsys: pytest.CaptureFixture[str],
    words: list[str],
    title: str,
) -> None:
    common = cli_common
    # Lexical mode loads no model; hybrid (which does, per command) once is enough.
    for mode in ["lexical", "hybrid"] if words[0] == "-观摩" else ["lexical"]:
        assert cli(["search", *words, *common, "--mode", mode, "--json", "--per-article"]) == 0
        body = json.loads(capsys.readouterr().out)
        assert [hit["title"] for hit in body["results"]] == [title], (words, mode)
        # The same as the words given as one argument after ``--``.
        assert (
            cli(
                [
                    "search",
                    *common,
                    "--mode",
                    mode,
                    "--json",
                    "--per-article",
                    "--",
                    " ".join(words),
                ]
            )
            == 0
        )
        joined = json.loads(capsys.readouterr().out)
        assert [h["passage_id"] for h in joined["results"]] == [
            h["passage_id"] for h in body["results"]
        ]


def test_cli_dash_arguments_that_are_not_query_words(
    cli: Cli, cli_common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    common = [*cli_common, "--mode", "lexical"]  # no model to load
    cases = [
        (["-观摩", *common], "only exclusions"),
        (["数字", "--idnex", "x", *common], "unrecognized option '--idnex'"),
        (["-kitten", "数字", *common], "a query word starting with -k goes after --"),
        ([*common], "the query is empty"),
    ]
    for argv, message in cases:
        assert cli(["search", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("semsearch: error:") and err.count("\n") == 1, err
        assert message in err, err
    # Other commands still refuse arguments they do not know.
    assert cli(["info", *cli_common, "-x"]) == 2
    assert "unrecognized arguments: -x" in capsys.readouterr().err
    assert cli(["search", "数字", *common, "--facets", "colour"]) == 2
    assert "unknown facet" in capsys.readouterr().err
