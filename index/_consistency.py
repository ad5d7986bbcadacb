"""Checking a collection's manifest, SQLite and FAISS against each other and the model.

Private: :meth:`~index.collection.Collection.check`, :meth:`~index.collection.Collection.repair`
and :meth:`~index.collection.Collection.open` run these under the collection's locks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.index import store
from semsearch.index._files import (
    listed_files,
    load_generation,
    remove_stray_files,
    save_segments,
)
from semsearch.index._rebuild import rebuild
from semsearch.index.errors import ModelMismatchError
from semsearch.index.manifest import Manifest, read_manifest
from semsearch.index.results import CheckReport
from semsearch.index.segments import SegmentedVectors
from semsearch.index.store import Connection


def check_model(path: Path, manifest: Manifest, embedder: TextEmbedder) -> None:
    """Refuse a model other than the one the collection was built with.

    Args:
        path: Collection directory (named in the message).
        manifest: The collection's manifest.
        embedder: The loaded model.

    Raises:
        ModelMismatchError: Another model, or another dimension.
    """
    if embedder.fingerprint != manifest.model_fingerprint:
        raise ModelMismatchError(
            f"{path} was built with model {manifest.model_name}"
            f" ({manifest.model_fingerprint[:12]}); the loaded model is"
            f" {embedder.model_name} ({embedder.fingerprint[:12]}). Use the same model"
            " or build a new collection."
        )
    if embedder.dimension != manifest.dimension:
        raise ModelMismatchError(
            f"{path} holds {manifest.dimension}-d vectors; the model gives {embedder.dimension}-d"
        )


def check(path: Path, conn: Connection) -> CheckReport:
    """Compare manifest, SQLite and FAISS in one read transaction; nothing is changed.

    Args:
        path: Collection directory.
        conn: Connection outside any transaction (callers hold the collection's lock).

    Returns:
        The report; ``ok`` is False when vectors must be rebuilt. A manifest that
        lags one committed generation (crash after commit) is reported but ``ok``.
    """
    problems: list[str] = []
    notes: list[str] = []
    store.begin(conn)
    try:
        meta = store.read_meta(conn)
        generation = meta.generation
        manifest = read_manifest(path)
        if manifest.generation != generation:
            notes.append(f"manifest at generation {manifest.generation}, database at {generation}")
        if manifest.model_fingerprint != meta.model_fingerprint:
            problems.append("manifest and database record different models")
        vectors_problem = _vectors_problem(path, conn, generation)
        if vectors_problem is not None:
            problems.append(vectors_problem)
        articles, passages = store.counts(conn)
        if generation == manifest.generation and (
            manifest.articles != articles or manifest.passages != passages
        ):
            notes.append("manifest counts differ from the database")
    finally:
        store.commit(conn)
    return CheckReport(ok=not problems, problems=problems + notes)


def _vectors_problem(path: Path, conn: Connection, generation: int) -> str | None:
    """What is wrong with the segments of ``generation``, or None when they fit the rows.

    Every live or tombstoned passage must be stored exactly once over all segments.
    """
    live = np.asarray(store.all_passage_ids(conn), dtype=np.int64)
    tombs = np.asarray(store.tombstones(conn), dtype=np.int64)
    try:
        vectors = load_generation(path, conn, {})
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        return f"vectors of generation {generation} unreadable ({exc})"
    stored = np.sort(vectors.ids())
    expected = np.union1d(live, tombs)
    if len(stored) != len(expected) or not np.array_equal(stored, expected):
        return (
            f"FAISS holds {len(stored)} vectors, database {len(live)} passages"
            f" (+{len(tombs)} tombstones) and the ids differ"
        )
    return None


def rebuild_vectors(
    path: Path, conn: Connection, embedder: Callable[[], TextEmbedder]
) -> tuple[SegmentedVectors, int]:
    """Rebuild the vectors of the current rows from SQLite and commit them.

    The caller holds the writer's file lock; the manifest is left for it to rewrite.

    Args:
        path: Collection directory.
        conn: Connection outside any transaction.
        embedder: Gives the embedder that re-embeds every passage.

    Returns:
        ``(vectors, generation)``: the rebuilt vectors (one sealed segment) and the
        generation they were committed as.
    """
    # Rebuild into the current generation's slot under the writer lock; the
    # rows are unchanged, so readers may pair them with the rebuilt vectors.
    store.begin(conn, write=True)
    try:
        meta = store.read_meta(conn)
        remove_stray_files(path, listed_files(conn))
        # Do not trust any loaded index here: re-embed (the cache makes it cheap).
        params = {} if meta.index_auto else meta.index_params
        rebuilt, _recall = rebuild(conn, meta.index_kind, params, current=None, embedder=embedder)
        vectors = SegmentedVectors(rebuilt.dimension, meta.index_kind, rebuilt.params, [])
        vectors.replace_all(rebuilt)
        new_generation = meta.generation + 1
        save_segments(path, conn, vectors)
        store.write_meta(conn, index_params=vectors.params, generation=new_generation)
        store.clear_tombstones(conn)
        store.commit(conn)
    except BaseException:
        if conn.in_transaction:
            store.rollback(conn)
        raise
    return vectors, new_generation
