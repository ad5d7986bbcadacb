"""The engine's match set against a brute-force scan of every live passage.

Generated collections (both Chinese scripts, OCR spaces inside words, Latin words, dated
and undated articles, replaced and deleted articles, several writes and so several engine
commits and vector segments) answer generated queries (plain words, phrases, ``+must``,
``-exclude``, ``OR``) in every mode; ``total``, ``total_passages``, the facets and the
date order must equal what a scan of the stored passages computes from the definition in
``index/_search.py``.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.index import Collection, IndexConfig, MatchConfig, lexical, parse_query
from tests.fakes import FakeEmbedder, make_article

# Simplified and traditional forms, a word broken by an OCR column space, Latin words.
PIECES = ["经济", "經濟", "项目", "項目", "项 目", "数字", "产业", "城市", "交通", "科技", "人才",
          "mayor", "economy", "2023", "为王", "。", "，"]
QUERIES = [
    "项目", "經濟 项目", '"项目为王"', "+经济 -交通", "科技 OR 人才", '"数字 产业" 城市',
    "mayor economy", "+項目 人才", "-城市 科技", "的",
]
SOURCES = [None, "人民日报", "郑州晚报"]
DATES = [None, "2023-04-19", "2023-04-20", "2023-05-01", "2022-12-31"]
# Low enough that the fake embedder's cosines put some passages above it.
FLOOR = 0.55
MARGIN = MatchConfig().dense_margin
MODES = ("lexical", "dense", "hybrid")

paragraph = st.lists(st.sampled_from(PIECES), min_size=1, max_size=7).map("".join)
article = st.tuples(
    st.integers(0, 7),
    st.lists(paragraph, min_size=1, max_size=3),
    st.sampled_from(SOURCES),
    st.sampled_from(DATES),
    st.sampled_from(["", "城市经济", "項目"]),
)
operation = st.one_of(
    st.tuples(st.just("upsert"), st.lists(article, min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.lists(st.integers(0, 7), min_size=1, max_size=2)),
)


def _holds(text: str, body: str) -> bool:
    needle, hay = lexical.exact_tokens(text), lexical.exact_tokens(body)
    return bool(needle) and any(
        hay[i : i + len(needle)] == needle for i in range(len(hay) - len(needle) + 1)
    )


def _reference(
    live: dict[str, dict], query: str, mode: str, embedder: FakeEmbedder
) -> tuple[set[tuple[str, int]], dict[str, str | None], dict[str, str | None]]:
    """Matching (article, ordinal) pairs by the definition, with each article's date and source."""
    parsed = parse_query(query)
    passages = [
        (aid, i, text, a["title"]) for aid, a in live.items() for i, text in enumerate(a["paras"])
    ]

    def held(text: str, body: str, title: str) -> bool:
        return _holds(text, body) or _holds(text, title)

    excluded = {
        aid for aid, _, body, title in passages if any(held(t, body, title) for t in parsed.excluded)
    }
    allowed = [
        p for p in passages
        if p[0] not in excluded
        and all(any(held(t, p[2], p[3]) for t in clause) for clause in parsed.required)
    ]
    if parsed.constrained and not parsed.words:
        chosen = allowed
    else:
        keywords = lexical.query_terms(" ".join(parsed.words))
        lexical_set = [p for p in allowed if keywords and all(held(k, p[2], p[3]) for k in keywords)]
        dense_set = []
        if allowed:
            query_vector = embedder.embed_queries([parsed.text])[0]
            cosines = embedder.embed_passages([p[2] for p in allowed]) @ query_vector
            edge = min(FLOOR, float(cosines.max()) - MARGIN)
            dense_set = [p for p, c in zip(allowed, cosines, strict=True) if c >= edge]
        chosen = {"lexical": lexical_set, "dense": dense_set, "hybrid": lexical_set + dense_set}[mode]
    matched = {(aid, i) for aid, i, _, _ in chosen}
    return matched, {a: live[a]["date"] for a in live}, {a: live[a]["source"] for a in live}


def _check(coll: Collection, live: dict[str, dict], embedder: FakeEmbedder) -> None:
    for query in QUERIES:
        for mode in MODES:
            response = coll.search(
                query, mode=mode, k=200, collapse=True, sort="date-desc",
                facets=["source", "year", "month"],
            )
            matched, dates, sources = _reference(live, query, mode, embedder)
            articles = {aid for aid, _ in matched}
            where = f"{query!r} {mode}"
            assert response.total_relation == "eq", where
            assert (response.total, response.total_passages) == (len(articles), len(matched)), where
            assert {h.article_id for h in response.results} == articles, where
            shown = [dates[h.article_id] for h in response.results]
            dated = [d for d in shown if d]
            assert shown == dated + [None] * (len(shown) - len(dated)), where
            assert dated == sorted(dated, reverse=True), where
            assert all(h.matched_passages == sum(1 for a, _ in matched if a == h.article_id) - 1
                       for h in response.results), where
            facets = response.facets or {}
            expected_sources = Counter(sources[a] for a in articles if sources[a])
            assert {v["value"]: v["count"] for v in facets["source"]} == expected_sources, where
            expected_months = Counter(str(dates[a])[:7] for a in articles if dates[a])
            assert {v["value"]: v["count"] for v in facets["month"]} == expected_months, where
            expected_years = Counter(str(dates[a])[:4] for a in articles if dates[a])
            assert {v["value"]: v["count"] for v in facets["year"]} == expected_years, where


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=5))
def test_match_set_counts_facets_and_date_order_match_a_scan(ops: list) -> None:
    embedder = FakeEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        coll = Collection.create(
            Path(tmp) / "c", embedder, kind="flat", config=IndexConfig(match=MatchConfig(dense_floor=FLOOR))
        )
        live: dict[str, dict] = {}
        try:
            for op, payload in ops:
                if op == "upsert":
                    batch = {}
                    for number, paras, source, date, title in payload:
                        aid = f"a{number}"
                        batch[aid] = {"paras": paras, "source": source, "date": date,
                                      "title": title or f"t{number}"}
                    coll.upsert(
                        make_article(aid, a["paras"], title=a["title"], date=a["date"],
                                     source=a["source"])
                        for aid, a in batch.items()
                    )
                    live.update(batch)
                else:
                    coll.delete([f"a{n}" for n in payload])
                    for n in payload:
                        live.pop(f"a{n}", None)
            _check(coll, live, embedder)
        finally:
            coll.close()


def test_counting_above_the_limit_is_an_estimate(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    config = IndexConfig(match=MatchConfig(count_limit=5))
    coll = Collection.create(tmp_path / "c", embedder, kind="flat", config=config)
    with coll:
        coll.upsert(make_article(f"a{i}", ["项目 经济", "项目"], source="s") for i in range(8))
        response = coll.search("项目", mode="lexical", count=True, facets=["source"])
        assert response.total_relation == "approx"
        assert response.total_passages == 16
        # HyperLogLog is exact at this size; the relation says it need not be.
        assert response.total == 8
        assert response.facets == {"source": [{"value": "s", "count": 8}]}
        dated = coll.search("项目", mode="lexical", sort="date-desc", collapse=True, k=3)
        assert len(dated.results) == 3 and len({h.article_id for h in dated.results}) == 3


@pytest.mark.parametrize("mode", MODES)
def test_one_word_counts_every_article_holding_it(tmp_path: Path, mode: str) -> None:
    """Issue 25: 项目 in both articles counted 1 in lexical mode and 0 in dense mode."""
    coll = Collection.create(tmp_path / "c", FakeEmbedder(), kind="flat")
    with coll:
        coll.upsert([
            make_article("x", ["2023年全市重大项目观摩活动举行"]),
            make_article("y", ["何雄调研数字经济", "以项目支撑产业发展"]),
            make_article("z", ["交通"]),
        ])
        response = coll.search("项目", mode=mode, count=True)
        if mode == "dense":
            # The best hit is always a match, however low a one-word query's cosines are.
            assert response.total is not None and response.total >= 1
            assert response.total_relation == "eq"
        else:
            assert (response.total, response.total_passages) == (2, 2)
    assert np.isfinite(response.took_ms)
