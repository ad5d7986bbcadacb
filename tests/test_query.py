"""Query syntax, match set, facets and date order on generated data (fake embedder, fast)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from semsearch.index import Collection, Filters, QuerySyntaxError, parse_query
from semsearch.index.query import QUOTES
from tests.fakes import FakeEmbedder, make_article

FILLER = ["城市", "交通", "教育", "医疗", "文化", "旅游", "农业", "工业", "科技", "环境"]
SOURCES = ["郑州晚报", "河南日报", "大河报"]
MONTHS = ["2023-01", "2023-02", "2023-03", "2024-01"]


def _filler(rng: random.Random, n: int) -> str:
    return "，".join(rng.choice(FILLER) + rng.choice(FILLER) for _ in range(n))


def _articles() -> tuple[list[Any], dict[str, set[str]]]:
    """Generated articles and, per planted text, the ids of the articles holding it."""
    rng = random.Random(14)
    truth: dict[str, set[str]] = {"phrase": set(), "split": set(), "digital": set(), "cloud": set()}
    articles = []
    for i in range(60):
        aid = f"g{i:02d}"
        paragraphs = [_filler(rng, 6), _filler(rng, 6)]
        kind = i % 6
        if kind == 0:  # the phrase as printed
            paragraphs[1] += "，牢固树立“项目为王”理念"
            truth["phrase"].add(aid)
        elif kind == 1:  # the phrase with an OCR column-break space inside
            paragraphs[0] += "，树牢“项目为 王”的导向"
            truth["phrase"].add(aid)
        elif kind == 2:  # the same characters, not in order: must not match the phrase
            paragraphs[0] += "，重点项目，为王者之道"
            truth["split"].add(aid)
        elif kind == 3:
            paragraphs[1] += "，发展数字经济"
            truth["digital"].add(aid)
        if i % 4 == 0:
            paragraphs[0] += "，推进云计算"
            truth["cloud"].add(aid)
        month = MONTHS[i % len(MONTHS)]
        articles.append(
            make_article(
                aid,
                paragraphs,
                title=f"报道{i}",
                date=f"{month}-{1 + i % 28:02d}",
                source=SOURCES[i % len(SOURCES)],
                section="要闻" if i % 2 else "经济",
                metadata={"page": 1 + i % 3},
            )
        )
    return articles, truth


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Collection, Any]]:
    articles, truth = _articles()
    coll = Collection.create(tmp_path_factory.mktemp("q") / "c", FakeEmbedder())
    coll.upsert(articles)
    yield coll, (articles, truth)
    coll.close()


def _article_ids(coll: Collection, query: str, mode: str, **kw: Any) -> set[str]:
    response = coll.search(query, mode=mode, k=1000, collapse=True, **kw)
    return {hit.article_id for hit in response.results}


# ---------------------------------------------------------------------- parser


def test_parser_splits_words_phrases_musts_exclusions_and_or() -> None:
    parsed = parse_query('数字经济 "项目 为王" +观摩 -招商 -"营商 环境" 云计算 OR 区块链')
    assert parsed.words == ("数字经济", "云计算", "区块链")
    assert parsed.required == (("项目为王",), ("观摩",))
    assert parsed.excluded == ("招商", "营商环境")
    assert parsed.text == "数字经济 项目为王 观摩 云计算 区块链"
    assert parse_query('"a b" OR +c').required == (("a b", "c"),)
    assert parse_query("“项目为王”").required == (("项目为王",),)


def test_plain_query_is_left_as_typed() -> None:
    parsed = parse_query("数字经济  核心产业")
    assert parsed.text == "数字经济  核心产业" and not parsed.constrained
    # Evaluation sentences keep their quotes as text.
    assert parse_query('他说"好"', syntax=False).text == '他说"好"'


PASTED = "他指出，重大项目是经济发展的“压舱石"


@pytest.mark.parametrize(
    ("query", "words", "required", "notes"),
    [
        # Pasted news text: the opening quote stays in the text searched.
        (PASTED, (PASTED,), (), ("unbalanced quote “ read as text",)),
        ("压舱石”", ("压舱石”",), (), ("unbalanced quote ” read as text",)),
        ("压舱石」的作用", ("压舱石」的作用",), (), ("unbalanced quote 」 read as text",)),
        ('"', ('"',), (), ('unbalanced quote " read as text',)),
        ('"项目为王', ('"项目为王',), (), ('unbalanced quote " read as text',)),
        ('数字 " 经济', ("数字", '"', "经济"), (), ('unbalanced quote " read as text',)),
        # Mixed kinds do not pair: “ is closed by ” only.
        (
            "“项目为王\"",
            ("“项目为王\"",),
            (),
            ("unbalanced quote “ read as text", 'unbalanced quote " read as text'),
        ),
        # An inner curly quote that nothing closes: the outer one opens no phrase either.
        ("“他说“好”", ("“他说",), (("好",),), ("unbalanced quote “ read as text",)),
        # The first straight pair is a phrase; the third quote is text.
        ('"a "b "c', ("b", '"c'), (("a",),), ('unbalanced quote " read as text',)),
        ('""', ('""',), (), ('empty phrase "" read as text',)),
        ("数字 “ ” 经济", ("数字", "“", "”", "经济"), (), ("empty phrase “” read as text",)),
        ("+ 观摩", ("+", "观摩"), (), ("lone + read as text",)),
        ("数字经济 - 核心产业", ("数字经济", "-", "核心产业"), (), ("lone - read as text",)),
        ('观摩 -"', ("观摩", '-"'), (), ('unbalanced quote " read as text', "lone - read as text")),
        ("OR 观摩", ("OR", "观摩"), (), ("OR without a word or a phrase on each side read as a word",)),
        ("观摩 OR", ("观摩", "OR"), (), ("OR without a word or a phrase on each side read as a word",)),
    ],
)
def test_pasted_text_is_read_leniently(
    query: str, words: tuple[str, ...], required: tuple[tuple[str, ...], ...], notes: tuple[str, ...]
) -> None:
    parsed = parse_query(query)
    assert parsed.words == words
    assert parsed.required == required
    assert parsed.notes == notes
    assert not parsed.excluded
    if not required:
        # Nothing but text: the ranking (and the embedder) see the query as typed.
        assert parsed.text == query


@pytest.mark.parametrize(
    ("query", "phrase"),
    [
        ('"他说“好”"', "他说“好”"),  # curly quotes inside a straight-quoted phrase
        ('"经济发展的“压舱石"', "经济发展的“压舱石"),  # ... even unbalanced ones
        ("“他说\"好\"”", '他说"好"'),  # straight quotes inside a curly phrase
        ("“他说“好”呀”", "他说“好”呀"),  # curly quotes nest
        ("「他说“好”」", "他说“好”"),
        ("“重大 项目”", "重大项目"),
    ],
)
def test_quotes_inside_a_phrase_are_part_of_it(query: str, phrase: str) -> None:
    parsed = parse_query(query)
    assert parsed.required == ((phrase,),) and parsed.phrases == (phrase,)
    assert parsed.notes == () and parsed.words == ()


def test_or_next_to_an_exclusion_is_a_word() -> None:
    parsed = parse_query("观摩 OR -招商")
    assert parsed.words == ("观摩", "OR") and parsed.excluded == ("招商",)
    assert parsed.notes == ("OR next to an exclusion read as a word",)


def test_describe_gives_the_public_shape() -> None:
    parsed = parse_query('数字经济 "项目 为王" +观摩 -招商 -"营商 环境" “压舱石')
    assert parsed.describe() == {
        "text": "数字经济 项目为王 观摩 “压舱石",
        "words": ["数字经济", "“压舱石"],
        "phrases": ["项目为王", "营商环境"],
        "required": [["项目为王"], ["观摩"]],
        "excluded": ["招商", "营商环境"],
        "notes": ["unbalanced quote “ read as text"],
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("-招商", "only exclusions"),
        ('-"营商环境" -招商', "only exclusions"),
        ("-“压舱石", "only exclusions"),  # the stray quote is text of the exclusion
        ("", "empty"),
        (" \t", "empty"),
    ],
)
def test_queries_without_a_reading_are_rejected(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(query)


OR_WORD = "OR"
_SYNTAX = set(QUOTES) | set(QUOTES.values()) | {"+", "-"}
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4)
# Syntax characters and OR often enough that quotes pair, nest and stray.
_PIECES = st.one_of(_TEXT, st.sampled_from([*sorted(_SYNTAX), f" {OR_WORD} ", " ", "项目"]))


@given(st.lists(_PIECES, max_size=16).map("".join))
def test_parser_raises_only_syntax_errors(query: str) -> None:
    try:
        parsed = parse_query(query)
    except QuerySyntaxError:
        return
    # Every part read is a piece of the query; nothing ranks that was excluded alone.
    assert parsed.text.strip()
    assert all(word in query for word in parsed.words)


@given(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters=_SYNTAX))
    .filter(lambda q: q.strip() and OR_WORD not in q.split())
)
def test_query_without_syntax_parses_to_itself(query: str) -> None:
    parsed = parse_query(query)
    assert parsed.text == query and parsed.words == tuple(query.split())
    assert not parsed.constrained and not parsed.notes and not parsed.phrases


# ---------------------------------------------------------------------- constraints


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_phrase_matches_in_order_across_ocr_spaces(generated: Any, mode: str) -> None:
    coll, (_, truth) = generated
    assert _article_ids(coll, '"项目为王"', mode) == truth["phrase"]
    # The characters out of order (项目，为王) are no match.
    assert not _article_ids(coll, '"项目为王"', mode) & truth["split"]


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_phrase_applies_before_the_top_k_cut(generated: Any, mode: str) -> None:
    coll, (_, truth) = generated
    # Free text that ranks other articles first must not push the phrase's articles out.
    response = coll.search('交通 城市 教育 "项目为王"', mode=mode, k=5, collapse=True)
    assert len(response.results) == 5
    assert {h.article_id for h in response.results} <= truth["phrase"]
    assert all("<mark>项目为" in h.snippet for h in response.results)


@pytest.mark.parametrize("sort", ["relevance", "date-desc"])
@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_without_snippets_the_same_page_has_empty_snippets(
    generated: Any, mode: str, sort: str
) -> None:
    coll, _ = generated
    options: dict[str, Any] = {"mode": mode, "k": 8, "collapse": True, "sort": sort}
    shown = coll.search('"数字经济"', **options)
    bare = coll.search('"数字经济"', **options, snippets=False)
    assert len(shown.results) == 8 and all("<mark>" in h.snippet for h in shown.results)
    assert [h.snippet for h in bare.results] == [""] * 8
    assert [replace(h, snippet="") for h in shown.results] == bare.results


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_must_exclude_and_or(generated: Any, mode: str) -> None:
    coll, (articles, truth) = generated
    everyone = {a.id for a, _ in articles}
    assert _article_ids(coll, "+数字经济 城市", mode) == truth["digital"]
    assert _article_ids(coll, '"项目为王" -云计算', mode) == truth["phrase"] - truth["cloud"]
    assert _article_ids(coll, '"项目为王" -"云 计算"', mode) == truth["phrase"] - truth["cloud"]
    assert (
        _article_ids(coll, '"项目为王" OR +数字经济', mode)
        == truth["phrase"] | truth["digital"]
    )
    assert _article_ids(coll, '+云计算 -"项目为王" -数字经济', mode) == (
        truth["cloud"] - truth["phrase"] - truth["digital"]
    )
    assert _article_ids(coll, "+云计算", mode) <= everyone


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_pasted_sentence_with_unbalanced_quote_searches(generated: Any, mode: str) -> None:
    coll, (_, truth) = generated
    # Pasted from a 项目为王 article, its closing quote left behind: ranking, no constraint.
    response = coll.search("牢固树立“项目为王", mode=mode, k=5, collapse=True, count=True)
    assert response.results and response.parsed is not None
    assert response.parsed.notes == ("unbalanced quote “ read as text",)
    assert response.to_dict()["parsed"]["words"] == ["牢固树立“项目为王"]
    if mode == "lexical":
        assert response.results[0].article_id in truth["phrase"]


def test_constraints_and_filters_combine(generated: Any) -> None:
    coll, (articles, truth) = generated
    source = {a.id: a.source for a, _ in articles}
    found = _article_ids(coll, '"项目为王"', "hybrid", filters=Filters(sources=["郑州晚报"]))
    assert found == {a for a in truth["phrase"] if source[a] == "郑州晚报"}


def test_phrase_only_query_is_ranked(generated: Any) -> None:
    coll, _ = generated
    response = coll.search('"项目为王"', mode="hybrid", k=20, collapse=True)
    scores = [h.score for h in response.results]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1


# ---------------------------------------------------------------------- counts and facets


def test_total_and_facets_count_the_whole_match_set(generated: Any) -> None:
    coll, (articles, truth) = generated
    by_id = {a.id: a for a, _ in articles}
    response = coll.search(
        '"项目为王"', mode="lexical", k=2, facets=["source", "month", "year", "meta.page"]
    )
    assert len(response.results) == 2
    assert response.total == len(truth["phrase"])
    assert response.total_passages == len(truth["phrase"])  # one holding passage each
    assert response.facets is not None
    expected_sources = Counter(by_id[a].source for a in truth["phrase"])
    assert {v["value"]: v["count"] for v in response.facets["source"]} == expected_sources
    months = [v["value"] for v in response.facets["month"]]
    assert months == sorted(months)
    assert sum(v["count"] for v in response.facets["month"]) == len(truth["phrase"])
    assert {v["value"]: v["count"] for v in response.facets["year"]} == Counter(
        by_id[a].date[:4] for a in truth["phrase"]
    )
    assert {v["value"]: v["count"] for v in response.facets["meta.page"]} == Counter(
        by_id[a].metadata["page"] for a in truth["phrase"]
    )


def test_unknown_facet_is_an_input_error(generated: Any) -> None:
    coll, _ = generated
    with pytest.raises(Exception, match="unknown facet"):
        coll.search("城市", facets=["colour"])
    with pytest.raises(Exception, match="unknown facet"):
        coll.search("城市", facets=["meta.x')"])


# ---------------------------------------------------------------------- date order


@pytest.mark.parametrize("sort", ["date-desc", "date-asc"])
@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_date_order_lists_the_match_set(generated: Any, sort: str, mode: str) -> None:
    coll, (articles, truth) = generated
    dates = {a.id: a.date for a, _ in articles}
    first = coll.search('"项目为王"', mode=mode, k=4, collapse=True, sort=sort)
    rest = coll.search('"项目为王"', mode=mode, k=100, offset=4, collapse=True, sort=sort)
    hits = first.results + rest.results
    assert {h.article_id for h in hits} == truth["phrase"]
    listed = [dates[h.article_id] for h in hits]
    assert listed == sorted(listed, reverse=sort == "date-desc")
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert first.total == len(truth["phrase"])


def test_bad_sort_is_an_input_error(generated: Any) -> None:
    coll, _ = generated
    with pytest.raises(Exception, match="unknown sort"):
        coll.search("城市", sort="newest")


def test_deleted_articles_leave_the_match_set(tmp_path: Path) -> None:
    articles, truth = _articles()
    with Collection.create(tmp_path / "c", FakeEmbedder()) as coll:
        coll.upsert(articles)
        gone = sorted(truth["phrase"])[:3]
        coll.delete(gone)
        response = coll.search('"项目为王"', mode="hybrid", k=100, collapse=True, count=True)
        assert {h.article_id for h in response.results} == truth["phrase"] - set(gone)
        assert response.total == len(truth["phrase"]) - 3


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_phrase_found_nowhere_gives_an_empty_counted_page(generated: Any, mode: str) -> None:
    coll, _ = generated
    for sort in ("relevance", "date-desc"):
        response = coll.search('"不存在的短语"', mode=mode, sort=sort, facets=["month"])
        assert response.results == [] and response.total == 0
        assert response.facets == {"month": []}
