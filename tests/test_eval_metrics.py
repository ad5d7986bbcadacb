"""Ranking metrics: ``service.metrics_ir`` against hand-computed values and a textbook reference."""

from __future__ import annotations

import math
import random

import pytest

from semsearch.service.metrics_ir import mean_scores, metric_names, per_query_scores

QRELS = {
    "q1": {"d1": 2, "d2": 1, "d3": 0},
    "q2": {"d4": 1},
    "q3": {"d5": 0},  # nothing relevant: not a scored query
}


def _reference(
    judged: dict[str, int], ranking: list[str], k: int
) -> tuple[float, float, float, float]:
    """Textbook definitions: linear-gain nDCG@k, Recall@k, Recall@100, MRR@k."""
    ranking = list(dict.fromkeys(ranking))
    relevant = {d for d, v in judged.items() if v > 0}
    dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((v for v in judged.values() if v > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    recall_k = len(relevant & set(ranking[:k])) / len(relevant)
    recall_100 = len(relevant & set(ranking[:100])) / len(relevant)
    mrr = next((1.0 / (i + 1) for i, d in enumerate(ranking[:k]) if d in relevant), 0.0)
    return dcg / idcg, recall_k, recall_100, mrr


def test_hand_computed_values() -> None:
    scores = per_query_scores(QRELS, {"q1": ["x", "d2", "d1"], "q2": ["d4"]}, k=10)
    assert set(scores) == {"q1", "q2"}
    ideal = 2 + 1 / math.log2(3)
    assert scores["q1"]["ndcg@10"] == pytest.approx((1 / math.log2(3) + 2 / 2) / ideal)
    assert scores["q1"]["mrr@10"] == pytest.approx(0.5)
    assert scores["q1"]["recall@10"] == pytest.approx(1.0)
    assert scores["q2"] == pytest.approx(dict.fromkeys(metric_names(10), 1.0))


def test_given_order_is_kept_not_trec_eval_tie_order() -> None:
    # trec_eval would sort equal scores by document id ("d2" before "d1"); order must win.
    first = per_query_scores({"q": {"d1": 1}}, {"q": ["d1", "d2"]}, k=10)
    assert first["q"]["mrr@10"] == 1.0


def test_cutoffs() -> None:
    ranking = [f"x{i}" for i in range(10)] + ["d1"]
    scores = per_query_scores({"q": {"d1": 1}}, {"q": ranking}, k=10)["q"]
    assert scores["ndcg@10"] == 0.0 and scores["mrr@10"] == 0.0 and scores["recall@10"] == 0.0
    assert scores["recall@100"] == 1.0
    assert per_query_scores({"q": {"d1": 1}}, {"q": ranking}, k=11)["q"]["mrr@11"] == pytest.approx(
        1 / 11
    )


def test_missing_and_empty_rankings_score_zero() -> None:
    means = mean_scores(QRELS, {"q1": [], "q2": ["d4"]}, k=10)
    assert means["ndcg@10"] == pytest.approx(0.5)  # q1 counts as 0, q3 is not judged
    assert mean_scores(QRELS, {}, k=10) == dict.fromkeys(metric_names(10), 0.0)


def test_duplicates_keep_first_place() -> None:
    scores = per_query_scores({"q": {"d1": 1, "d2": 1}}, {"q": ["d1", "d1", "d2"]}, k=2)["q"]
    assert scores["recall@2"] == 1.0


def test_agrees_with_reference_on_random_runs() -> None:
    rng = random.Random(3)
    docs = [f"d{i}" for i in range(150)]
    qrels: dict[str, dict[str, int]] = {}
    rankings: dict[str, list[str]] = {}
    for q in range(40):
        judged = {d: rng.choice([0, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 12))}
        judged[rng.choice(docs)] = rng.randint(1, 3)
        qrels[f"q{q}"] = judged
        rankings[f"q{q}"] = rng.sample(docs, rng.randint(0, 130))
    for k in (1, 5, 10):
        ours = per_query_scores(qrels, rankings, k=k)
        for qid, values in ours.items():
            expected = _reference(qrels[qid], rankings[qid], k)
            assert [values[name] for name in metric_names(k)] == pytest.approx(expected)


def test_rejects_bad_cutoff() -> None:
    with pytest.raises(ValueError):
        per_query_scores(QRELS, {}, k=0)
