"""Folding segments inside a write, as the policy in :mod:`index.segments` says.

Private: :meth:`~index._snapshot.Snapshots.write` runs :func:`merge_due` after the write's
own changes and before it saves its segments, so a merge commits (or not) with the write.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from semsearch.index import store
from semsearch.index.segments import SegmentedVectors, merge, merge_candidates, oversized_new


def merge_due(conn: Any, vectors: SegmentedVectors) -> int:
    """Inside a write: seal a large new segment, then fold segments while the policy says so.

    A write that added :data:`~index.segments.SEAL_VECTORS` or more (a bulk load) gets its
    segment built as the collection's kind at once. Tombstoned vectors of merged
    segments are dropped, and so are their tombstones.

    Args:
        conn: Connection inside the write transaction.
        vectors: The write's vectors (their segment list is replaced).

    Returns:
        How many merges ran.
    """
    tombstones = np.asarray(store.tombstones(conn), dtype=np.int64)
    merges = 0
    while positions := (
        oversized_new(vectors.segments)[:1] or merge_candidates(vectors.segments, tombstones)
    ):
        chosen = set(positions)
        merged, dropped = merge(
            [vectors.segments[p] for p in positions],
            tombstones,
            dimension=vectors.dimension,
            kind=vectors.kind,
            params=vectors.params,
        )
        # The merged segment takes the place of the first one it replaces.
        rest = [s for p, s in enumerate(vectors.segments) if p not in chosen]
        rest.insert(sum(1 for p in range(positions[0]) if p not in chosen), merged)
        vectors.segments = rest
        if len(dropped):
            store.remove_tombstones(conn, dropped.tolist())
            tombstones = np.setdiff1d(tombstones, dropped)
        merges += 1
    return merges
