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
from tests.index_crash_child import BATCH_ARTICLES

ROOT = Path(__file__).resolve().parents[1]
KILLS = 22
MERGE_KILLS = 12


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
            [sys.executable, "-m", "tests.index_crash_child", str(path), str(run), mode],
            stdout=subprocess.PIPE,
            cwd=ROOT,
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
