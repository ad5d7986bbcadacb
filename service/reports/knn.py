"""Batched FAISS k-nearest-neighbour search and the best passage pair behind a match.

Exact inner-product search up to :data:`EXACT_MAX_VECTORS` base vectors (a BLAS matrix
product per batch), an IVF index above that; queries go in batches so memory stays at
one ``batch x k`` result plus the base vectors, never ``n x n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import faiss as _faiss
import numpy as np
from tqdm import tqdm

faiss: Any = _faiss  # the bundled stubs miss much of the SWIG API

# Exact search of 100k 384-d vectors against themselves takes about a minute on 2 cores;
# beyond this, IVF (recall ~0.97 at the nprobe below) keeps large jobs in minutes.
EXACT_MAX_VECTORS = 200_000
IVF_LISTS_PER_SQRT = 4
IVF_NPROBE = 24
IVF_TRAIN_POINTS = 100_000
TRAIN_SEED = 1234
# Queries per FAISS call: bounds the result buffers and paces the progress bar.
QUERY_BATCH = 4096


@dataclass(frozen=True)
class Neighbours:
    """Result of a k-NN search: ``ids[i, j]`` is the j-th neighbour of query i (-1: none)."""

    scores: np.ndarray  # (nq, k) float32, best first
    ids: np.ndarray  # (nq, k) int64 row numbers into the base matrix


def build_index(base: np.ndarray, *, exact_max: int = EXACT_MAX_VECTORS) -> Any:
    """An inner-product FAISS index over ``base`` rows (ids are row numbers).

    Args:
        base: ``(n, d)`` float32, L2-normalised.
        exact_max: Most rows searched exactly (default :data:`EXACT_MAX_VECTORS`).

    Returns:
        A flat index, or IVF-flat above ``exact_max`` rows.
    """
    base = np.ascontiguousarray(base, dtype=np.float32)
    n, d = base.shape
    if n <= exact_max:
        index = faiss.IndexFlatIP(d)
    else:
        nlist = int(IVF_LISTS_PER_SQRT * math.sqrt(n))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()
        rng = np.random.default_rng(TRAIN_SEED)
        sample = base[rng.choice(n, min(n, IVF_TRAIN_POINTS), replace=False)]
        index.train(sample)
        index.nprobe = IVF_NPROBE
    index.add(base)
    return index


def search(
    index: Any,
    queries: np.ndarray,
    k: int,
    *,
    exclude_self: bool = False,
    progress: bool = False,
    desc: str = "neighbours",
    batch_size: int = QUERY_BATCH,
) -> Neighbours:
    """Top-``k`` neighbours of each query row, in batches with a progress bar.

    Args:
        index: From :func:`build_index`.
        queries: ``(nq, d)`` float32, L2-normalised.
        k: Neighbours wanted per query.
        exclude_self: Queries are the base rows themselves: drop row ``i`` from query
            ``i``'s list (one extra neighbour is fetched to make room).
        progress: Show a progress bar.
        desc: Progress bar label.
        batch_size: Queries per FAISS call (default :data:`QUERY_BATCH`).

    Returns:
        Scores and row ids, ``(nq, k)``, padded with -1 / -inf.
    """
    nq = len(queries)
    k = max(0, min(k, int(index.ntotal) - (1 if exclude_self else 0)))
    scores = np.full((nq, k), -np.inf, dtype=np.float32)
    ids = -np.ones((nq, k), dtype=np.int64)
    if k == 0 or nq == 0:
        return Neighbours(scores, ids)
    fetch = k + 1 if exclude_self else k
    with tqdm(total=nq, unit="item", desc=desc, disable=not progress) as bar:
        for start in range(0, nq, batch_size):
            batch = np.ascontiguousarray(queries[start : start + batch_size], dtype=np.float32)
            got_scores, got_ids = index.search(batch, fetch)
            if exclude_self:
                rows = np.arange(start, start + len(batch))[:, None]
                # Drop self (and keep order); a row without self in its list loses its last.
                keep = got_ids != rows
                keep[keep.sum(axis=1) > k, -1] = False
                got_scores = got_scores[keep].reshape(len(batch), k)
                got_ids = got_ids[keep].reshape(len(batch), k)
            scores[start : start + len(batch)] = got_scores
            ids[start : start + len(batch)] = got_ids
            bar.update(len(batch))
    ids[~np.isfinite(scores) | (ids < 0)] = -1
    return Neighbours(scores, ids)


def best_passage_pair(left: np.ndarray, right: np.ndarray) -> tuple[int, int, float]:
    """The most similar pair of passages between two articles.

    Args:
        left: Passage vectors of one article, ``(m, d)``.
        right: Passage vectors of the other, ``(n, d)``.

    Returns:
        ``(row in left, row in right, cosine)``.
    """
    sims = left @ right.T
    flat = int(np.argmax(sims))
    i, j = divmod(flat, sims.shape[1])
    return i, j, float(sims[i, j])
