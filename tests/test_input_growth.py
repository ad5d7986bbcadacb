"""Inputs whose cost once grew quadratically (issue 26, items 3 and 4) now grow linearly.

Many one-character lines once made the whole text the title, and every passage's lexical
row carried it again: 12 KB of text gave a 201 MB collection. Sizes here are bytes on disk
and counts, not timings, so the tests hold on a loaded machine.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import (
    UNTITLED_TITLE_CHARS,
    IngestOptions,
    build_article,
    cut_passages,
    iter_articles,
    prepare_articles,
)
from semsearch.embedder.layout import LayoutBlock, LayoutLine
from semsearch.embedder.records import Article, Paragraph, Passage
from semsearch.embedder.settings import MAX_TITLE_CHARS_CEILING
from semsearch.index import Collection
from tests.fakes import FakeEmbedder

from . import pages

CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会"


def _collection_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _ingest(source: Path, index: Path) -> tuple[list[Article], int]:
    embedder = FakeEmbedder()
    items = list(prepare_articles([source], embedder))
    with Collection.create(index, embedder) as collection:
        collection.upsert(items)
    return [article for article, _ in items], _collection_bytes(index)


def _short_lines(path: Path, count: int) -> Path:
    rng = random.Random(count)
    path.write_text("\n".join(rng.choice(CHARS) for _ in range(count)) + "\n", encoding="utf-8")
    return path


def _tiny_blocks_alto(path: Path, count: int) -> Path:
    rng = random.Random(count)
    blocks = [
        LayoutBlock(lines=[LayoutLine(rng.choice(CHARS), 1, (x, y, x + 10, y + 10))])
        for x, y in ((rng.uniform(0, 1990), rng.uniform(0, 1990)) for _ in range(count))
    ]
    return pages.write_alto(blocks, path, width=2000, height=2000)


@pytest.mark.parametrize("make", [_short_lines, _tiny_blocks_alto], ids=["txt", "alto"])
def test_many_short_lines_give_a_short_title_and_a_linear_collection(
    make: object, tmp_path: Path
) -> None:
    suffix = ".txt" if make is _short_lines else ".alto.xml"
    sizes = []
    for count in (1500, 3000):
        source = make(tmp_path / f"in{count}{suffix}", count)  # type: ignore[operator]
        articles, size = _ingest(source, tmp_path / f"index{count}")
        assert all(len(a.title) <= UNTITLED_TITLE_CHARS for a in articles)
        sizes.append(size)
    # Before: 145 MB for 3,000 lines, four times the 1,500-line collection.
    assert sizes[1] < 8_000_000 and sizes[1] < 2.5 * sizes[0]


def test_an_untitled_title_is_cut_within_its_first_paragraph() -> None:
    from semsearch.embedder.ingest import untitled_title

    assert untitled_title("第一句。第二句。", 100) == "第一句。"
    assert untitled_title("甲\n\n乙", 100) == "甲"
    assert untitled_title("字" * 500, 100) == "字" * 100
    assert untitled_title("word " * 100, 30) == ("word " * 6).strip()


def test_a_title_over_the_ceiling_is_refused_on_every_path(tmp_path: Path) -> None:
    text = "正文。"
    article = Article(
        id="a",
        title="题" * (MAX_TITLE_CHARS_CEILING + 1),
        text=text,
        paragraphs=[Paragraph(index=0, text=text, start=0, end=len(text))],
    )
    passage = Passage(article_id="a", ordinal=0, paragraph_index=0, start=0, end=3, text=text)
    with Collection.create(tmp_path / "index", FakeEmbedder()) as collection:
        with pytest.raises(InputError, match="title of 10001 characters"):
            collection.upsert([(article, [passage])])
        assert collection.counts() == (0, 0)
    with pytest.raises(InputError, match="max_title_chars must be at most"):
        IngestOptions(max_title_chars=MAX_TITLE_CHARS_CEILING + 1)


def test_an_untitled_title_keeps_a_lower_title_limit(tmp_path: Path) -> None:
    body = LayoutBlock(lines=[LayoutLine("无标点的正文内容" * 20, 1, (10, 80, 900, 95))])
    alto = pages.write_alto([body], tmp_path / "p.alto.xml", width=1000, height=200)
    (article,) = iter_articles([alto], options=IngestOptions(max_title_chars=50))
    assert article.title == ("无标点的正文内容" * 20)[:50]


def test_cutting_unpunctuated_text_counts_each_character_a_bounded_number_of_times() -> None:
    # Item 4: the hard cut of a run without punctuation bisected over the whole rest of
    # the text, so the tokenizer counted a piece as long as that rest for every passage
    # (80k characters: 2,365 calls, 3.7 of 4.1 s): quadratic. The characters handed to
    # the counter measure the work whatever the tokenizer's speed.
    counted: list[int] = []

    def count_tokens(texts: Sequence[str]) -> list[int]:
        counted.append(sum(len(text) for text in texts))
        return [len(text) + 2 for text in texts]  # one token a character, plus <s> </s>

    work = {}
    for length in (20_000, 80_000):
        counted.clear()
        article = build_article(title="T", lines=["字" * length], article_id="a")
        passages = cut_passages(article, count_tokens=count_tokens, max_tokens=512)
        assert "".join(p.text for p in passages) == article.text
        assert all(len(p.text) <= 510 for p in passages)
        work[length] = sum(counted)
    # Linear: four times the text, about four times the work (quadratic was sixteen), and
    # each character is counted a few dozen times at most (a bisection's probes).
    assert work[80_000] < 5 * work[20_000]
    assert work[80_000] < 30 * 80_000
