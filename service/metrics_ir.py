"""Ranking metrics for retrieval evaluation, computed by ``pytrec_eval`` (trec_eval's code).

Rankings are given as ordered id lists; this module turns them into the scored runs
trec_eval expects and fills in what trec_eval leaves out, so the figures mean what BEIR
and the literature mean:

- trec_eval sorts a run by score and breaks ties by document id, not by the order given,
  so each ranking is scored strictly decreasing by rank.
- A query with an empty ranking is absent from trec_eval's output; it scores 0 here, so
  a system cannot gain by returning nothing.
- nDCG uses graded gains (the qrels score, linear, as trec_eval); recall and MRR count any
  score > 0 as relevant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytrec_eval

Qrels = Mapping[str, Mapping[str, int]]
Rankings = Mapping[str, Sequence[str]]

# The cutoffs of the reported metrics besides the main one (k).
RECALL_DEEP = 100


def metric_names(k: int = 10) -> tuple[str, str, str, str]:
    """Report keys for cutoff ``k``: ``ndcg@k``, ``recall@k``, ``recall@100``, ``mrr@k``.

    Args:
        k: The main cutoff.

    Returns:
        The four names, in report order.
    """
    return (f"ndcg@{k}", f"recall@{k}", f"recall@{RECALL_DEEP}", f"mrr@{k}")


def relevant_queries(qrels: Qrels) -> list[str]:
    """Queries with at least one relevant (score > 0) document: the ones that are scored.

    Args:
        qrels: Query id -> document id -> graded relevance.

    Returns:
        Their ids, in qrels order.
    """
    return [qid for qid, judged in qrels.items() if any(v > 0 for v in judged.values())]


def _as_run(rankings: Rankings, queries: Sequence[str], depth: int) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for qid in queries:
        ranked = list(dict.fromkeys(rankings.get(qid, ())))[:depth]
        if ranked:
            # Strictly decreasing scores: trec_eval must keep our order, not sort ties by id.
            run[qid] = {doc: float(len(ranked) - rank) for rank, doc in enumerate(ranked)}
    return run


def per_query_scores(qrels: Qrels, rankings: Rankings, k: int = 10) -> dict[str, dict[str, float]]:
    """Score each judged query.

    Args:
        qrels: Query id -> document id -> graded relevance (> 0 relevant).
        rankings: Query id -> document ids, best first (duplicates keep their first place).
        k: Cutoff of nDCG, the first recall and MRR.

    Returns:
        Query id -> metric name (see :func:`metric_names`) -> value, for every query with a
        relevant document; queries without a ranking score 0.

    Raises:
        ValueError: ``k`` is below 1.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    queries = relevant_queries(qrels)
    ndcg, recall_k, recall_deep, mrr = metric_names(k)
    judged = {qid: {doc: int(v) for doc, v in qrels[qid].items()} for qid in queries}
    scores = {qid: dict.fromkeys(metric_names(k), 0.0) for qid in queries}
    if not judged:
        return scores
    depth = max(k, RECALL_DEEP)
    full = pytrec_eval.RelevanceEvaluator(
        judged, {f"ndcg_cut.{k}", f"recall.{k}", f"recall.{RECALL_DEEP}"}
    ).evaluate(_as_run(rankings, queries, depth))
    # trec_eval's recip_rank has no cutoff: MRR@k is recip_rank over the top k only.
    top = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(
        _as_run(rankings, queries, k)
    )
    for qid, values in full.items():
        scores[qid][ndcg] = values[f"ndcg_cut_{k}"]
        scores[qid][recall_k] = values[f"recall_{k}"]
        scores[qid][recall_deep] = values[f"recall_{RECALL_DEEP}"]
    for qid, values in top.items():
        scores[qid][mrr] = values["recip_rank"]
    return scores


def mean_scores(qrels: Qrels, rankings: Rankings, k: int = 10) -> dict[str, float]:
    """Mean of :func:`per_query_scores` over the judged queries.

    Args:
        qrels: Query id -> document id -> graded relevance.
        rankings: Query id -> document ids, best first.
        k: Main cutoff.

    Returns:
        Metric name -> mean (0.0 for every metric when no query is judged).
    """
    scores = per_query_scores(qrels, rankings, k)
    names = metric_names(k)
    if not scores:
        return dict.fromkeys(names, 0.0)
    return {name: sum(s[name] for s in scores.values()) / len(scores) for name in names}
