"""Lexical analyzers: bigrams, the analyzer a collection records, and upgrading old ones."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tantivy import Occur, Query

from semsearch.embedder.errors import InputError
from semsearch.index import Collection, CollectionError, SnippetStyle, lexical, store
from semsearch.index._engine import SCHEMA, Engine
from tests.fakes import FakeEmbedder, make_article

# jieba keeps the name 毛晓彤 whole, so its given name 晓彤 alone matches only as a bigram.
NAME_TEXT = "毛晓彤回家后迅速收拾行李"
NAME_QUERY = "晓彤"


def _articles() -> list:
    return [
        make_article("n1", [NAME_TEXT], title="演员连夜离开"),
        make_article("n2", ["北京大学生命科学学院在南京大桥边举行开放日"], title="开放日"),
        make_article("n3", ["The mayor visited 3 companies"], title="Mayor"),
    ]


def _indexed(path: Path, article_id: str, term: str) -> bool:
    """Whether the lexical engine holds ``term`` in the text of the article's passages."""
    conn = sqlite3.connect(path / store.DATABASE_NAME)
    try:
        name = store.read_meta(conn).engine_dir
    finally:
        conn.close()
    engine = Engine(path / str(name))
    searcher, _ = engine.searcher()
    query = Query.boolean_query(
        [
            (Occur.Must, Query.term_query(SCHEMA, "text", term)),
            (Occur.Must, Query.term_query(SCHEMA, "article", article_id)),
        ]
    )
    return searcher.search(query, 1).count > 0


def _forget_analyzer(path: Path) -> None:
    """Make the collection look like one built before analyzers were recorded."""
    conn = sqlite3.connect(path / store.DATABASE_NAME)
    with conn:
        store.write_meta(conn, analyzer=None)
    conn.close()


def test_bigrams_follow_runs_of_chinese_characters() -> None:
    assert lexical.bigrams("传 统产业") == ["传统", "统产", "产业"]  # the column gap is joined
    assert lexical.bigrams("AI芯片2023年，我") == ["芯片"]  # lone characters give none
    assert lexical.bigrams("no chinese here") == []


def test_query_terms_put_words_first_and_drop_repeats() -> None:
    words = lexical.analyzer("jieba").query_terms("北京大学的学生")
    both = lexical.analyzer("jieba+bigrams").query_terms("北京大学的学生")
    assert both[: len(words)] == words
    assert "京大" in both and "学的" in both and len(both) == len(set(both))
    assert "京大" not in words


def test_unknown_analyzer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown lexical analyzer 'ngram'"):
        Collection.create(tmp_path / "c", FakeEmbedder(), analyzer="ngram")
    with pytest.raises(ValueError, match="this semsearch knows"):
        lexical.analyzer("ngram")


def test_new_collections_index_bigrams(tmp_path: Path) -> None:
    with Collection.create(tmp_path / "c", FakeEmbedder()) as coll:
        coll.upsert(_articles())
        assert coll.info().lexical_analyzer == lexical.DEFAULT_ANALYZER == "jieba+bigrams+fold"
        hits = coll.search(NAME_QUERY, mode="lexical").results
        assert [h.article_id for h in hits] == ["n1"]
        # Snippets mark the query's words, not its bigrams (京大 would light up 南京大桥).
        style = SnippetStyle(pre="[", post="]")
        snippet = coll.search("北京大学", mode="lexical", snippet_style=style).results[0].snippet
        assert "[北京大学]" in snippet and "南京大桥" in snippet
    assert _indexed(tmp_path / "c", "n1", "晓彤")


def test_legacy_collection_keeps_its_analyzer_until_reanalyzed(tmp_path: Path) -> None:
    path = tmp_path / "c"
    with Collection.create(path, FakeEmbedder(), analyzer="jieba") as coll:
        coll.upsert(_articles()[:1])
    _forget_analyzer(path)
    with Collection.open(path, FakeEmbedder()) as coll:
        assert coll.info().lexical_analyzer == "jieba"
        # Queries are analysed like the index was: no bigram, so the given name is not found.
        assert coll.search(NAME_QUERY, mode="lexical").results == []
        assert coll.search("毛晓彤", mode="lexical").results[0].article_id == "n1"
        # New articles are indexed the collection's way too.
        coll.upsert(_articles()[1:])
        assert not _indexed(path, "n2", "京大")
        before = coll.info()
        assert coll.reanalyze() == before.passages
        after = coll.info()
        assert after.lexical_analyzer == "jieba+bigrams+fold"
        assert (after.articles, after.passages) == (before.articles, before.passages)
        assert [h.article_id for h in coll.search(NAME_QUERY, mode="lexical").results] == ["n1"]
        assert _indexed(path, "n2", "京大")
        # Vectors are untouched: dense search answers as before.
        assert coll.search("mayor", mode="dense").results
    with Collection.open(path, FakeEmbedder(), read_only=True) as again:
        assert again.info().lexical_analyzer == "jieba+bigrams+fold"
        assert again.check().ok


def test_reanalyze_back_to_words_only(tmp_path: Path) -> None:
    path = tmp_path / "c"
    with Collection.create(path, FakeEmbedder()) as coll:
        coll.upsert(_articles())
        assert coll.reanalyze("jieba") == 3
        assert coll.search(NAME_QUERY, mode="lexical").results == []
        with pytest.raises(InputError, match="unknown lexical analyzer"):
            coll.reanalyze("ngram")
        assert coll.info().lexical_analyzer == "jieba"
    assert not _indexed(path, "n1", "晓彤")


def test_collection_from_a_newer_analyzer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c"
    Collection.create(path, FakeEmbedder()).close()
    conn = sqlite3.connect(path / store.DATABASE_NAME)
    with conn:
        store.write_meta(conn, analyzer="ngram-v9")
    conn.close()
    with pytest.raises(CollectionError, match="unknown lexical analyzer 'ngram-v9'"):
        Collection.open(path, FakeEmbedder(), read_only=True)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("项目項經济經濟发展發展传统傳統产业 \u3000\n\t，。“”AIai2023年㐀丨\uf900")),
        max_size=40,
    )
)
def test_covered_pairs_are_always_bigrams(text: str) -> None:
    """The engine leaves a pair out of its pair field only where the bigrams hold it."""
    analyzer = lexical.analyzer("jieba+bigrams+fold")
    terms = set(analyzer.index_terms(text))
    tokens = lexical.exact_tokens(text)
    for first, second in itertools.pairwise(tokens):
        if analyzer.covers_pair(first, second):
            assert first + second in terms, (text, first, second)


def test_only_folding_bigram_analyzers_cover_pairs() -> None:
    assert lexical.analyzer("jieba+bigrams+fold").covers_pair("项", "目")
    assert not lexical.analyzer("jieba+bigrams").covers_pair("项", "目")
    assert not lexical.analyzer("jieba").covers_pair("项", "目")
    assert not lexical.analyzer("jieba+bigrams+fold").covers_pair("ai", "项")
