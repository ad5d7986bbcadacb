"""Crash safety: a writer killed with SIGKILL at random points leaves before-or-after state."""

from __future__ import annotations

import random
import time
from pathlib import Path

from semsearch.index import Collection
from tests.fakes import FakeEmbedder
from tests.helpers.processes import kill, start_child
from tests.index_crash_child import BATCH_ARTICLES, write_forever

KILLS = 22
MERGE_KILLS = 12
# Seconds a child writes before its kill, at most. The merge thread folds segments behind
# the writes, so it gets longer to commit some: a child forked warm says ready at once, and
# in half a second background merges committed in only about two runs of three.
KILL_WINDOW_S = {"ingest": 0.5, "merging": 0.5, "background": 1.0}


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


def _kill_repeatedly(path: Path, kills: int, mode: str, *, until_hnsw: bool = False) -> None:
    """Kill a writer ``kills`` times; with ``until_hnsw``, go on (up to three times as
    many kills) until a merge has sealed an HNSW segment: on a loaded machine the merge
    thread may not get to commit one within the first runs' short windows."""
    rng = random.Random(20230420)
    window = KILL_WINDOW_S.get(mode, KILL_WINDOW_S["ingest"])
    for run in range(kills * (3 if until_hnsw else 1)):
        if until_hnsw and run >= kills and _sealed_hnsw(path):
            return
        child, _ = start_child(write_forever, path, run, mode)
        time.sleep(rng.uniform(0.0, window))
        kill(child)
        _verify(path)


def _sealed_hnsw(path: Path) -> bool:
    with Collection.open(path, FakeEmbedder(), read_only=True) as coll:
        return any(s["sealed"] and s["kind"] == "hnsw" for s in coll.info().segments)


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
    _kill_repeatedly(path, MERGE_KILLS, "background", until_hnsw=True)
    final = Collection.open(path, FakeEmbedder())
    info = final.info()
    assert info.articles > 0
    # The merge thread committed merges between the writes, some sealed as HNSW.
    assert any(s["sealed"] and s["kind"] == "hnsw" for s in info.segments), info.segments
    final.close()
