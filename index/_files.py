"""The files of a collection directory and the index description SQLite records.

Private: :class:`~index.collection.Collection` names, loads, locks and cleans up these
files through the functions here; the layout itself is described in
:mod:`index.collection`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from semsearch.index import store
from semsearch.index.errors import CollectionLockedError
from semsearch.index.manifest import Manifest, read_manifest, write_manifest
from semsearch.index.vectors import VectorIndex

LOCK_NAME = "write.lock"
VECTORS_PATTERN = re.compile(r"^vectors-(\d{8})\.faiss$")
LOCK_TIMEOUT_S = 60.0
LOCK_POLL_S = 0.05


def vectors_name(generation: int) -> str:
    """File name of the FAISS index of ``generation``."""
    return f"vectors-{generation:08d}.faiss"


def generation_files(path: Path, conn: Any, generation: int) -> list[str]:
    """Names of the files, beside the database, that hold the vectors of ``generation``.

    The one list of a generation's files: backups copy exactly these, so a layout with
    more files per generation only has to be described here.

    Args:
        path: Collection directory.
        conn: Connection of the snapshot that recorded ``generation``.
        generation: A committed generation.

    Returns:
        File names relative to ``path``.
    """
    del path, conn  # one FAISS file per generation: its name follows from the number
    return [vectors_name(generation)]


def meta_state(conn: Any) -> tuple[int, str, dict[str, Any]]:
    """The generation, index kind and index params that SQLite records.

    Args:
        conn: Connection (inside a transaction when the answer must stay true).

    Returns:
        ``(generation, kind, params)``.
    """
    generation = store.get_int(conn, "generation")
    kind = store.get_meta(conn, "index_kind", "flat") or "flat"
    params = json.loads(store.get_meta(conn, "index_params", "{}") or "{}")
    return generation, kind, params


def load_vectors(
    path: Path,
    conn: Any,
    generation: int,
    kind: str,
    params: dict[str, Any],
    *,
    read_only: bool,
) -> VectorIndex:
    """Load the FAISS index of ``generation`` with the dimension SQLite records.

    Args:
        path: Collection directory.
        conn: Connection of the snapshot that recorded ``generation``.
        generation: Generation whose FAISS file to load.
        kind: Index kind.
        params: Kind parameters.
        read_only: Memory-map large files instead of reading them.

    Returns:
        The loaded index.
    """
    return VectorIndex.load(
        path / vectors_name(generation),
        dimension=store.get_int(conn, "dimension"),
        kind=kind,
        params=params,
        read_only=read_only,
    )


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive writer lock of the collection in ``path``.

    Args:
        path: Collection directory.

    Raises:
        CollectionLockedError: Another process held it for :data:`LOCK_TIMEOUT_S`.
    """
    handle = open(path / LOCK_NAME, "a+")  # noqa: SIM115 - held across the yield
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    raise CollectionLockedError(
                        f"{path} is being written by another process"
                    ) from exc
                time.sleep(LOCK_POLL_S)
        yield
    finally:
        handle.close()


def rewrite_manifest(path: Path, conn: Any) -> None:
    """Replace the manifest with what SQLite records (the model fields are kept).

    Args:
        path: Collection directory.
        conn: Connection of the write that just committed (or holds the writer lock).
    """
    generation, kind, params = meta_state(conn)
    articles, passages = store.counts(conn)
    recall = store.get_meta(conn, "recall_at_10")
    previous = read_manifest(path)
    manifest = Manifest(
        model_fingerprint=previous.model_fingerprint,
        model_name=previous.model_name,
        dimension=previous.dimension,
        index_kind=kind,
        index_params=params,
        index_auto=bool(store.get_int(conn, "index_auto")),
        recall_at_10=float(recall) if recall else None,
        articles=articles,
        passages=passages,
        generation=generation,
        vectors_file=vectors_name(generation),
    )
    write_manifest(path, manifest)


def remove_stray_files(path: Path, current: int | None) -> None:
    """Delete FAISS files of other generations and leftover temporary files.

    Args:
        path: Collection directory.
        current: The generation whose FAISS file stays.
    """
    for entry in path.iterdir():
        match = VECTORS_PATTERN.match(entry.name)
        stale = (match and int(match.group(1)) != current) or (
            entry.name.startswith(".") and entry.name.endswith(".tmp")
        )
        if stale:
            with suppress(FileNotFoundError):
                entry.unlink()


def remove_collection_files(path: Path) -> None:
    """Delete a collection's files (not the directory), e.g. before a fresh build."""
    for entry in path.iterdir():
        if entry.is_file() and (
            entry.name in ("manifest.json", LOCK_NAME)
            or entry.name.startswith(store.DATABASE_NAME)
            or VECTORS_PATTERN.match(entry.name)
        ):
            os.unlink(entry)
