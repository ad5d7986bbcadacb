"""Crash safety: a writer killed with SIGKILL at random points leaves before-or-after state."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from semsearch.index import Collection
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]
KILLS = 22
MERGE_KILLS = 12
BATCH_ARTICLES = 4

# The child ingests numbered batches forever; each article records its batch number and
# every other batch deletes the previous batch's first article, so states are checkable.
CHILD = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from semsearch.index import Collection, lexical, segments
from tests.fakes import FakeEmbedder, make_article
path = Path(sys.argv[1])
if sys.argv[3] in ("merging", "background"):
    # Fold every two segments of a tier and seal from 24 vectors (as HNSW): nearly every
    # write merges, often in cascades, so most kills land inside a merge.
    segments.MERGE_FACTOR, segments.SEAL_VECTORS = 2, 24
    if not Collection.exists(path):
        Collection.create(path, FakeEmbedder(), kind="hnsw").close()
# "background": writes only add segments; this object's merge thread folds them behind.
coll = Collection.open(path, FakeEmbedder(), create=True, background_merges=sys.argv[3] == "background")
lexical.tokenize("预热")  # load jieba's dictionary before the parent starts its timer
# Batch numbers grow across children; the parent only checks batches are whole.
batch = int(sys.argv[2]) * 1000
print("ready", flush=True)
while True:
    items = [make_article(f"b{{batch}}-{{i}}", [f"批次 {{batch}} 文章 {{i}} 段 {{j}} 经济" for j in range(3)],
                          metadata={{"batch": batch}}) for i in range({BATCH_ARTICLES})]
    coll.upsert(items)
    if batch % 2:
        coll.delete([f"b{{batch - 1}}-0"])
    batch += 1
"""


def _verify(path: Path) -> None:
    coll = Collection.open(path, FakeEmbedder())
    try:
        report = coll.check()
        assert report.ok, report.problems
        hits = coll.search("批次", mode="lexical", k=100_000).results
        by_article: dict[str, int] = {}
        for hit in hits:
            by_article[hit.article_id] = by_article.get(hit.article_id, 0) + 1
        # Never a mix: every article present has all its passages.
        assert all(count == 3 for count in by_article.values()), by_article
        batches: dict[int, set[int]] = {}
        for article_id in by_article:
            b, i = article_id[1:].split("-")
            batches.setdefault(int(b), set()).add(int(i))
        for b, members in batches.items():
            # Whole batches: a committed batch has all its articles (#0 may be deleted).
            assert members >= set(range(1, BATCH_ARTICLES)), (b, members)
        info = coll.info()
        assert info.passages == sum(by_article.values())
        assert coll.search("经济", k=5).results or not by_article
    finally:
        coll.close()


def _kill_repeatedly(path: Path, kills: int, mode: str) -> None:
    rng = random.Random(20230420)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(run), mode],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        _verify(path)


def test_sigkill_during_ingest(tmp_path: Path) -> None:
    path = tmp_path / "c"
    _kill_repeatedly(path, KILLS, "ingest")
    final = Collection.open(path, FakeEmbedder())
    assert final.info().articles > 0  # some batches committed across the kills
    final.close()


def test_sigkill_during_merges(tmp_path: Path) -> None:
    path = tmp_path / "c"
    _kill_repeatedly(path, MERGE_KILLS, "merging")
    final = Collection.open(path, FakeEmbedder())
    info = final.info()
    assert info.articles > 0
    # Merges ran and committed: far fewer segments than writes, some sealed as HNSW.
    assert any(s["sealed"] and s["kind"] == "hnsw" for s in info.segments), info.segments
    assert len(info.segments) < info.generation / 2
    final.close()


def test_sigkill_during_background_merges(tmp_path: Path) -> None:
    path = tmp_path / "c"
    _kill_repeatedly(path, MERGE_KILLS, "background")
    final = Collection.open(path, FakeEmbedder())
    info = final.info()
    assert info.articles > 0
    # The merge thread committed merges between the writes, some sealed as HNSW.
    assert any(s["sealed"] and s["kind"] == "hnsw" for s in info.segments), info.segments
    final.close()
