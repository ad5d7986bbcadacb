"""Writes on a full disk (issue 16 item 11): a clear error, no leftover file, nothing changed.

The disk is a real one: a small tmpfs mounted for the test and filled up with a file, so
SQLite and the FAISS writer get ENOSPC from the kernel. Mounting needs root; elsewhere the
tests skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedder.cache import EmbeddingCache
from semsearch.index import Collection, CollectionError
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.cli import Cli
from tests.helpers.paths import SEED

TMPFS_BYTES = 4 << 20


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"needs root to mount a small tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Take all the free space of ``disk`` but ``leave`` bytes."""
    stat = os.statvfs(disk)
    size = stat.f_bavail * stat.f_frsize - leave
    fd = os.open(disk / f"filler-{uuid.uuid4().hex}", os.O_WRONLY | os.O_CREAT)
    try:
        os.posix_fallocate(fd, 0, max(size, 1))
    finally:
        os.close(fd)


def leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name.endswith(".tmp"))


# (vector dimension, articles written, bytes left free, the error the write hits first).
# SQLite keeps a transaction in its page cache until it outgrows it, and the FAISS file is
# saved before the commit: many small vectors fill the disk from SQLite, few huge ones
# from the FAISS writer.
CASES = [
    pytest.param(64, 60, 0, "OperationalError", id="sqlite-full"),
    pytest.param(16384, 8, 256 << 10, "OSError", id="vectors-file-full"),
]


@pytest.mark.parametrize(("dimension", "articles", "leave", "cause"), CASES)
def test_full_disk_is_a_clear_error_and_changes_nothing(
    small_disk: Path, dimension: int, articles: int, leave: int, cause: str
) -> None:
    path = small_disk / "c"
    with Collection.create(path, FakeEmbedder(dimension=dimension)) as coll:
        coll.upsert([make_article("keep", ["数字经济 发展"], title="保留")])
        before = (coll.counts(), coll.info().generation)
        files = sorted(p.name for p in path.iterdir())
        fill(small_disk, leave)
        big = [make_article(f"n{i}", [f"新闻 {i} " * 500] * 8, title=f"新 {i}") for i in range(articles)]
        with pytest.raises(CollectionError, match="no space left on the device; nothing was") as caught:
            coll.upsert(big)
        # The cases reach different writers: SQLite, then the FAISS file.
        assert type(caught.value.__cause__).__name__ == cause
        assert leftovers(path) == []
        assert (coll.counts(), coll.info().generation) == before
        assert sorted(p.name for p in path.iterdir()) == files
        assert coll.check().ok
        assert [h.article_id for h in coll.search("数字经济", mode="lexical").results] == ["keep"]
    with Collection.open(path, FakeEmbedder(dimension=dimension)) as reopened:
        assert reopened.check().ok and reopened.counts() == before[0]


def test_a_full_cache_disk_only_costs_caching(small_disk: Path) -> None:
    # Embedding goes on (and so does the ingest or search that asked) without the cache.
    cache = EmbeddingCache(small_disk / "cache", 384)
    cache.put_many([b"k0"], np.ones((1, 384), dtype=np.float32))
    fill(small_disk, 0)
    keys = [bytes([i % 256, i // 256]) for i in range(5000)]
    cache.put_many(keys, np.ones((len(keys), 384), dtype=np.float32))
    assert len(cache) == 1 and set(cache.get_many([b"k0", keys[0]])) == {b"k0"}
    cache.close()


@pytest.mark.slow
def test_cli_ingest_on_a_full_disk_exits_2_with_one_line(
    cli: Cli, small_disk: Path, model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = small_disk / "index"
    common = ["--index", str(index), "--model-dir", str(model_dir), "--json"]
    assert cli(["ingest", str(SEED), *common]) == 0
    info = ["info", "--index", str(index), "--json"]
    capsys.readouterr()
    assert cli(info) == 0
    before = json.loads(capsys.readouterr().out)
    more = tmp_path / "more.jsonl"
    with more.open("w", encoding="utf-8") as handle:
        for i in range(200):
            record = {"id": f"m{i}", "title": f"第{i}条", "text": f"数字经济第{i}段。" * 40}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    fill(small_disk, 64 << 10)
    code = cli(["ingest", str(more), *common])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("semsearch: error: ")
    assert "no space left on the device" in err
    assert leftovers(index) == []
    assert cli(info) == 0
    after = json.loads(capsys.readouterr().out)
    assert (after["articles"], after["passages"], after["generation"]) == (
        before["articles"],
        before["passages"],
        before["generation"],
    )
