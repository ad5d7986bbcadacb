"""Backups of a live collection and restoring them, with the fake embedder."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from semsearch import Collection, CollectionError, InputError, restore_collection
from semsearch.index import store
from semsearch.index._files import vector_files
from semsearch.index.backup import BACKUP_NAME
from tests.fakes import FakeEmbedder, make_article

QUERIES = ("经济 发展", "批次 7 文章", "段 2")
BATCH = 5


def _batch(number: int) -> list:
    return [
        make_article(
            f"b{number}-{i}",
            [f"批次 {number} 文章 {i} 段 {j} 经济 发展 {number * i + j}" for j in range(3)],
            metadata={"batch": number},
        )
        for i in range(BATCH)
    ]


def _state(coll: Collection) -> tuple:
    """What a state of the collection answers: counts, all articles, top-10 of each query."""
    everything = coll.search("批次", mode="lexical", k=100_000).results
    tops = tuple(
        tuple(
            (hit.passage_id, round(hit.score, 5))
            for hit in coll.search(query, mode=mode, k=10).results
        )
        for query in QUERIES
        for mode in ("hybrid", "dense", "lexical")
    )
    return coll.counts(), frozenset(hit.article_id for hit in everything), tops


def _entries(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


@pytest.fixture()
def source(tmp_path: Path) -> Collection:
    # HNSW keeps deleted vectors as tombstones: the backup must carry those too.
    coll = Collection.create(tmp_path / "src", FakeEmbedder(), kind="hnsw")
    for number in range(6):
        coll.upsert(_batch(number))
    coll.delete(["b1-0", "b3-2"])  # leaves tombstones in the vector index
    yield coll
    coll.close()


def test_backup_and_restore_answer_like_the_source(source: Collection, tmp_path: Path) -> None:
    expected = _state(source)
    generation = source.info().generation
    assert source.info().tombstones == 6  # 2 articles x 3 passages
    report = source.backup(tmp_path / "bk")
    assert (report.generation, report.articles, report.passages) == (generation, 28, 84)
    conn = store.connect(tmp_path / "bk" / store.DATABASE_NAME, read_only=True)
    names = vector_files(conn)
    engine = store.read_meta(conn).engine_dir
    conn.close()
    # Exactly the database, the generation's files and lexical engine, the manifest and
    # the backup record.
    assert _entries(tmp_path / "bk") == sorted(
        [store.DATABASE_NAME, *names, str(engine), "manifest.json", BACKUP_NAME]
    )
    record = json.loads((tmp_path / "bk" / BACKUP_NAME).read_text())
    assert record["generation"] == generation and record["source"] == str(
        (tmp_path / "src").resolve()
    )
    assert _entries(tmp_path) == ["bk", "src"]  # no partial directory left behind

    source.upsert(_batch(99))  # the source moves on; the backup does not
    with Collection.open(tmp_path / "bk", FakeEmbedder(), read_only=True) as backup:
        assert backup.check().ok
        assert backup.info().tombstones == 6
        assert _state(backup) == expected

    restored = restore_collection(tmp_path / "bk", tmp_path / "restored")
    assert restored.generation == generation
    assert BACKUP_NAME not in _entries(tmp_path / "restored")
    with Collection.open(tmp_path / "restored", FakeEmbedder()) as coll:
        assert coll.check().ok and coll.check().problems == []
        assert _state(coll) == expected
        coll.upsert(_batch(100))  # a restored collection is an ordinary writable one
        assert coll.counts() == (33, 99)
    # Writing to the restored copy left the backup as it was.
    with Collection.open(tmp_path / "bk", FakeEmbedder(), read_only=True) as backup:
        assert _state(backup) == expected


def test_backup_during_writes_equals_the_generation_it_recorded(
    source: Collection, tmp_path: Path
) -> None:
    states = {source.info().generation: _state(source)}
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        number = 10
        try:
            while not stop.is_set():
                source.upsert(_batch(number))
                # Only this thread writes: the state now is the one of this generation.
                states[source.info().generation] = _state(source)
                if number % 2:
                    source.delete([f"b{number - 1}-0"])
                    states[source.info().generation] = _state(source)
                number += 1
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    overlapped = 0
    try:
        reports = []
        for attempt in range(8):
            before = source.info().generation
            reports.append(source.backup(tmp_path / f"bk{attempt}"))
            overlapped += source.info().generation > before
    finally:
        stop.set()
        writer.join()
    assert not failures, failures
    assert overlapped > 0, "no write committed while a backup ran"
    assert len({report.generation for report in reports}) > 1
    for attempt, report in enumerate(reports):
        with Collection.open(tmp_path / f"bk{attempt}", FakeEmbedder(), read_only=True) as backup:
            assert backup.check().ok
            assert backup.info().generation == report.generation
            assert _state(backup) == states[report.generation], attempt


@pytest.mark.parametrize("kind", ["file", "non-empty"])
def test_an_occupied_dest_is_refused_and_left_alone(
    source: Collection, tmp_path: Path, kind: str
) -> None:
    dest = tmp_path / "dest"
    if kind == "file":
        dest.write_text("mine")
    else:
        dest.mkdir()
        (dest / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="exists and is not"):
        source.backup(dest)
    with pytest.raises(InputError, match="exists and is not"):
        restore_collection(tmp_path / "src", dest)
    assert (dest.read_text() if kind == "file" else (dest / "notes.txt").read_text()) == "mine"
    assert _entries(tmp_path) == ["dest", "src"]


def test_an_empty_dest_directory_is_filled(source: Collection, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    source.backup(tmp_path / "empty")
    assert Collection.exists(tmp_path / "empty")


def test_a_source_that_is_not_a_backup_is_refused(source: Collection, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.txt").write_text("x")
    with pytest.raises(CollectionError, match="not a semsearch backup or collection"):
        restore_collection(tmp_path / "plain", tmp_path / "out")
    with pytest.raises(CollectionError, match="not a semsearch backup or collection"):
        restore_collection(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_damaged_backup_is_refused(source: Collection, tmp_path: Path) -> None:
    report = source.backup(tmp_path / "bk")
    vectors = tmp_path / "bk" / report.files[1]
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(CollectionError, match="not a usable backup"):
        restore_collection(tmp_path / "bk", tmp_path / "out")
    (tmp_path / "bk2").mkdir()
    (tmp_path / "bk2" / "manifest.json").write_bytes(
        (tmp_path / "bk" / "manifest.json").read_bytes()
    )
    (tmp_path / "bk2" / store.DATABASE_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(CollectionError, match="not a usable backup"):
        restore_collection(tmp_path / "bk2", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert _entries(tmp_path) == ["bk", "bk2", "src"]


def test_a_killed_backups_partial_copy_is_removed_by_the_next(
    source: Collection, tmp_path: Path
) -> None:
    # A process that no longer exists (pid beyond the kernel's limit) left this behind.
    dead = tmp_path / ".bk.4194305-00ff00ff.partial"
    dead.mkdir()
    (dead / "manifest.json").write_text("{}")
    # A live process's partial copy is not touched.
    live = tmp_path / f".bk.{os.getppid()}-00ff00ff.partial"
    live.mkdir()
    source.backup(tmp_path / "bk")
    assert not dead.exists() and live.exists()
    assert Collection.exists(tmp_path / "bk")


def test_an_unwritable_dest_is_a_clear_error(source: Collection, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot create"):
        source.backup(tmp_path / "file" / "bk")
    assert _entries(tmp_path) == ["file", "src"]


def _tree(directory: Path) -> dict[str, int]:
    """Every file under ``directory`` with its size: what "unchanged" means on disk."""
    return {
        str(path.relative_to(directory)): path.stat().st_size
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("where", ["itself", "child", "grandchild", "link"])
def test_a_dest_inside_the_source_is_refused(
    source: Collection, tmp_path: Path, where: str
) -> None:
    # Issue 26 item 6: a copy inside its source becomes part of the collection's folder.
    src = tmp_path / "src"
    (tmp_path / "link").symlink_to(src, target_is_directory=True)
    dest = {
        "itself": src,
        "child": src / "bk",
        "grandchild": src / "deeper" / "bk",
        "link": tmp_path / "link" / "bk",  # a symbolic link is no way around the check
    }[where]
    before, files = _state(source), _tree(src)
    message = "is the collection being copied" if where == "itself" else "lies inside"
    with pytest.raises(InputError, match=message):
        source.backup(dest)
    with pytest.raises(InputError, match=message):
        restore_collection(src, dest)  # a restore into its own source
    assert _tree(src) == files and _state(source) == before
    assert source.check().ok and _entries(tmp_path) == ["link", "src"]


def test_a_restore_into_its_backup_is_refused(source: Collection, tmp_path: Path) -> None:
    source.backup(tmp_path / "bk")
    files = _tree(tmp_path / "bk")
    for dest in (tmp_path / "bk", tmp_path / "bk" / "restored"):
        with pytest.raises(InputError, match="collection being copied"):
            restore_collection(tmp_path / "bk", dest)
    assert _tree(tmp_path / "bk") == files and _entries(tmp_path) == ["bk", "src"]


def test_a_dest_beside_the_source_with_a_shared_prefix_is_fine(
    source: Collection, tmp_path: Path
) -> None:
    # src-backup starts with "src" but is not inside it.
    report = source.backup(tmp_path / "src-backup")
    assert report.articles == source.counts()[0]


def test_the_cli_refuses_a_dest_inside_the_source_with_one_line(
    source: Collection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from semsearch.service.cli import main

    src = tmp_path / "src"
    source.backup(tmp_path / "bk")
    files, backup_files = _tree(src), _tree(tmp_path / "bk")
    for argv in (
        ["index", "backup", str(src / "bk"), "--index", str(src)],
        ["index", "backup", str(src), "--index", str(src)],
        ["index", "restore", str(tmp_path / "bk"), str(tmp_path / "bk" / "again")],
        ["index", "restore", str(src), str(src / "restored")],
    ):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1, captured.err
        assert captured.err.startswith("semsearch: error: ")
        assert "collection being copied" in captured.err
    assert _tree(src) == files and _tree(tmp_path / "bk") == backup_files
    assert _entries(tmp_path) == ["bk", "src"]
