"""Child process of tests/test_index_crash.py: a writer that ingests until it is killed.

Usage: ``python -m tests.index_crash_child PATH RUN MODE``. It ingests numbered batches
forever; each article records its batch number and every other batch deletes the previous
batch's first article, so the parent can check the states a kill leaves. MODE ``merging``
and ``background`` fold every two segments of a tier and seal from 24 vectors (as HNSW),
so nearly every write merges, often in cascades, and most kills land inside a merge;
``background`` leaves the merges to the collection's merge thread.
"""

from __future__ import annotations

import sys
from pathlib import Path

from semsearch.index import Collection, lexical, segments
from tests.fakes import FakeEmbedder, make_article

BATCH_ARTICLES = 4
PASSAGES = 3
MERGING_MODES = ("merging", "background")


def main() -> None:
    path, run, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if mode in MERGING_MODES:
        segments.MERGE_FACTOR, segments.SEAL_VECTORS = 2, 24
        if not Collection.exists(path):
            Collection.create(path, FakeEmbedder(), kind="hnsw").close()
    coll = Collection.open(
        path, FakeEmbedder(), create=True, background_merges=mode == "background"
    )
    lexical.tokenize("预热")  # load jieba's dictionary before the parent starts its timer
    # Batch numbers grow across children; the parent only checks batches are whole.
    batch = run * 1000
    print("ready", flush=True)
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


if __name__ == "__main__":
    main()
