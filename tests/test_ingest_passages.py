"""Sentence splitting and the token-budget chunker (fast counter and the real tokenizer)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest

from semsearch.embedder.ingest import build_article, cut_passages, iter_articles, split_sentences
from semsearch.embedder.records import Article

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "samples" / "zhengzhou-evening-news-2023-04-20.txt"
PASSAGE_PREFIX = "passage: "
SPECIAL_TOKENS = 2  # a fast stand-in for <s> ... </s>


def char_tokens(texts: Sequence[str]) -> list[int]:
    return [len(text) + SPECIAL_TOKENS for text in texts]


def _article(*paragraphs: str) -> Article:
    return build_article(title="T", lines=list(paragraphs), article_id="art")


def _check_offsets(article: Article, passages: Sequence[object]) -> None:
    for passage in passages:
        assert article.text[passage.start : passage.end] == passage.text  # type: ignore[attr-defined]


def test_split_sentences_both_widths() -> None:
    text = "第一句。第二句！“第三句？”第四句；Fifth one. Sixth!最后"
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "第一句。",
        "第二句！",
        "“第三句？”",
        "第四句；",
        "Fifth one.",
        "Sixth!",
        "最后",
    ]
    assert split_sentences("价格3.5元。") == [(0, 7)]


def test_normal_paragraph_is_one_passage() -> None:
    article = _article("第一段。很短。", "第二段也短。")
    passages = cut_passages(article, count_tokens=char_tokens, max_tokens=50)
    assert [(p.paragraph_index, p.text) for p in passages] == [
        (0, "第一段。很短。"),
        (1, "第二段也短。"),
    ]
    assert [p.ordinal for p in passages] == [0, 1]
    assert [p.key for p in passages] == ["art#0", "art#1"]
    _check_offsets(article, passages)


def test_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentences = [f"这是第{n}个句子，内容稍长一些。" for n in range(10)]
    article = _article("".join(sentences), "尾段。")
    passages = cut_passages(article, count_tokens=char_tokens, max_tokens=40)
    first_paragraph = [p for p in passages if p.paragraph_index == 0]
    assert len(first_paragraph) > 1
    assert "".join(p.text for p in first_paragraph) == article.paragraphs[0].text
    for passage in passages:
        assert char_tokens([passage.text])[0] <= 40
        assert passage.text.endswith("。")
    _check_offsets(article, passages)


def test_overlap_repeats_sentences() -> None:
    sentences = [f"句子{n}号。" for n in range(12)]
    article = _article("".join(sentences))
    passages = cut_passages(article, count_tokens=char_tokens, max_tokens=20, overlap_sentences=1)
    assert len(passages) > 2
    for before, after in itertools.pairwise(passages):
        last_sentence = before.text[before.text.rstrip("。").rfind("。") + 1 :]
        assert after.text.startswith(last_sentence)
        assert after.start < before.end
    assert passages[-1].text.endswith("句子11号。")


def test_sentence_longer_than_budget_is_cut_at_clauses_then_hard() -> None:
    clauses = "，".join(f"第{n}分句内容" for n in range(20)) + "。"
    run_on = "无标点长串" * 30
    article = _article(clauses, run_on)
    passages = cut_passages(article, count_tokens=char_tokens, max_tokens=30)
    assert all(char_tokens([p.text])[0] <= 30 for p in passages)
    assert "".join(p.text for p in passages if p.paragraph_index == 1) == run_on
    _check_offsets(article, passages)


def test_budget_without_room_is_an_error() -> None:
    with pytest.raises(ValueError, match="no room"):
        cut_passages(_article("正文。"), count_tokens=char_tokens, max_tokens=2)


def test_non_additive_counter_is_verified() -> None:
    # A counter that charges extra for every sentence seam: greedy estimates overshoot.
    def seam_tokens(texts: Sequence[str]) -> list[int]:
        return [len(t) + 2 + 3 * max(t.count("。") - 1, 0) for t in texts]

    article = _article("".join(f"句{n}。" for n in range(30)))
    passages = cut_passages(article, count_tokens=seam_tokens, max_tokens=16)
    assert all(seam_tokens([p.text])[0] <= 16 for p in passages)
    assert "".join(p.text for p in passages) == article.text


def test_seed_passages_cover_every_paragraph() -> None:
    for article in iter_articles([SEED]):
        passages = cut_passages(article, count_tokens=char_tokens, max_tokens=512)
        assert [p.paragraph_index for p in passages] == list(range(len(article.paragraphs)))
        _check_offsets(article, passages)


@pytest.mark.slow
def test_real_tokenizer_budget(model_dir: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))

    def count(texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in tokenizer.encode_batch([PASSAGE_PREFIX + t for t in texts])]

    articles = list(iter_articles([SEED]))
    for article in articles:
        whole = cut_passages(article, count_tokens=count, max_tokens=512)
        assert len(whole) == len(article.paragraphs)  # each news paragraph fits 512
    longest = max((p for a in articles for p in a.paragraphs), key=lambda p: len(p.text))
    article = next(a for a in articles if longest in a.paragraphs)
    budget = count([longest.text])[0] // 2
    small = [
        p
        for p in cut_passages(article, count_tokens=count, max_tokens=budget)
        if p.paragraph_index == longest.index
    ]
    assert len(small) >= 2
    assert all(n <= budget for n in count([p.text for p in small]))
    assert "".join(p.text for p in small) == longest.text
