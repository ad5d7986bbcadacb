"""``semsearch index backup`` / ``index restore`` end to end with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import Cli
from tests.helpers.paths import SEED

pytestmark = pytest.mark.slow

QUERIES = ("数字经济", "major project inspection")


def _top10(
    cli: Cli,
    capsys: pytest.CaptureFixture[str],
    index: Path,
    model_dir: Path,
    *extra: str,
    queries: tuple[str, ...] = QUERIES,
) -> list[list]:
    """Top-10 (passage id, score) of each query, through ``semsearch search --json``."""
    return [
        [
            (hit["passage_id"], round(hit["score"], 5))
            for hit in cli.search_json(capsys, index, model_dir, query, *extra)["results"]
        ]
        for query in queries
    ]


def test_backup_and_restore_through_the_cli(
    cli: Cli, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, backup, restored = tmp_path / "src", tmp_path / "backup", tmp_path / "restored"
    common = ("--model-dir", str(model_dir))
    assert cli.run(capsys, "ingest", str(SEED), "--index", str(src), *common)[0] == 0
    expected = _top10(cli, capsys, src, model_dir)
    lexical = _top10(cli, capsys, src, model_dir, "--mode", "lexical", queries=QUERIES[:1])
    assert all(expected) and all(lexical)

    code, out, _ = cli.run(capsys, "index", "backup", str(backup), "--index", str(src), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["path"] == str(backup) and report["articles"] == 2

    # The source moves on after the backup; the backup answers as the source did.
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps(
            {"id": "x1", "title": "数字经济新闻", "text": "数字经济 发展 迅速，数字技术赋能产业。"}
        )
        + "\n",
        encoding="utf-8",
    )
    assert cli.run(capsys, "ingest", str(extra), "--index", str(src), *common)[0] == 0
    assert _top10(cli, capsys, src, model_dir, queries=QUERIES[:1]) != expected[:1]

    code, out, _ = cli.run(capsys, "index", "restore", str(backup), str(restored))
    assert code == 0 and out.startswith("restored ") and f"generation {report['generation']}" in out
    for copy in (backup, restored):
        assert cli.run(capsys, "index", "check", "--index", str(copy)) == (0, "ok\n", "")
        assert _top10(cli, capsys, copy, model_dir) == expected

    # Refusals: one line on stderr, exit 2, nothing changed.
    for argv in (
        ("index", "backup", str(backup), "--index", str(src)),
        ("index", "restore", str(backup), str(restored)),
        ("index", "restore", str(tmp_path), str(tmp_path / "elsewhere")),
    ):
        code, out, err = cli.run(capsys, *argv)
        assert (
            code == 2
            and out == ""
            and err.startswith("semsearch: error: ")
            and err.count("\n") == 1
        )
    assert not (tmp_path / "elsewhere").exists()
    assert _top10(cli, capsys, restored, model_dir, "--mode", "lexical", queries=QUERIES[:1]) == lexical
