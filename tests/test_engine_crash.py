"""A writer killed between the store's commit and the engine's leaves nothing behind.

The store commits first; a kill before the engine commits leaves the engine a generation
behind. The next open must bring it up to date from the store's pending list, so searches
count exactly what the store holds (never a lexical index that disagrees with the store).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from semsearch.index import Collection
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("step", ["after-store", "before-engine-commit"])
@pytest.mark.parametrize("read_only", [False, True])
def test_engine_catches_up_after_a_kill(tmp_path: Path, step: str, read_only: bool) -> None:
    path = tmp_path / "c"
    child = subprocess.run(
        [sys.executable, "-m", "tests.engine_crash_child", str(path), step],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr.decode()
    with Collection.open(path, FakeEmbedder(), read_only=read_only) as coll:
        report = coll.check()
        assert report.ok, report.problems
        articles, passages = coll.counts()
        # Batches 0 and 1 (less the deleted b0-0) and the batch whose store commit came
        # before the kill: 8 articles of one passage.
        assert (articles, passages) == (8, 8)
        found = coll.search('"批次2"', mode="lexical", count=True, facets=["source"])
        assert (found.total, found.total_passages) == (3, 3)
        everything = coll.search("经济", mode="lexical", count=True, k=100)
        assert everything.total_passages == passages
        assert {h.article_id for h in everything.results} == {
            *(f"b0-{i}" for i in (1, 2)), *(f"b{b}-{i}" for b in (1, 2) for i in range(3))
        }
        assert coll.search('"批次0 文章0"', mode="lexical", count=True).total == 0
