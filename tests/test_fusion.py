"""Hybrid fusion: hand-made rankings for the rule's parts, and the real model end to end."""

from __future__ import annotations

import statistics

import pytest

from semsearch.embedder.embedder import Embedder
from semsearch.index import Collection
from semsearch.index.fusion import (
    DEFAULT_FUSION,
    FusionParams,
    fuse,
    lexical_weight,
    normaliser,
)
from semsearch.index.lexical import ScriptProfile
from semsearch.service.evaluation import evaluate, load_beir
from tests.helpers.paths import shared_path

PASSAGE_MINMAX = FusionParams(per_article=False, normalisation="minmax", norm_depth=1000)
CHINESE = ScriptProfile(cjk=100, latin=0)
ENGLISH = ScriptProfile(cjk=0, latin=100)


def _ids(ranked: list) -> list[int]:
    return [f.id for f in ranked]


@pytest.mark.parametrize("params", [DEFAULT_FUSION, PASSAGE_MINMAX])
def test_zero_weight_is_exactly_the_dense_order(params: FusionParams) -> None:
    dense = [(3, 0.9), (1, 0.8), (2, 0.7), (4, 0.1)]
    lexical = [(4, 30.0), (2, 20.0), (9, 10.0)]
    articles = {1: "a", 2: "b", 3: "c", 4: "d", 9: "e"}
    assert _ids(fuse(dense, lexical, 0.0, params=params)) == [3, 1, 2, 4]
    assert _ids(fuse(dense, lexical, 0.0, params=params, article_of=articles)) == [3, 1, 2, 4]


def test_per_article_fusion_adds_an_articles_best_passages() -> None:
    # Article A: passage 1 is the best dense match, passage 2 the best lexical match.
    # Article B: passage 3 is second on both. Per passage, B's one passage wins; per
    # article, A has the best score on both sides and must come first.
    dense = [(1, 0.90), (3, 0.85), (2, 0.60), (5, 0.50)]
    lexical = [(2, 20.0), (3, 18.0), (1, 5.0), (5, 4.0)]
    articles = {1: "A", 2: "A", 3: "B", 5: "C"}
    per_passage = fuse(dense, lexical, 0.5, params=FusionParams(per_article=False))
    assert per_passage[0].id == 3
    per_article = fuse(dense, lexical, 0.5, article_of=articles)
    heads = list(dict.fromkeys(articles[f.id] for f in per_article))
    assert heads == ["A", "B", "C"]
    # A's head carries the article's best score of each side; its other passage follows
    # after every head, so collapsing still counts it.
    assert per_article[0].dense == 0.90 and per_article[0].lexical == 20.0
    assert _ids(per_article)[3:] == [2] or _ids(per_article)[3:] == [1]
    assert len(per_article) == 4


def test_lead_passage_counts_towards_an_articles_dense_score() -> None:
    # A's best passage (1) edges out B's (3), but A's first passage (0) is off topic while
    # B's first passage is the match itself: with the lead term B comes first.
    dense = [(1, 0.80), (3, 0.79), (5, 0.50), (6, 0.40)]
    lexical = [(1, 10.0), (3, 10.0), (5, 2.0), (6, 1.0)]
    articles = {1: "A", 3: "B", 5: "C", 6: "D"}
    lead = {"A": 0.50, "B": 0.79, "C": 0.50, "D": 0.40}
    heads = [articles[f.id] for f in fuse(dense, lexical, 0.5, article_of=articles, lead=lead)]
    assert heads[:2] == ["B", "A"]
    no_lead = FusionParams(lead_weight=0.0)
    heads = [articles[f.id] for f in fuse(dense, lexical, 0.5, params=no_lead, article_of=articles, lead=lead)]
    assert heads[:2] == ["A", "B"]
    # An article without a known lead is scored by its best passage alone.
    heads = [articles[f.id] for f in fuse(dense, lexical, 0.5, article_of=articles, lead={"B": 0.79})]
    assert heads[:2] == ["A", "B"]
    # The head still shows the best passage's own cosine.
    top = fuse(dense, lexical, 0.5, article_of=articles, lead=lead)[0]
    assert (top.id, top.dense) == (3, 0.79)


def test_zscore_keeps_a_standout_lexical_match_standing_out() -> None:
    # Passage 7 is an exact lexical match far above the rest; dense barely separates.
    dense = [(1, 0.84), (2, 0.83), (7, 0.80), (3, 0.79), (4, 0.78)]
    lexical = [(7, 40.0), (1, 9.0), (2, 8.5), (3, 8.0), (4, 7.5)]
    zscored = fuse(dense, lexical, 0.5, params=FusionParams(per_article=False))
    assert zscored[0].id == 7
    # Min-max squeezes dense's small lead into the full [0, 1] range and loses it.
    assert fuse(dense, lexical, 0.3, params=PASSAGE_MINMAX)[0].id == 1


def test_a_side_that_missed_a_candidate_ranks_it_below_what_it_found() -> None:
    dense = [(1, 0.8), (2, 0.8), (3, 0.2)]
    lexical = [(1, 5.0), (3, 1.0)]
    ranked = fuse(dense, lexical, 0.5, params=FusionParams(per_article=False))
    assert _ids(ranked).index(1) < _ids(ranked).index(2)
    assert next(f for f in ranked if f.id == 2).lexical is None


def test_normaliser_is_fitted_on_the_top_candidates_only() -> None:
    params = FusionParams(norm_depth=3)
    scale = normaliser([10.0, 9.0, 8.0, -100.0, -200.0], params)
    assert scale(9.0) == pytest.approx(0.0)
    assert scale(10.0) == pytest.approx(-scale(8.0))
    flat = normaliser([1.0, 1.0], FusionParams(normalisation="minmax"))
    assert flat(1.0) == 1.0


def test_lexical_weight_follows_script_and_coverage() -> None:
    frequencies = {"数字": 3, "经济": 5, "缺失": 0}
    full = lexical_weight(["数字", "经济"], frequencies, 100, CHINESE, CHINESE)
    assert full.weight == pytest.approx(DEFAULT_FUSION.lexical_weight)
    assert lexical_weight(["digital"], {"digital": 3}, 100, ENGLISH, CHINESE).weight == 0.0
    assert lexical_weight(["缺失"], frequencies, 100, CHINESE, CHINESE).weight == 0.0
    ramp = FusionParams(coverage_full=0.6)
    half = lexical_weight(["数字", "缺失"], frequencies, 100, CHINESE, CHINESE, params=ramp)
    assert 0.0 < half.weight < ramp.lexical_weight
    assert lexical_weight([], {}, 100, CHINESE, CHINESE).weight == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"normalisation": "rank"}, {"lexical_weight": 1.5}, {"norm_depth": 1}, {"lead_weight": -0.1}],
)
def test_bad_params_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FusionParams(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the real model


@pytest.mark.slow
def test_seed_hybrid_collapsed_is_one_hit_per_article_and_english_is_dense(seed_collection: Collection) -> None:
    hybrid = seed_collection.search("数字经济 核心产业", k=5, collapse=True)
    articles = [h.article_id for h in hybrid.results]
    assert len(articles) == len(set(articles))
    assert hybrid.results[0].title == "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"
    assert hybrid.lexical_weight == pytest.approx(DEFAULT_FUSION.lexical_weight)
    english = "the mayor's visit to digital economy companies"
    fused = seed_collection.search(english, k=5, collapse=True)
    dense = seed_collection.search(english, mode="dense", k=5, collapse=True)
    assert fused.lexical_weight == 0.0
    assert [h.passage_id for h in fused.results] == [h.passage_id for h in dense.results]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sohu2021_dd_retrieval", "sohu2021_dc_retrieval"])
def test_sohu_hybrid_beats_both_sides_on_real_queries(real_embedder: Embedder, name: str) -> None:
    # dd: short news against short news; dc: against long articles cut into passages.
    folder = shared_path("eval", name)
    report = evaluate(load_beir(folder, limit=120), real_embedder)
    ndcg = {r.mode: r.metrics["ndcg@10"] for r in report.results}
    assert ndcg["hybrid"] > max(ndcg["dense"], ndcg["lexical"])
    assert statistics.fmean(ndcg.values()) > 0.8


def test_zero_weight_is_the_dense_ranking_with_cosines() -> None:
    dense = [(3, 0.81), (1, 0.79), (2, 0.42)]
    lexical = [(2, 12.0), (9, 8.0)]
    for article_of in (None, {1: "a", 2: "b", 3: "c", 9: "d"}):
        fused = fuse(dense, lexical, 0.0, article_of=article_of)
        assert [(f.id, f.score) for f in fused] == dense
        assert all(f.lexical is None for f in fused)
