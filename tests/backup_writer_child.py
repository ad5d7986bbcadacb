"""Child process of tests/test_index_backup_crash.py: a writer running beside backups.

Usage: ``python -m tests.backup_writer_child PATH``. Writes forever: batch n is upserted
(one generation), then for odd n the first article of batch n-1 is deleted (another
generation), so the articles of each generation are known (:func:`articles_at`).
"""

from __future__ import annotations

import sys

from semsearch import Collection
from tests.fakes import FakeEmbedder, make_article

PASSAGES = 3
BATCH_ARTICLES = 4


def articles_at(generation: int) -> set[str]:
    """The articles the writer's collection holds at ``generation`` (batch 0 is generation 1)."""
    ids = {f"b0-{i}" for i in range(BATCH_ARTICLES)}
    current, n = 1, 1
    while current < generation:
        ids |= {f"b{n}-{i}" for i in range(BATCH_ARTICLES)}
        current += 1
        if n % 2 and current < generation:
            ids.discard(f"b{n - 1}-0")
            current += 1
        n += 1
    return ids


def main() -> None:
    coll = Collection.open(sys.argv[1], FakeEmbedder())
    n = 1
    while True:
        coll.upsert(
            [
                make_article(f"b{n}-{i}", [f"批次 {n} 文章 {i} 段 {j}" for j in range(PASSAGES)])
                for i in range(BATCH_ARTICLES)
            ]
        )
        if n % 2:
            coll.delete([f"b{n - 1}-0"])
        if n == 1:
            print("ready", flush=True)  # jieba is loaded: from now on it writes continuously
        n += 1


if __name__ == "__main__":
    main()
