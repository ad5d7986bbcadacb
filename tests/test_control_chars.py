"""Terminal escapes and control characters: dropped at ingest, never printed by the CLI.

Issue 16 item 10: a title ``\\x1b[2J`` (clear screen) was stored and printed raw.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from semsearch.embedder.cleaning import clean_heading, clean_text, strip_controls
from semsearch.embedder.ingest import iter_articles
from semsearch.embedder.records import Article
from semsearch.service.terminal import printable, printable_marked
from tests.helpers.api import API_KEY, build_index, make_client
from tests.helpers.cli import Cli

# Clear screen, red, OSC window title, OSC 8 hyperlink, bell, backspace, NUL, DEL, C1 CSI.
ESCAPES = [
    "\x1b[2J",
    "\x1b[31m",
    "\x1b]0;owned\x07",
    "\x1b]8;;http://evil/\x1b\\",
    "\x07",
    "\x08",
    "\x00",
    "\x7f",
    "\x9b2J",
]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what may never be stored or printed


def hostile(text: str, escapes: list[str] = ESCAPES) -> str:
    """``text`` with every escape spliced in after its first character."""
    return text[:1] + "".join(escapes) + text[1:] + "\x1b[0m"


def hostile_file_text(text: str) -> str:
    """Like :func:`hostile` without NUL: raw text files with NUL are refused as binary."""
    return hostile(text, [e for e in ESCAPES if e != "\x00"])


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def _assert_clean(article: Article) -> None:
    fields = asdict(article)
    fields.pop("original")  # the input as read, kept for reference, never shown
    fields.pop("id")  # kept as given: a key (issue 16 item 6 decides what ids may hold)
    bad = [s for s in _strings(fields) if CONTROL.search(s)]
    assert bad == []


def test_strip_controls_drops_whole_sequences_and_keeps_text() -> None:
    assert strip_controls(hostile("数字经济")) == "数字经济"
    assert strip_controls("a\tb\nc") == "a\tb\nc"  # whitespace is the cleaning's business
    assert clean_heading(hostile("重大项目 观摩")) == "重大项目 观摩"
    assert clean_text(hostile("改造提升传 统产业")) == "改造提升传统产业"


def test_printable_leaves_no_control_and_keeps_the_highlight_marks() -> None:
    assert printable(hostile("title") + "\rover\nline") == "title over line"
    bold = ("\x1b[1m", "\x1b[0m")
    # Only the exact marks survive (a stored "\x1b[1m" would too: bold, harmless).
    snippet = "a" + bold[0] + "h\x1b[2J\x07it" + bold[1] + "\x1b]0;owned\x07\r"
    assert printable_marked(snippet, bold) == "a\x1b[1mhit\x1b[0m "  # CR: a space


def test_every_ingest_path_drops_control_characters(tmp_path: Path) -> None:
    record = {
        "id": "c1",
        "title": hostile("重大项目观摩"),
        "text": hostile("郑州市举行重大项目观摩活动。") + "\n" + hostile("市领导分别带队。"),
        "source": hostile("郑州晚报"),
        "section": hostile("要闻"),
        "url": hostile("https://example.com/c1"),
        "author": hostile("张昕"),
        "page": hostile("A02"),
        "tags": [hostile("经济"), {hostile("k"): hostile("v")}],
    }
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    table = tmp_path / "r.csv"
    with table.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "title", "text", "source"])
        writer.writeheader()
        row = {"id": "c3", "title": hostile_file_text("标题"), "source": "\x1b[2J郑州晚报"}
        writer.writerow(row | {"text": hostile_file_text("郑州市举行重大项目观摩活动。")})
    page = tmp_path / "zzwb-2023-04-20.txt"
    page.write_text(
        hostile_file_text("2023年全市重大项目观摩活动举行")
        + "\n\n"
        + hostile_file_text("本报讯 观摩活动举行。"),
        encoding="utf-8",
    )
    articles = list(iter_articles([jsonl, table, page, dict(record, id="c2")]))
    assert len(articles) == 4
    for article in articles:
        _assert_clean(article)
    first = articles[0]
    assert (first.title, first.source, first.url) == (
        "重大项目观摩",
        "郑州晚报",
        "https://example.com/c1",
    )
    assert first.metadata["tags"] == ["经济", {"k": "v"}]


def test_post_articles_stores_no_control_characters(tmp_path: Path) -> None:
    client, runtime = make_client(build_index(tmp_path / "index"))
    record = {"id": "c1", "title": hostile("标题"), "text": hostile("数字经济发展。")}
    record |= {"source": hostile("来源"), "page": hostile("A02")}
    with client:
        response = client.post(
            "/articles", json={"articles": [record]}, headers={"X-API-Key": API_KEY}
        )
        assert response.status_code == 200, response.text
        stored = client.get("/articles/c1").json()
    runtime.close()
    assert (stored["title"], stored["source"]) == ("标题", "来源")
    assert [s for s in _strings(stored) if CONTROL.search(s)] == []


@pytest.mark.slow
def test_cli_search_prints_no_escape_from_new_or_old_collections(
    cli: Cli, tmp_path: Path, model_dir: Path, real_embedder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from semsearch.index import Collection

    from .fakes import make_article

    body = "郑州市举行重大项目观摩活动，市领导分别带队观摩。"
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"id": "new", "title": hostile("新标题"), "text": body, "source": "\x1b[2J"}),
        encoding="utf-8",
    )
    index = tmp_path / "index"
    common = ["--index", str(index), "--model-dir", str(model_dir)]
    assert cli(["ingest", str(feed), *common, "--json"]) == 0
    # A collection written before ingest dropped controls: stored as they came (ids with
    # control characters are refused by every write path now, so only the fields carry them).
    old = make_article("old", [hostile(body)], title=hostile("旧标题"), source="\x07src")
    with Collection.open(index, real_embedder) as collection:
        collection.upsert([old])
    capsys.readouterr()
    assert cli(["search", "重大项目观摩", *common, "-k", "5"]) == 0
    out = capsys.readouterr().out
    assert "新标题" in out and "旧标题" in out
    assert CONTROL.search(out) is None, repr(out)
    code = cli(["similar", "--article", "missing\x1b[2J", *common])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "\x1b" not in err
