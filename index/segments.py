"""Segmented vectors: a generation's vectors held as several FAISS indexes, searched as one.

As in Lucene or Qdrant, a write does not rewrite the whole index: the vectors it adds go
into a new small *appendable* segment (an exact ``flat`` index) saved under its own file
name, and the segments already on disk are kept as they are. *Sealed* segments are large,
immutable and of the collection's index kind (memory-mapped when read-only and large).
Deletes are tombstones (SQLite) that every segment's search excludes.

Merge policy (tiered, as Lucene's log merge policy), run inside the write that crosses
it, so the write's single SQLite transaction stays the commit point:

The numbers are a :class:`~index.config.MergePolicy` (the collection's ``config.merge``):

- A segment's *tier* is ``floor(log_merge_factor(live vectors))``.
- When ``merge_factor`` or more mergeable segments share the lowest such tier, they are
  folded into one segment (tombstoned vectors dropped, their tombstones forgotten).
- The result is sealed (built as the collection's kind) once it holds ``seal_vectors``
  live vectors; smaller results stay appendable ``flat`` segments.
- Segments over ``max_merge_vectors``, and segments of kinds whose stored codes cannot
  be decoded back losslessly (``hnsw_sq8``, IVF), are never merged automatically:
  ``Collection.optimize`` (``semsearch index optimize``) rebuilds everything as one segment.

So a write costs its batch plus, amortised, a bounded merge; a merge of ``merge_factor``
segments of tier ``t`` rewrites about ``merge_factor ** (t + 1)`` vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from semsearch.index.config import MergePolicy
from semsearch.index.vectors import IVF_MIN_POINTS_PER_LIST, VectorIndex, faiss, held

# Kinds whose stored vectors decode exactly (fp16 codes re-encode to the same codes).
DECODABLE_KINDS = ("flat", "hnsw", "hnsw_fp16")
APPENDABLE_KIND = "flat"


@dataclass
class Segment:
    """One FAISS index of a generation, with its file name once saved.

    Attributes:
        index: The vectors.
        file: File name in the collection directory; None until the write saves it.
        sealed: Built as the collection's kind (never appended to).
    """

    index: VectorIndex
    file: str | None = None
    sealed: bool = False

    @property
    def ntotal(self) -> int:
        """Vectors stored (tombstoned ones included)."""
        return self.index.ntotal

    def sorted_ids(self) -> np.ndarray:
        """The segment's ids, sorted (the index keeps them until it changes)."""
        return self.index.sorted_ids()

    def record(self) -> dict[str, Any]:
        """What the meta table records of the segment (it must have been saved)."""
        assert self.file is not None
        return {
            "file": self.file,
            "sealed": self.sealed,
            "kind": self.index.kind,
            "params": dict(self.index.params),
            "vectors": self.ntotal,
        }


class SegmentedVectors:
    """The vectors of one generation: its segments, searched and read as one index.

    Quacks like :class:`~index.vectors.VectorIndex` where the collection reads and writes
    vectors. A reader's instance is never changed; a write changes only its own instance
    (new segments carry ``file=None`` until saved), so loaded segments can be shared.
    """

    def __init__(
        self, dimension: int, kind: str, params: dict[str, Any], segments: Sequence[Segment]
    ) -> None:
        self.dimension = dimension
        self.kind = kind
        self.params = dict(params)
        self.segments = list(segments)

    @property
    def ntotal(self) -> int:
        """Vectors stored in all segments (tombstoned ones included)."""
        return sum(s.ntotal for s in self.segments)

    @property
    def supports_remove(self) -> bool:
        """Always False: saved segments are immutable, so deletes are tombstones."""
        return False

    @property
    def is_ivf(self) -> bool:
        """Whether any segment uses inverted lists."""
        return any(s.index.is_ivf for s in self.segments)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors to this write's appendable segment (created on first use)."""
        if len(ids) == 0:
            return
        last = self.segments[-1] if self.segments else None
        if last is None or last.file is not None or last.sealed:
            last = Segment(VectorIndex(self.dimension, APPENDABLE_KIND))
            self.segments.append(last)
        last.index.add(ids, vectors)

    def remove(self, ids: np.ndarray) -> int:
        """Not supported (see :attr:`supports_remove`)."""
        raise RuntimeError("segments are immutable; tombstone the ids")

    def replace_all(self, index: VectorIndex) -> None:
        """Make ``index`` (a full rebuild) the generation's only segment, sealed."""
        self.kind, self.params = index.kind, dict(index.params)
        self.segments = [Segment(index, sealed=True)]

    def ids(self) -> np.ndarray:
        """All stored ids (unordered)."""
        parts = [s.index.ids() for s in self.segments]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def reconstruct_all(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Stored ids and exact vectors, or None when a segment keeps only codes."""
        ids, vecs = [], []
        for segment in self.segments:
            got = segment.index.reconstruct_all()
            if got is None:
                return None
            ids.append(got[0])
            vecs.append(got[1])
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate(ids), np.vstack(vecs).astype(np.float32, copy=False)

    def similarities(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
        """Inner products of one query with the stored vectors of ``ids``.

        Returns:
            One score per id, or None when a segment cannot look vectors up by id (IVF)
            or an id is stored nowhere.
        """
        keys = np.asarray(ids, dtype=np.int64)
        out = np.zeros(len(keys), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        for segment in self.segments:
            mask = held(keys, segment.sorted_ids()) & ~found
            if not mask.any():
                continue
            scores = segment.index.similarities(query, keys[mask])
            if scores is None:
                return None
            out[mask] = scores
            found |= mask
        return out if found.all() else None

    def reconstruct(self, ids: np.ndarray) -> np.ndarray | None:
        """The stored vectors of ``ids``, looked up in their segments.

        Returns:
            ``(len(ids), dimension)`` float32, or None when a segment cannot look vectors up
            by id (IVF) or an id is stored nowhere.
        """
        keys = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(keys), self.dimension), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        for segment in self.segments:
            mask = held(keys, segment.sorted_ids()) & ~found
            if not mask.any():
                continue
            rows = segment.index.reconstruct(keys[mask])
            if rows is None:
                return None
            out[mask] = rows
            found |= mask
        return out if found.all() else None

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        excluded: np.ndarray | None = None,
        exhaustive: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k over all segments: each segment's top-k, merged by score.

        The merge is exact: any of the overall top-k is in its own segment's top-k.

        Returns:
            ``(scores, ids)`` each ``(nq, k)``; missing hits have id -1.
        """
        nq = len(queries)
        parts = [
            s.index.search(queries, k, allowed=allowed, excluded=excluded, exhaustive=exhaustive)
            for s in self.segments
            if s.ntotal
        ]
        if not parts or k <= 0:
            return np.zeros((nq, max(k, 0)), np.float32), -np.ones((nq, max(k, 0)), np.int64)
        if len(parts) == 1:
            return parts[0]
        ids = np.hstack([p[1] for p in parts])
        scores = np.where(ids < 0, -np.inf, np.hstack([p[0] for p in parts])).astype(np.float32)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        top_ids = np.take_along_axis(ids, order, axis=1)
        top_scores = np.take_along_axis(scores, order, axis=1)
        top_scores[top_ids < 0] = 0.0
        return top_scores, top_ids


def live_count(segment: Segment, tombstones: np.ndarray) -> int:
    """Vectors of ``segment`` that are not tombstoned."""
    if not len(tombstones):
        return segment.ntotal
    return segment.ntotal - int(np.isin(segment.sorted_ids(), tombstones).sum())


def mergeable(segment: Segment, live: int, policy: MergePolicy) -> bool:
    """Whether ``policy`` may fold ``segment`` into another."""
    return segment.index.kind in DECODABLE_KINDS and live <= policy.max_merge_vectors


def oversized(segments: Sequence[Segment], policy: MergePolicy) -> list[int]:
    """Positions of appendable segments big enough to seal (a bulk write's batch)."""
    return [
        p for p, s in enumerate(segments) if not s.sealed and s.ntotal >= policy.seal_vectors
    ]


def merge_candidates(
    segments: Sequence[Segment], tombstones: np.ndarray, policy: MergePolicy
) -> list[int]:
    """Positions of the segments the policy folds next (empty: nothing to merge).

    Args:
        segments: The generation's segments.
        tombstones: Ids deleted but still stored.
        policy: The merge factor and size limits.

    Returns:
        The ``policy.merge_factor`` or more mergeable segments of the lowest full tier.
    """
    by_tier: dict[int, list[int]] = {}
    for position, segment in enumerate(segments):
        live = live_count(segment, tombstones)
        if mergeable(segment, live, policy):
            by_tier.setdefault(policy.tier(live), []).append(position)
    for level in sorted(by_tier):
        if len(by_tier[level]) >= policy.merge_factor:
            return by_tier[level]
    return []


def decoded_vectors(segment: Segment) -> tuple[np.ndarray, np.ndarray]:
    """A mergeable segment's ids and stored vectors (fp16 codes decoded)."""
    exact = segment.index.reconstruct_all()
    if exact is not None:
        return exact
    index = segment.index
    if index.kind not in DECODABLE_KINDS or index.index is None:
        raise RuntimeError(f"{index.kind} segments cannot be merged; optimize instead")
    storage = faiss.downcast_index(faiss.downcast_index(index.index.index).storage)
    return index.ids(), storage.reconstruct_n(0, storage.ntotal)


def merge(
    segments: Sequence[Segment],
    tombstones: np.ndarray,
    *,
    dimension: int,
    kind: str,
    params: dict[str, Any],
    policy: MergePolicy,
) -> tuple[Segment, np.ndarray]:
    """Fold ``segments`` into one, dropping tombstoned vectors.

    Args:
        segments: Segments to fold (all mergeable).
        tombstones: Ids deleted but still stored.
        dimension: Vector dimension.
        kind: The collection's kind (used when the result is sealed).
        params: The collection's kind parameters.
        policy: Says from what size the result is sealed.

    Returns:
        ``(segment, dropped)``: the unsaved merged segment and the tombstoned ids it no
        longer stores (their tombstones can be forgotten).
    """
    ids_parts, vec_parts = zip(*(decoded_vectors(s) for s in segments), strict=True)
    ids = np.concatenate(ids_parts)
    vectors = np.vstack(vec_parts)
    dead = np.isin(ids, tombstones)
    live_ids, live_vectors = ids[~dead], vectors[~dead]
    sealed = len(live_ids) >= policy.seal_vectors
    sealed_params = dict(params)
    if int(sealed_params.get("nlist", 0)) * IVF_MIN_POINTS_PER_LIST > len(live_ids):
        # Too many IVF lists for this segment's vectors: size them for the segment.
        sealed_params.pop("nlist")
    out = VectorIndex(dimension, kind if sealed else APPENDABLE_KIND, sealed_params if sealed else {})
    out.add(live_ids, live_vectors)
    return Segment(out, sealed=sealed), ids[dead]

