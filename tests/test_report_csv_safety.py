"""CSV reports are safe to open in a spreadsheet: no cell from the input is a live formula.

Issue 16 item 2. Hostile titles, ids and queries go through every report kind; the CSV is
read back with the ``csv`` module, as a spreadsheet's importer would see it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedder.ingest import IngestOptions
from semsearch.index import Collection
from semsearch.service.reports import (
    duplicates_report,
    load_corpus,
    load_other,
    match_report,
    queries_report,
    read_queries,
    related_report,
    write_report,
)
from semsearch.service.reports.model import Report
from semsearch.service.reports.writers import FORMULA_STARTS, csv_cell
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.cli import Cli

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1"]
OTHER = ["The weather in London was rainy today.", "Football results from the weekend."]
BODY = ["郑州市举行重大项目观摩活动，市领导分别带队观摩。", "安伟强调要立足改造提升传统产业。"]
# Columns that hold numbers the report computed; every other column holds text.
NUMERIC = {"rank", "score", "event_score", "passage_score", "duplicate", "passage_id"}
NUMERIC |= {"neighbor_passage_id", "group_id", "group_size", "best_match_score"}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _assert_inert(rows: list[dict[str, str]]) -> None:
    assert rows
    for row in rows:
        for column, cell in row.items():
            if column in NUMERIC and cell:
                float(cell)  # a plain number, never text
            else:
                assert not cell.startswith(FORMULA_STARTS), (column, cell)


def test_csv_cell_neutralises_text_and_keeps_numbers() -> None:
    assert [csv_cell(t) for t in HOSTILE] == ["'" + t for t in HOSTILE]
    assert csv_cell("\t=1") == "'\t=1" and csv_cell("\r=1") == "'\r=1"
    assert csv_cell("-5") == "'-5"  # text that looks like a number stays text
    assert csv_cell(-0.25) == -0.25 and csv_cell(-3) == -3
    assert (csv_cell(None), csv_cell(True), csv_cell("数字经济 -1")) == ("", 1, "数字经济 -1")


def test_negative_scores_stay_numeric_and_hostile_text_is_neutralised(tmp_path: Path) -> None:
    rows = [{"title": t, "score": -0.25 * (i + 1), "rank": i + 1} for i, t in enumerate(HOSTILE)]
    report = Report(
        kind="queries",
        title="t",
        summary={},
        columns=("title", "score", "rank"),
        rows=rows,
        records=[],
        scores=np.array([]),
        score_label="cosine",
    )
    write_report(report, tmp_path / "r.csv")
    back = _read(tmp_path / "r.csv")
    assert [r["title"] for r in back] == ["'" + t for t in HOSTILE]
    assert [float(r["score"]) for r in back] == [-0.25, -0.5, -0.75, -1.0]
    _assert_inert(back)


@pytest.fixture()
def hostile_index(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    items = [
        make_article(f"={i}", BODY, title=title, source="@src") for i, title in enumerate(HOSTILE)
    ]
    # Unlike the others, so that centred (duplicates) scores are not all zero.
    items.append(make_article("l1", OTHER, title="London"))
    with Collection.create(path, FakeEmbedder()) as collection:
        collection.upsert(items)
    return path


def test_every_report_kind_writes_inert_csv(hostile_index: Path, tmp_path: Path) -> None:
    fake = FakeEmbedder()
    corpus = load_corpus(hostile_index, fake)
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        "\n".join(json.dumps({"id": "-q", "text": t}) for t in HOSTILE), encoding="utf-8"
    )
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "+w", "title": HOSTILE[0], "text": "\n".join(BODY)}), encoding="utf-8"
    )
    other = load_other([feed], fake, options=IngestOptions(), progress=False)
    reports = {
        "related": related_report(corpus, k=2, threshold=0.5, progress=False),
        "duplicates": duplicates_report(corpus, threshold=0.5, progress=False),
        "queries": queries_report(corpus, fake, read_queries(queries), k=2, progress=False),
        "match": match_report(corpus, other, k=2, threshold=0.5, progress=False),
    }
    for kind, report in reports.items():
        out = tmp_path / f"{kind}.csv"
        write_report(report, out)
        rows = _read(out)
        assert rows, kind
        _assert_inert(rows)
        titles = {cell for row in rows for col, cell in row.items() if "title" in col}
        assert titles - {"London", ""} <= {"'" + t for t in HOSTILE}, (kind, titles)
        assert titles & {"'" + t for t in HOSTILE}, kind


@pytest.mark.slow
def test_cli_report_over_hostile_titles_with_the_real_model(
    cli: Cli, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "hostile.jsonl"
    records = [
        {"id": f"h{i}", "title": title, "text": "\n".join(BODY), "source": "=src"}
        for i, title in enumerate(HOSTILE)
    ]
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    index = tmp_path / "index"
    common = ["--index", str(index), "--model-dir", str(model_dir), "--json"]
    assert cli(["ingest", str(feed), *common]) == 0
    out = tmp_path / "related.csv"
    assert cli(["report", "related", "-k", "2", "--out", str(out), *common]) == 0
    capsys.readouterr()
    rows = _read(out)
    _assert_inert(rows)
    assert {r["title"] for r in rows} == {"'" + t for t in HOSTILE}
    assert all(0 < float(r["score"]) <= 1.0001 for r in rows)
