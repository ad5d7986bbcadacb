"""Backups across processes: a writer process running meanwhile, SIGKILL during backup and restore."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from semsearch import Collection, CollectionError, restore_collection
from tests.backup_copy_child import DONE, GO, copy_on_go
from tests.backup_writer_child import PASSAGES, articles_at
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.processes import kill, start_child

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
KILLS = 10
QUERIES = ("经济 发展", "文章 17", "段 2 报道")


def _state(path: Path) -> tuple:
    """Check the collection in ``path`` and return what it answers (counts and top-10s)."""
    with Collection.open(path, FakeEmbedder(), read_only=True) as coll:
        report = coll.check()
        assert report.ok and not report.problems, report.problems
        tops = tuple(
            tuple(hit.passage_id for hit in coll.search(query, k=10).results) for query in QUERIES
        )
        return coll.counts(), tops


@pytest.fixture(scope="module")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection large enough that a backup takes a while (kills land inside it)."""
    path = tmp_path_factory.mktemp("crash") / "src"
    with Collection.create(path, FakeEmbedder()) as coll:
        coll.upsert(
            make_article(
                f"a{i}",
                [f"文章 {i} 段 {j} 经济 发展 报道 {i * 7 + j}" for j in range(PASSAGES)],
            )
            for i in range(3000)
        )
    return path


def _start(verb: str, src: Path, dest: Path) -> tuple[BaseProcess, Connection]:
    return start_child(copy_on_go, verb, str(src), str(dest))


def _timed_copy(verb: str, src: Path, dest: Path) -> float:
    """Seconds a child takes from "go" to "done" (how long a kill window must be)."""
    child, conn = _start(verb, src, dest)
    started = time.perf_counter()
    conn.send(GO)
    assert conn.recv() == DONE
    elapsed = time.perf_counter() - started
    child.join()
    assert child.exitcode == 0
    return elapsed


def _kill_during(verb: str, src: Path, work: Path, expected: tuple, seed: int) -> dict[str, int]:
    """Kill children copying ``src`` at random points; check DEST and ``src`` after each."""
    rng = random.Random(seed)
    window = _timed_copy(verb, src, work / "timing") * 1.5
    outcomes = {"absent": 0, "complete": 0}
    dest = work / "dest"
    for _ in range(KILLS):
        child, conn = _start(verb, src, dest)
        conn.send(GO)
        time.sleep(rng.uniform(0.0, window))
        kill(child)
        assert _state(src) == expected  # the source is never damaged
        if dest.exists():
            # Whatever is at DEST is a whole, valid copy.
            assert _state(dest) == expected
            outcomes["complete"] += 1
            shutil.rmtree(dest)
        else:
            with pytest.raises(CollectionError):
                restore_collection(dest, work / "never")
            outcomes["absent"] += 1
    # The next copy to DEST removes what killed ones left beside it, and succeeds.
    child, conn = _start(verb, src, dest)
    conn.send(GO)
    child.join()
    assert child.exitcode == 0
    assert _state(dest) == expected
    assert sorted(p.name for p in work.iterdir()) == ["dest", "timing"]
    return outcomes


def test_sigkill_during_backup_leaves_no_dest_or_a_whole_one(
    big_source: Path, tmp_path: Path
) -> None:
    expected = _state(big_source)
    outcomes = _kill_during("backup", big_source, tmp_path, expected, seed=20230420)
    print("backup kills:", outcomes)
    assert outcomes["absent"] > 0, outcomes  # some kills landed inside the copy


def test_sigkill_during_restore_leaves_no_dest_or_a_whole_one(
    big_source: Path, tmp_path: Path
) -> None:
    expected = _state(big_source)
    with Collection.open(big_source, None, read_only=True) as coll:
        coll.backup(tmp_path / "backup")
    work = tmp_path / "work"
    work.mkdir()
    outcomes = _kill_during("restore", tmp_path / "backup", work, expected, seed=20230419)
    print("restore kills:", outcomes)
    assert outcomes["absent"] > 0, outcomes
    assert _state(tmp_path / "backup") == expected  # the backup restored from is intact


@contextmanager
def _writing(path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A small collection at ``path`` and a child process writing to it back to back."""
    with Collection.create(path, FakeEmbedder()) as coll:
        coll.upsert(
            make_article(f"b0-{i}", [f"批次 0 文章 {i} 段 {j}" for j in range(PASSAGES)])
            for i in range(4)
        )
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.backup_writer_child", str(path)],
        stdout=subprocess.PIPE,
        env=ENV,
        cwd=ROOT,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == b"ready"
        yield writer
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()


def test_backups_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "src"
    generations = []
    with _writing(path) as writer:
        with Collection.open(path, None, read_only=True) as source:
            for attempt in range(6):
                time.sleep(0.2)
                dest = tmp_path / f"bk{attempt}"
                report = source.backup(dest)
                generations.append(report.generation)
                with Collection.open(dest, FakeEmbedder(), read_only=True) as backup:
                    assert backup.check().ok
                    hits = backup.search("批次", mode="lexical", k=100_000).results
                    assert len(hits) == report.passages == PASSAGES * report.articles
                    assert {hit.article_id for hit in hits} == articles_at(report.generation)
        assert writer.poll() is None  # it was writing all along
    assert len(set(generations)) == len(generations), generations  # writes went on
    # The writer was killed mid-write: the source may lag its manifest by one committed
    # generation (a note that check reports as ok), never worse.
    with Collection.open(path, FakeEmbedder(), read_only=True) as coll:
        report = coll.check()
        assert report.ok and coll.counts()[0] > 0
        assert all(note.startswith("manifest at generation") for note in report.problems)


@pytest.mark.parametrize("verb", ["backup", "restore"])
def test_a_failing_write_is_one_line_exit_2_and_leaves_nothing(
    big_source: Path, tmp_path: Path, verb: str
) -> None:
    expected = _state(big_source)
    dest = tmp_path / "dest"
    args = ["index", "backup", str(dest), "--index", str(big_source)]
    if verb == "restore":
        args = ["index", "restore", str(big_source), str(dest)]
    done = subprocess.run(
        [sys.executable, "-m", "tests.cli_size_limited_child", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("semsearch: error: copying ") and done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no DEST, no partial directory
    assert _state(big_source) == expected


def test_opening_beside_a_writer_never_fails(tmp_path: Path) -> None:
    """A read-only open races a writer's two commits (store, then engine) and must win."""
    with _writing(tmp_path / "src") as writer:
        for _ in range(40):
            with Collection.open(tmp_path / "src", FakeEmbedder(), read_only=True) as reader:
                total = reader.search("批次", mode="lexical", count=True).total_passages
                assert total is not None and total > 0
        assert writer.poll() is None  # it was writing all along
