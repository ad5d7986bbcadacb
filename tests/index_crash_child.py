"""Child of tests/test_index_crash.py: a writer that ingests until it is killed.

:func:`write_forever` ingests numbered batches; each article records its batch number and
every other batch deletes the previous batch's first article, so the parent can check the
states a kill leaves. Modes ``merging`` and ``background`` fold every two segments of a tier
and seal from 24 vectors (as HNSW), so nearly every write merges, often in cascades, and
most kills land inside a merge; ``background`` leaves the merges to the collection's merge
thread.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from pathlib import Path

from semsearch.index import Collection
from semsearch.index.config import DEFAULT_CONFIG, IndexConfig, MergePolicy
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.processes import READY

BATCH_ARTICLES = 4
PASSAGES = 3
MERGING_MODES = ("merging", "background")
# Fold every two segments of a tier and seal from 24 vectors: nearly every write merges.
MERGING = IndexConfig(merge=MergePolicy(merge_factor=2, seal_vectors=24))


def write_forever(path: Path, run: int, mode: str, parent: Connection) -> None:
    """Open (or create) the collection, say ready, then write batches until killed."""
    config = MERGING if mode in MERGING_MODES else DEFAULT_CONFIG
    if mode in MERGING_MODES and not Collection.exists(path):
        Collection.create(path, FakeEmbedder(), kind="hnsw", config=config).close()
    coll = Collection.open(
        path, FakeEmbedder(), create=True, background_merges=mode == "background", config=config
    )
    # Batch numbers grow across children; the parent only checks batches are whole.
    batch = run * 1000
    parent.send(READY)
    while True:
        coll.upsert(
            make_article(
                f"b{batch}-{i}",
                [f"批次 {batch} 文章 {i} 段 {j} 经济" for j in range(PASSAGES)],
                metadata={"batch": batch},
            )
            for i in range(BATCH_ARTICLES)
        )
        if batch % 2:
            coll.delete([f"b{batch - 1}-0"])
        batch += 1
