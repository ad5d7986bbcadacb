"""Folding segments, as the policy in :mod:`index.segments` says: inside a write, or behind it.

Private. Inline (the default), :meth:`~index._snapshot.Snapshots.write` runs
:func:`merge_due` after the write's own changes and before it saves its segments, so a
merge commits (or not) with the write. In the background (:class:`BackgroundMerges`, what
a server uses), writes only add segments; a thread plans a merge from a read snapshot,
builds it with no lock held, and commits it as a short write of its own
(:func:`fold_in`), so a write never waits for a graph build.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np

from semsearch.index import store
from semsearch.index.config import MergePolicy
from semsearch.index.segments import (
    Segment,
    SegmentedVectors,
    merge,
    merge_candidates,
    oversized,
)
from semsearch.index.store import Connection

log = logging.getLogger("semsearch.index")


def next_merge(
    segments: Sequence[Segment], tombstones: np.ndarray, policy: MergePolicy
) -> list[int]:
    """Positions of the segments to fold next: one big enough to seal, else a full tier."""
    return oversized(segments, policy)[:1] or merge_candidates(segments, tombstones, policy)


def merge_due(conn: Connection, vectors: SegmentedVectors, policy: MergePolicy) -> int:
    """Inside a write: seal a large unsealed segment, then fold segments while the policy says so.

    A write that added ``policy.seal_vectors`` or more (a bulk load) gets its segment
    built as the collection's kind at once. Tombstoned vectors of merged segments are
    dropped, and so are their tombstones.

    Args:
        conn: Connection inside the write transaction.
        vectors: The write's vectors (their segment list is replaced).
        policy: The collection's merge policy.

    Returns:
        How many merges ran.
    """
    tombstones = np.asarray(store.tombstones(conn), dtype=np.int64)
    merges = 0
    while positions := next_merge(vectors.segments, tombstones, policy):
        chosen = [vectors.segments[p] for p in positions]
        merged, dropped = merge_of(vectors, chosen, tombstones, policy)
        fold_in(conn, vectors, chosen, merged, dropped)
        tombstones = np.setdiff1d(tombstones, dropped)
        merges += 1
    return merges


def merge_of(
    vectors: SegmentedVectors,
    chosen: Sequence[Segment],
    tombstones: np.ndarray,
    policy: MergePolicy,
) -> tuple[Segment, np.ndarray]:
    """The unsaved segment folding ``chosen``, and the tombstoned ids it dropped."""
    if policy.before_build is not None:
        policy.before_build(len(chosen))
    return merge(
        chosen,
        tombstones,
        dimension=vectors.dimension,
        kind=vectors.kind,
        params=vectors.params,
        policy=policy,
    )


def fold_in(
    conn: Connection,
    vectors: SegmentedVectors,
    chosen: Sequence[Segment],
    merged: Segment,
    dropped: np.ndarray,
) -> bool:
    """Inside a write: put ``merged`` in the place of ``chosen`` and forget ``dropped``.

    Args:
        conn: Connection inside the write transaction.
        vectors: The write's vectors (their segment list is replaced).
        chosen: The segments ``merged`` folds (the same objects the write lists).
        merged: Their merge (unsaved).
        dropped: Tombstoned ids the merge no longer stores.

    Returns:
        False, changing nothing, when a segment of ``chosen`` is no longer listed (a
        rebuild or another merge committed since the merge was planned).
    """
    listed = [_identity(s) for s in vectors.segments]
    gone = {_identity(s) for s in chosen}
    if not gone <= set(listed):
        return False
    first = min(listed.index(key) for key in gone)
    rest = [s for s in vectors.segments if _identity(s) not in gone]
    # The merged segment takes the place of the first one it replaces.
    rest.insert(sum(1 for key in listed[:first] if key not in gone), merged)
    vectors.segments = rest
    if len(dropped):
        store.remove_tombstones(conn, dropped.tolist())
    return True


def _identity(segment: Segment) -> str | int:
    """A saved segment is its file (loaded twice, it is still the same); a new one itself."""
    return segment.file if segment.file is not None else id(segment)


class BackgroundMerges:
    """A thread that runs merge steps after writes until the policy has nothing to fold.

    Args:
        step: Runs one merge; returns whether it folded anything (then it runs again).
        name: Thread name (the collection's path, for logs).
    """

    def __init__(self, step: Callable[[], bool], name: str) -> None:
        self._step = step
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._lock = threading.Lock()
        self.merges = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"merge {name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a look at the policy (after a write committed)."""
        with self._lock:
            self._idle.clear()
            self._wanted.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every merge asked for so far has run; False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop after the merge in progress (if any) and wait for the thread."""
        self._stopping = True
        self._wanted.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            try:
                while not self._stopping and self._step():
                    self.merges += 1
            except Exception as exc:
                # Nothing was committed; the segments stay as they are until the next try.
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("background merge failed: %s", self.last_error)
            with self._lock:
                # A write that woke us during the last step is served by the next loop.
                if not self._wanted.is_set():
                    self._idle.set()
