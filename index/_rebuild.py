"""Building a fresh vector index over the live passages and measuring its recall@10.

Private: :class:`~index.collection.Collection` rebuilds inside a write when the index
kind changes, HNSW tombstones pile up, or a repair finds the vectors broken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.index import store
from semsearch.index.config import KindPolicy
from semsearch.index.segments import SegmentedVectors
from semsearch.index.store import Connection
from semsearch.index.vectors import VectorIndex

# Passages read (and embedded) per batch while rebuilding the vector or lexical index.
REBUILD_BATCH = 200_000
# Queries sampled from the data to measure recall@10 of a non-exact index.
RECALL_SAMPLE = 200
RECALL_SEED = 7
RECALL_K = 10

Batches = Iterator[tuple[np.ndarray, np.ndarray]]


def reshape_target(conn: Connection, vectors: SegmentedVectors, kinds: KindPolicy) -> str | None:
    """Inside a write: the kind to rebuild as, or None to keep the index as it is.

    An auto collection switches kind when its size crossed a threshold; any kind is
    rebuilt to compact HNSW tombstones.

    Args:
        conn: Connection inside the write transaction.
        vectors: The index being written.
        kinds: The size thresholds of an auto collection and the tombstone fraction.

    Returns:
        The kind to rebuild as, or None.
    """
    _, passages = store.counts(conn)
    tombstones = len(store.tombstones(conn))
    target = kinds.choose(passages) if store.read_meta(conn).index_auto else vectors.kind
    if target != vectors.kind or (
        tombstones and tombstones > kinds.tombstone_rebuild_fraction * max(vectors.ntotal, 1)
    ):
        return target
    return None


def rebuild(
    conn: Connection,
    kind: str,
    params: dict[str, Any],
    *,
    current: SegmentedVectors | None,
    embedder: Callable[[], TextEmbedder],
) -> tuple[VectorIndex, float | None]:
    """Build a fresh index of ``kind`` over the live passages.

    Exact vectors come from the current index when it keeps them, else from the
    embedder (whose cache makes re-embedding cheap). Recall@10 against exact search is
    measured on sampled passages for non-exact kinds.

    Args:
        conn: Connection inside the write transaction.
        kind: Index kind to build.
        params: Kind parameters.
        current: The loaded index, or None to embed every passage again.
        embedder: Gives the embedder when passages must be embedded again.

    Returns:
        ``(index, recall@10)``: recall is 1.0 for ``flat`` and None when nothing was
        sampled.
    """
    dimension = store.read_meta(conn).dimension
    live = np.asarray(store.all_passage_ids(conn), dtype=np.int64)
    fresh = VectorIndex(dimension, kind, dict(params))
    batches = _live_batches(conn, live, current, embedder)
    exact = None if kind == "flat" else _ExactTop(np.random.default_rng(RECALL_SEED))
    for ids, vecs in batches:
        if len(ids) == 0:
            continue
        fresh.add(ids, vecs)
        if exact is not None:
            exact.add(ids, vecs)
    if exact is None:
        return fresh, 1.0
    return fresh, exact.recall_of(fresh)


def _live_batches(
    conn: Connection,
    live: np.ndarray,
    current: SegmentedVectors | None,
    embedder: Callable[[], TextEmbedder],
) -> Batches:
    """The live passages' ids and vectors: from ``current`` when it holds them all."""
    source = None
    if current is not None:
        with suppress(RuntimeError):
            source = current.reconstruct_all()
    if source is not None and np.isin(live, source[0]).all():
        ids, vecs = source
        keep = np.isin(ids, live)
        return iter([(ids[keep], vecs[keep])])
    return _embed_all(conn, embedder())


def _embed_all(conn: Connection, embedder: TextEmbedder) -> Batches:
    for rows in store.iter_passage_texts(conn, REBUILD_BATCH):
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        yield ids, embedder.embed_passages([r[1] for r in rows], progress=False)


class _ExactTop:
    """The exact top-k of sampled passages, updated batch by batch as vectors stream in."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._sample: np.ndarray | None = None
        self._best_scores: np.ndarray | None = None
        self._best_ids: np.ndarray | None = None

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Merge one batch into the running top-k (the first batch gives the sample)."""
        if self._sample is None:
            chosen = self._rng.choice(len(vecs), min(RECALL_SAMPLE, len(vecs)), replace=False)
            self._sample = vecs[chosen]
        sims = self._sample @ vecs.T
        cand_ids = np.broadcast_to(ids, sims.shape)
        if self._best_scores is not None and self._best_ids is not None:
            sims = np.hstack([self._best_scores, sims])
            cand_ids = np.hstack([self._best_ids, cand_ids])
        top = np.argsort(-sims, axis=1)[:, :RECALL_K]
        self._best_scores = np.take_along_axis(sims, top, axis=1)
        self._best_ids = np.take_along_axis(cand_ids, top, axis=1)

    def recall_of(self, index: VectorIndex) -> float | None:
        """Share of the exact top-k that ``index`` finds (None: no batch was added)."""
        if self._sample is None or self._best_ids is None:
            return None
        kk = self._best_ids.shape[1]
        _, found = index.search(self._sample, kk)
        hits = sum(
            len(set(t.tolist()) & set(f.tolist()))
            for t, f in zip(self._best_ids, found, strict=True)
        )
        return hits / (len(self._sample) * kk)
