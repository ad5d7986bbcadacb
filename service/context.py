"""Opening what a command or request needs: settings -> embedder -> collection."""

from __future__ import annotations

from pathlib import Path

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.errors import InputError
from semsearch.embedder.settings import Settings
from semsearch.index import Collection, lexical


def collection_path(settings: Settings, *, must_exist: bool) -> Path:
    """The collection directory, checked to hold a collection when ``must_exist``.

    Raises:
        InputError: No collection there.
    """
    path = settings.resolved_index()
    if must_exist and not Collection.exists(path):
        raise InputError(
            f"no collection at {path}: run `semsearch ingest FILES --index {path}` first"
        )
    return path


def open_for_reading(settings: Settings, *, with_model: bool = True) -> Collection:
    """Open the configured collection read-only (lexical-only work needs no model).

    Args:
        settings: Effective settings.
        with_model: Load the embedding model (needed for dense, hybrid and similar).

    Returns:
        The open collection.
    """
    path = collection_path(settings, must_exist=True)
    embedder = Embedder.from_settings(settings) if with_model else None
    warm_up(embedder)
    return Collection.open(path, embedder, read_only=True)


def warm_up(embedder: Embedder | None) -> None:
    """Load what the first search would otherwise load (jieba's dictionary, the query
    model), so that start-up is not counted as search time.

    Args:
        embedder: The embedder searches will use, if any.
    """
    lexical.warm_up()
    if embedder is not None:
        embedder.warm_up()


def open_for_writing(settings: Settings, *, create: bool) -> Collection:
    """Open (or create) the configured collection for writing, with the model loaded.

    Args:
        settings: Effective settings.
        create: Create the collection when the directory holds none.

    Returns:
        The open, writable collection.
    """
    path = collection_path(settings, must_exist=not create)
    return Collection.open(path, Embedder.from_settings(settings), create=create)
