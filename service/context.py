"""Opening what a command or request needs: settings -> embedder -> collection.

A command does not load the model itself: it asks the :class:`CommandContext` its caller
hands it. The console script's default loads from disk on every call, which is right for
one command per process; a caller running many commands in one process (a test session, a
notebook, a batch driver) hands in an :class:`EmbedderPool`, which loads each
configuration once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.embedder import Embedder
from semsearch.embedder.errors import InputError
from semsearch.embedder.settings import Settings
from semsearch.index import Collection, lexical
from semsearch.index.cluster import is_cluster
from semsearch.index.searchable import Searchable
from semsearch.index.sharded import ShardedCollection

if TYPE_CHECKING:  # the package loads the tagger's ONNX runtime: only writers import it
    from semsearch.embedder.entities import EntityExtractor

EmbedderLoader = Callable[[Settings], TextEmbedder]
"""Builds the embedder the effective settings describe (model, backend, threads, cache)."""
ExtractorLoader = Callable[[Settings], "EntityExtractor"]
"""Builds the named-entity extractor the settings describe (threads, batch size)."""


def load_embedder(settings: Settings) -> TextEmbedder:
    """The default :data:`EmbedderLoader`: load the configured model from disk."""
    return Embedder.from_settings(settings)


_EXTRACTORS: dict[tuple[int, int], EntityExtractor] = {}
_EXTRACTORS_LOCK = threading.Lock()


def load_extractor(settings: Settings) -> EntityExtractor:
    """The default :data:`ExtractorLoader`: the packaged LAC tagger, loaded once per
    process and configuration (it takes about a second)."""
    from semsearch.embedder.entities import EntityConfig, EntityExtractor

    key = (settings.entity_threads, settings.entity_batch_size)
    with _EXTRACTORS_LOCK:
        found = _EXTRACTORS.get(key)
        if found is None:
            found = _EXTRACTORS[key] = EntityExtractor(EntityConfig.from_settings(settings))
        return found


@runtime_checkable
class WarmsUp(Protocol):
    """An embedder that can load its lazily loaded parts ahead of the first query."""

    def warm_up(self) -> None: ...


def embedder_key(settings: Settings) -> tuple[object, ...]:
    """Everything in ``settings`` that :meth:`Embedder.from_settings` reads.

    Two settings with the same key build interchangeable embedders.
    """
    return (
        settings.resolved_model(),
        settings.backend,
        settings.threads,
        settings.batch_size,
        settings.max_seq_length,
        settings.progress,
        settings.resolved_cache_dir() if settings.cache else None,
        settings.resolved_artefact_dir(),
    )


class EmbedderPool:
    """An :data:`EmbedderLoader` that loads each configuration once and then hands the
    same embedder out again (loading costs seconds; embedders are safe to share between
    commands run one after another).

    Args:
        load: Builds an embedder the pool has not seen yet.
    """

    def __init__(self, load: EmbedderLoader = load_embedder) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: dict[tuple[object, ...], TextEmbedder] = {}

    def add(self, settings: Settings, embedder: TextEmbedder) -> None:
        """Hand out ``embedder`` (already loaded by the caller) for ``settings``."""
        with self._lock:
            self._loaded[embedder_key(settings)] = embedder

    def __call__(self, settings: Settings) -> TextEmbedder:
        key = embedder_key(settings)
        with self._lock:
            found = self._loaded.get(key)
            if found is None:
                # A failed load (no model there) raises and leaves nothing behind.
                found = self._loaded[key] = self._load(settings)
            return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._loaded)


@dataclass(frozen=True)
class CommandContext:
    """What a command takes from its caller instead of building itself.

    Attributes:
        load_embedder: Builds the embedder for the command's effective settings; by
            default the model is loaded from disk each time.
        load_extractor: Builds the named-entity extractor writes tag with (when the
            settings' ``entities`` is on); by default the packaged LAC model.
    """

    load_embedder: EmbedderLoader = field(default=load_embedder)
    load_extractor: ExtractorLoader = field(default=load_extractor)


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


def open_for_reading(
    settings: Settings, *, with_model: bool = True, load: EmbedderLoader = load_embedder
) -> Collection:
    """Open the configured collection read-only (lexical-only work needs no model).

    Args:
        settings: Effective settings.
        with_model: Load the embedding model (needed for dense, hybrid and similar).
        load: Builds the embedder (:attr:`CommandContext.load_embedder`).

    Returns:
        The open collection.
    """
    path = collection_path(settings, must_exist=True)
    embedder = load(settings) if with_model else None
    warm_up(embedder)
    return Collection.open(path, embedder, read_only=True)


@contextmanager
def open_for_search(
    settings: Settings, *, with_model: bool = True, load: EmbedderLoader = load_embedder
) -> Iterator[Searchable]:
    """Open the configured collection, or the sharded collection at that path, to search.

    Args:
        settings: Effective settings (``--index`` may name a cluster directory).
        with_model: Load the embedding model (needed for dense, hybrid and similar).
        load: Builds the embedder.

    Yields:
        The collection (one or sharded), closed afterwards.
    """
    path = settings.resolved_index()
    if not is_cluster(path):
        with open_for_reading(settings, with_model=with_model, load=load) as collection:
            yield collection
        return
    embedder = load(settings) if with_model else None
    warm_up(embedder)
    with ShardedCollection.open(path, embedder) as cluster:
        yield cluster


def warm_up(embedder: TextEmbedder | None) -> None:
    """Load what the first search would otherwise load (jieba's dictionary, the query
    model), so that start-up is not counted as search time.

    Args:
        embedder: The embedder searches will use, if any.
    """
    lexical.warm_up()
    if isinstance(embedder, WarmsUp):
        embedder.warm_up()


def open_for_writing(
    settings: Settings,
    *,
    create: bool,
    load: EmbedderLoader = load_embedder,
    extractor: ExtractorLoader | None = None,
) -> Collection:
    """Open (or create) the configured collection for writing, with the model loaded.

    Args:
        settings: Effective settings.
        create: Create the collection when the directory holds none.
        load: Builds the embedder (:attr:`CommandContext.load_embedder`).
        extractor: Builds the entity tagger upserts use when ``settings.entities``
            (:attr:`CommandContext.load_extractor`; None: this write adds no articles).

    Returns:
        The open, writable collection.
    """
    path = collection_path(settings, must_exist=not create)
    entities = extractor(settings) if extractor is not None and settings.entities else None
    return Collection.open(path, load(settings), create=create, entities=entities)
