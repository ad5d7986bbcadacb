"""The files of a collection directory and the index description SQLite records.

Private: :class:`~index.collection.Collection` names, loads, locks and cleans up these
files through the functions here; the layout itself is described in
:mod:`index.collection`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from semsearch.index import store
from semsearch.index.errors import CollectionLockedError
from semsearch.index.manifest import MANIFEST_NAME, Manifest, read_manifest, write_manifest
from semsearch.index.segments import Segment, SegmentedVectors
from semsearch.index.store import Connection
from semsearch.index.vectors import VectorIndex

LOCK_NAME = "write.lock"
# One FAISS file per generation: the layout before segments (read as one sealed segment).
VECTORS_PATTERN = re.compile(r"^vectors-(\d{8})\.faiss$")
SEGMENT_PATTERN = re.compile(r"^segment-(\d{8})\.faiss$")
# Lexical engine directories (index._engine), removed with the collection's files.
ENGINE_DIR = re.compile(r"^lexical-\d{6}$")
LOCK_TIMEOUT_S = 60.0
LOCK_POLL_S = 0.05


# SQLite's result code for "database or disk is full".
_SQLITE_FULL = 13


def is_disk_full(exc: BaseException) -> bool:
    """True when a write failed because the device (or the user's quota) is full.

    Args:
        exc: What a write raised: an ``OSError`` from a file write, or SQLite's error.

    Returns:
        Whether freeing space would let the write succeed.
    """
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL
    return False


def vectors_name(generation: int) -> str:
    """File name of the FAISS index of ``generation``."""
    return f"vectors-{generation:08d}.faiss"


def segment_name(number: int) -> str:
    """File name of segment ``number`` (numbers are never reused once committed)."""
    return f"segment-{number:08d}.faiss"


def segment_records(conn: Connection) -> list[dict[str, Any]]:
    """The segments SQLite records for the current generation.

    A collection written before segments records none: its generation's single FAISS
    file is then read as one sealed segment of the collection's kind.

    Args:
        conn: Connection (inside a transaction when the answer must stay true).

    Returns:
        One dict per segment: ``file``, ``sealed``, ``kind``, ``params``, ``vectors``.
    """
    meta = store.read_meta(conn)
    if meta.segments is not None:
        return list(meta.segments)
    return [
        {
            "file": vectors_name(meta.generation),
            "sealed": True,
            "kind": meta.index_kind,
            "params": meta.index_params,
        }
    ]


def load_generation(path: Path, conn: Connection, loaded: dict[str, Segment]) -> SegmentedVectors:
    """The vectors of the generation the snapshot of ``conn`` records.

    Segments already in ``loaded`` are reused (saved segments never change); only the
    others are read from disk. ``loaded`` is left holding exactly this generation's.

    Args:
        path: Collection directory.
        conn: Connection of the snapshot.
        loaded: Segments loaded so far, by file name (updated in place).

    Returns:
        The generation's vectors.
    """
    meta = store.read_meta(conn)
    segments = []
    for record in segment_records(conn):
        segment = loaded.get(record["file"])
        if segment is None:
            segment = load_segment(path, record, meta.dimension)
        segments.append(segment)
    loaded.clear()
    loaded.update({s.file: s for s in segments if s.file is not None})
    return SegmentedVectors(meta.dimension, meta.index_kind, meta.index_params, segments)


def load_segment(path: Path, record: dict[str, Any], dimension: int) -> Segment:
    """One recorded segment: the one this process already holds for its file, else read.

    Saved segments never change, so every collection object of the process that opens
    the same file (a server's reader and writer) shares one copy, and a writer's open
    maps the file as a reader's does.

    Args:
        path: Collection directory.
        record: Its entry in :func:`segment_records`.
        dimension: Expected dimension.

    Returns:
        The segment.
    """
    file = path / record["file"]
    key = _file_key(file)
    with _SHARED_LOCK:
        segment = _SHARED_SEGMENTS.get(key)
    if segment is not None and segment.index.dimension == dimension:
        return segment
    index = VectorIndex.load(
        file,
        dimension=dimension,
        kind=record["kind"],
        params=record.get("params") or {},
        read_only=True,
    )
    segment = Segment(index, file=record["file"], sealed=bool(record["sealed"]))
    with _SHARED_LOCK:
        return _SHARED_SEGMENTS.setdefault(key, segment)


def share_segments(path: Path, segments: list[Segment]) -> None:
    """Offer segments a write just saved to the other collection objects of this process.

    Args:
        path: Collection directory.
        segments: Saved segments (``file`` set).
    """
    with _SHARED_LOCK:
        for segment in segments:
            if segment.file is not None:
                with suppress(FileNotFoundError):
                    _SHARED_SEGMENTS.setdefault(_file_key(path / segment.file), segment)


def _file_key(file: Path) -> tuple[int, int, int, int]:
    """Identity of a saved segment file: a rebuilt directory reusing a name differs."""
    st = file.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# Segments loaded by this process, by file identity; an entry goes when no collection
# object holds its segment any more.
_SHARED_SEGMENTS: weakref.WeakValueDictionary[tuple[int, int, int, int], Segment] = (
    weakref.WeakValueDictionary()
)
_SHARED_LOCK = threading.Lock()


def save_segments(path: Path, conn: Connection, vectors: SegmentedVectors) -> None:
    """Inside a write: save the segments the write made and record the generation's list.

    Each new segment gets a fresh number, so no committed file is ever overwritten;
    a crash before the commit leaves only unlisted files, removed on the next write.

    Args:
        path: Collection directory.
        conn: Connection inside the write transaction.
        vectors: The vectors being written.
    """
    # An empty segment (nothing added, or a merge of deleted vectors only) is not kept.
    vectors.segments = [s for s in vectors.segments if s.ntotal]
    number = store.read_meta(conn).next_segment
    for segment in vectors.segments:
        if segment.file is None:
            name = segment_name(number)
            number += 1
            segment.index.save(path / name)
            segment.file = name
    store.write_meta(
        conn, next_segment=number, segments=[s.record() for s in vectors.segments]
    )


def generation_files(path: Path, conn: Connection) -> list[Path]:
    """Every file the current generation of a collection consists of.

    The manifest, the SQLite database and each segment's FAISS file (what a backup
    copies; the write lock and SQLite's -wal/-shm companions are not listed).

    Args:
        path: Collection directory.
        conn: Connection (inside a transaction when the answer must stay true).

    Returns:
        The paths, manifest and database first.
    """
    segments = [path / name for name in vector_files(conn)]
    return [path / MANIFEST_NAME, path / store.DATABASE_NAME, *segments]


@contextmanager
def file_lock(path: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the exclusive writer lock of the collection in ``path``.

    Args:
        path: Collection directory.
        timeout_s: How long to wait for another process to let go (0: try once).

    Raises:
        CollectionLockedError: Another process held it for ``timeout_s``.
    """
    handle = open(path / LOCK_NAME, "a+")  # noqa: SIM115 - held across the yield
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise CollectionLockedError(
                        f"{path} is being written by another process"
                    ) from exc
                time.sleep(LOCK_POLL_S)
        yield
    finally:
        handle.close()


def rewrite_manifest(path: Path, conn: Connection) -> None:
    """Replace the manifest with what SQLite records (the model fields are kept).

    Args:
        path: Collection directory.
        conn: Connection of the write that just committed (or holds the writer lock).
    """
    meta = store.read_meta(conn)
    records = segment_records(conn)
    articles, passages = store.counts(conn)
    previous = read_manifest(path)
    manifest = Manifest(
        model_fingerprint=previous.model_fingerprint,
        model_name=previous.model_name,
        dimension=previous.dimension,
        index_kind=meta.index_kind,
        index_params=meta.index_params,
        index_auto=meta.index_auto,
        recall_at_10=meta.recall_at_10,
        articles=articles,
        passages=passages,
        generation=meta.generation,
        segments=[
            {"file": r["file"], "sealed": r["sealed"], "kind": r["kind"], "vectors": r.get("vectors")}
            for r in records
        ],
    )
    write_manifest(path, manifest)


def remove_stray_files(path: Path, keep: set[str]) -> None:
    """Delete FAISS files no longer listed and leftover temporary files.

    Args:
        path: Collection directory.
        keep: File names of the current generation's segments.
    """
    for entry in path.iterdir():
        faiss_file = VECTORS_PATTERN.match(entry.name) or SEGMENT_PATTERN.match(entry.name)
        stale = (faiss_file and entry.name not in keep) or (
            entry.name.startswith(".") and entry.name.endswith(".tmp")
        )
        if stale:
            with suppress(FileNotFoundError):
                entry.unlink()


def listed_files(conn: Connection) -> set[str]:
    """File names of the segments the current generation lists."""
    return set(vector_files(conn))


def vector_files(conn: Connection) -> list[str]:
    """File names of the current generation's segments, in the order it lists them."""
    return [record["file"] for record in segment_records(conn)]


def remove_collection_files(path: Path) -> None:
    """Delete a collection's files (not the directory), e.g. before a fresh build."""
    for entry in path.iterdir():
        if entry.is_dir() and ENGINE_DIR.match(entry.name):
            shutil.rmtree(entry)
            continue
        if entry.is_file() and (
            entry.name in ("manifest.json", LOCK_NAME)
            or entry.name.startswith(store.DATABASE_NAME)
            or VECTORS_PATTERN.match(entry.name)
            or SEGMENT_PATTERN.match(entry.name)
        ):
            os.unlink(entry)
