"""Calibrating the duplicate threshold on labelled news pairs (SOHU 2021 same-event pairs).

Each text of a pair goes through the ingest pipeline of a JSONL record (cleaning, paragraphs,
passages within the model's token budget), is embedded passage by passage and averaged,
exactly as an ingested article's vector is built for reports. The pair score is the cosine
of the two article vectors after centring on the news centroid (``centroid``); label 5
(same event) is the positive class.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.ingest import prepare_articles
from semsearch.service.reports.centroid import centre, news_centroid

SAME_EVENT_LABEL = 5
# SOHU texts carry no line breaks; runs of spaces are where the paragraphs were.
_PARAGRAPH_GAP = re.compile(r"\s{2,}")
_EPS = 1e-12


@dataclass(frozen=True)
class LabelledPairs:
    """Text pairs with graded labels and the set each came from."""

    left: list[str]
    right: list[str]
    labels: np.ndarray  # int
    sets: list[str]


@dataclass(frozen=True)
class Quality:
    """Binary detection quality at one threshold, plus the threshold-free ROC AUC."""

    threshold: float
    precision: float
    recall: float
    f1: float
    auc: float
    positives: int
    pairs: int


def load_pairs(paths: Sequence[Path]) -> LabelledPairs:
    """Read ``{"sentence1","sentence2","label"}`` JSONL files.

    Args:
        paths: Pair files.

    Returns:
        All pairs, in file order.
    """
    left: list[str] = []
    right: list[str] = []
    labels: list[int] = []
    sets: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    left.append(str(row["sentence1"]))
                    right.append(str(row["sentence2"]))
                    labels.append(int(row["label"]))
                    sets.append(path.stem)
    return LabelledPairs(left, right, np.asarray(labels, dtype=np.int64), sets)


def text_vectors(embedder: TextEmbedder, texts: Sequence[str]) -> np.ndarray:
    """Article vectors of raw texts: ingest as records, cut, embed, mean, re-normalise.

    Args:
        embedder: The model.
        texts: Raw article texts.

    Returns:
        ``(len(texts), dimension)`` float32, L2-normalised.
    """
    owners: list[int] = []
    passages: list[str] = []
    # Ids by position: a text that two pairs share is still read once per pair.
    records = ({"id": str(n), "text": _PARAGRAPH_GAP.sub("\n", t)} for n, t in enumerate(texts))
    for article, cut in prepare_articles(records, embedder, label="pairs"):
        for passage in cut:
            owners.append(int(article.id))
            passages.append(passage.text)
    vectors = embedder.embed_passages(passages)
    sums = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    np.add.at(sums, np.asarray(owners, dtype=np.int64), vectors)
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), _EPS)


def pair_scores(
    embedder: TextEmbedder, pairs: LabelledPairs, *, centred: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Same-event score of each pair: cosine of the article vectors, centred as in reports.

    Args:
        embedder: The model.
        pairs: The pairs.
        centred: Subtract the news centroid first (what ``duplicates`` does).

    Returns:
        ``(scores, mean)``: ``(n_pairs,)`` scores, and the mean vector of all the texts
        (the centroid this sample gives, to compare with the shipped one).
    """
    vectors = text_vectors(embedder, [*pairs.left, *pairs.right])
    mean = vectors.mean(axis=0)
    if centred:
        vectors = centre(vectors, news_centroid(embedder.fingerprint, vectors))
    n = len(pairs.left)
    return np.einsum("ij,ij->i", vectors[:n], vectors[n:]), mean


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half).

    Args:
        scores: Higher means more likely positive.
        positive: Boolean labels.

    Returns:
        AUC in ``[0, 1]`` (0.5 when one class is empty).
    """
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mean_rank = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, counts)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def quality_at(scores: np.ndarray, positive: np.ndarray, threshold: float) -> Quality:
    """Precision, recall and F1 of ``score >= threshold`` as the positive decision.

    Args:
        scores: Pair scores.
        positive: Boolean labels.
        threshold: Decision threshold.

    Returns:
        The quality figures.
    """
    decided = scores >= threshold
    tp = int((decided & positive).sum())
    precision = tp / max(int(decided.sum()), 1)
    recall = tp / max(int(positive.sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, _EPS)
    return Quality(
        threshold=float(threshold),
        precision=precision,
        recall=recall,
        f1=f1,
        auc=roc_auc(scores, positive),
        positives=int(positive.sum()),
        pairs=len(scores),
    )


def best_f1_threshold(scores: np.ndarray, positive: np.ndarray) -> Quality:
    """The threshold maximising F1, placed midway between two adjacent observed scores.

    Args:
        scores: Pair scores.
        positive: Boolean labels.

    Returns:
        Quality at the best threshold.
    """
    values = np.unique(scores)
    cuts = (values[:-1] + values[1:]) / 2.0 if len(values) > 1 else values
    best = max((quality_at(scores, positive, float(c)) for c in cuts), key=lambda q: q.f1)
    return best
