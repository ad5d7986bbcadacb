"""``semsearch report entities`` with the fake embedder and a dictionary tagger: counts per
month and pairs in CSV, JSONL and HTML, formula cells neutralised, markup escaped."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from semsearch.index import Collection
from tests.fake_tagger import TEST_NAMES, fake_extractor
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.cli import fake_cli

FORMULA = "=HYPERLINK(1)"
MARKUP = "<img src=x onerror=alert(1)>"


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    names = {**TEST_NAMES, FORMULA: "ORG", MARKUP: "PER"}
    path = tmp_path / "index"
    with Collection.create(path, FakeEmbedder(), entities=fake_extractor(names)) as collection:
        collection.upsert(
            [
                make_article("a1", ["何雄 到 巩义市", f"{FORMULA} 与 {MARKUP}"], date="2023-04-18"),
                make_article("a2", ["何雄 观摩 巩义市 项目"], date="2023-05-19"),
                make_article("a3", ["何雄 发言", f"{MARKUP} 出席"], date="2023-05-20"),
                make_article("a4", ["巩义市 天气"]),
            ]
        )
    return path


def _report(index: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    cli = fake_cli(FakeEmbedder())
    code, stdout, err = cli.run(
        capsys, "report", "entities", "--index", str(index), "--out", str(out), "--json", *extra
    )
    assert code == 0, err
    return dict(json.loads(stdout))


def test_csv_counts_per_month_and_pairs_with_formula_cells_neutralised(
    index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _report(index, tmp_path / "e.csv", capsys)
    assert summary["pairs"] == 2 and summary["months"] == 2
    with (tmp_path / "e.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    months = {(r["name"], r["month"]): int(r["articles"]) for r in rows if r["table"] == "month"}
    assert months[("何雄", "2023-04")] == 1 and months[("何雄", "2023-05")] == 2
    assert months[("巩义市", "")] == 1  # the undated article
    pairs = {(r["name"], r["other_name"]): int(r["articles"]) for r in rows if r["table"] == "pair"}
    # At least two articles by default: 何雄 with 巩义市 (a1, a2) and with the markup name
    # (a1, a3); each pair once, the lower (type, name) first.
    assert pairs == {("何雄", "巩义市"): 2, (MARKUP, "何雄"): 2}
    formula_rows = [r for r in rows if FORMULA in r["name"]]
    assert formula_rows and all(r["name"] == "'" + FORMULA for r in formula_rows)


def test_jsonl_and_html(index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _report(index, tmp_path / "e.jsonl", capsys, "--types", "person", "--min-pair", "1")
    records = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()]
    first = records[0]
    assert first == {
        "record": "entity", "type": "person", "name": "何雄", "printed": "何雄",
        "articles": 3, "mentions": 3, "months": {"2023-04": 1, "2023-05": 2},
    }  # fmt: skip
    assert {r["type"] for r in records} == {"person"}
    assert [r for r in records if r["record"] == "pair"] == [
        {"record": "pair", "type": "person", "name": MARKUP, "other_type": "person",
         "other_name": "何雄", "articles": 2}
    ]  # fmt: skip
    _report(index, tmp_path / "e.html", capsys)
    page = (tmp_path / "e.html").read_text(encoding="utf-8")
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Named together" in page and "何雄" in page


@pytest.mark.parametrize(
    "extra", [["--types", "people"], ["--types", ","], ["--min-pair", "0"], ["extra-input"]]
)
def test_bad_options_exit_2(
    index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    cli = fake_cli(FakeEmbedder())
    out = tmp_path / "e.csv"
    code, _, err = cli.run(capsys, "report", "entities", *extra, "--index", str(index), "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
