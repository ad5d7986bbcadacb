"""What the web app holds while it runs: the model, a read-only and a writable collection.

Reads go through a read-only :class:`~semsearch.index.Collection` (it reloads vectors when a
write commits a new generation, and serves each thread on its own connection). Writes go through a second, writable collection under one lock, in a
worker thread, so a long write never blocks a search.

Query embeddings pass through :class:`QueryEncoder`: a small in-memory LRU for repeated
queries and a micro-batcher that encodes queries arriving together in one model call.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from semsearch.embedder.base import TextEmbedder, WrappedEmbedder
from semsearch.embedder.ingest import PARAGRAPH_SEPARATOR, IngestOptions, prepare_articles
from semsearch.embedder.records import Article, Passage
from semsearch.index import Collection, StoredPassage, UpsertReport
from semsearch.index.cluster import read_cluster
from semsearch.index.searchable import Searchable
from semsearch.index.sharded import DEFAULT_CLUSTER, ClusterConfig, ShardClient, ShardedCollection
from semsearch.service.config import ServiceSettings
from semsearch.service.context import ExtractorLoader, load_extractor
from semsearch.service.write_guard import GuardedEmbedder

# Batch sizes remembered between two metrics scrapes.
BATCH_HISTORY = 10_000


class QueryEncoder(WrappedEmbedder):
    """Wraps an embedder: query embeddings are cached (LRU) and micro-batched.

    Implements :class:`embedder.base.TextEmbedder`, so it can be handed to a collection;
    passages go straight to the wrapped embedder. Queries that arrive while the model is
    busy are encoded together in its next call; a lone query goes at once, since waiting
    for company would add its wait to every single-client request.

    Args:
        inner: The real embedder.
        cache_size: Query vectors kept in memory (0 disables the cache).
        window_s: Extra wait of a batch's first query for company (0: none).
        max_batch: Most queries per model call (1: no batching).
    """

    def __init__(
        self, inner: TextEmbedder, *, cache_size: int, window_s: float, max_batch: int
    ) -> None:
        super().__init__(inner)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._window_s = window_s
        self._max_batch = max_batch
        self._queue: queue.Queue[tuple[list[str], Future[np.ndarray]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.hits = 0
        self.misses = 0
        # Sizes of recent model calls, drained by metrics; bounded in case nobody scrapes.
        self.batches: deque[int] = deque(maxlen=BATCH_HISTORY)
        if max_batch > 1:
            self._thread = threading.Thread(target=self._run, name="query-batcher", daemon=True)
            self._thread.start()

    # TextEmbedder protocol -------------------------------------------------------------

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries, from the cache where possible.

        Args:
            texts: Queries.

        Returns:
            ``(len(texts), dimension)`` float32 vectors.
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing: list[int] = []
        with self._cache_lock:
            for i, text in enumerate(texts):
                vector = self._cache.get(text)
                if vector is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = vector
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if missing:
            fresh = self._encode([texts[i] for i in missing])
            out[missing] = fresh
            if self._cache_size:
                with self._cache_lock:
                    for i, vector in zip(missing, fresh, strict=True):
                        self._cache[texts[i]] = vector
                        self._cache.move_to_end(texts[i])
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return out

    # batching --------------------------------------------------------------------------

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._thread is None:
            self._note_batch(len(texts))
            return self.inner.embed_queries(texts)
        done: Future[np.ndarray] = Future()
        self._queue.put((texts, done))
        return done.result()

    def _note_batch(self, size: int) -> None:
        with self._cache_lock:
            self.batches.append(size)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            count = len(first[0])
            deadline = time.monotonic() + self._window_s
            while count < self._max_batch:
                remaining = deadline - time.monotonic()
                try:
                    # What queued up while the model was busy joins without waiting.
                    job = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                jobs.append(job)
                count += len(job[0])
            texts = [t for job_texts, _ in jobs for t in job_texts]
            try:
                self._note_batch(len(texts))
                vectors = self.inner.embed_queries(texts)
            except BaseException as exc:  # hand the failure to every waiting request
                for _, done in jobs:
                    done.set_exception(exc)
                continue
            start = 0
            for job_texts, done in jobs:
                done.set_result(vectors[start : start + len(job_texts)])
                start += len(job_texts)

    def close(self) -> None:
        """Stop the batching thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def drain_batches(self) -> list[int]:
        """Sizes of the model calls since the last drain (for the metrics histogram)."""
        with self._cache_lock:
            sizes = list(self.batches)
            self.batches.clear()
        return sizes

    def model_seconds(self) -> float:
        """Cumulative model time of the wrapped embedder (0 when it does not say)."""
        return float(getattr(self.inner, "model_seconds", 0.0))


# The index's stored-passage row (passage plus its article's display fields) is the record.
PassageRecord = StoredPassage


@dataclass(kw_only=True)
class ArticleRecord:
    """A stored article, its paragraphs and passages."""

    fields: dict[str, Any]
    paragraphs: list[dict[str, Any]]
    passages: list[PassageRecord] = field(default_factory=list)


def read_article(collection: Searchable, article_id: str) -> ArticleRecord | None:
    """An article with paragraphs (offsets into its text) and passages; None when absent."""
    found = collection.article_with_passages(article_id)
    if found is None:
        return None
    row, passages = found
    return ArticleRecord(
        fields=row, paragraphs=split_paragraphs(str(row["text"])), passages=passages
    )


def split_paragraphs(text: str) -> list[dict[str, Any]]:
    """Paragraphs of a clean article text with their offsets.

    Args:
        text: The article's clean text (paragraphs joined by a blank line).

    Returns:
        ``{"index", "text", "start", "end"}`` per paragraph.
    """
    out: list[dict[str, Any]] = []
    cursor = 0
    for body in text.split(PARAGRAPH_SEPARATOR):
        out.append({"index": len(out), "text": body, "start": cursor, "end": cursor + len(body)})
        cursor += len(body) + len(PARAGRAPH_SEPARATOR)
    return out


def prepare_records(
    records: Sequence[dict[str, Any]],
    embedder: TextEmbedder,
    options: IngestOptions | None = None,
) -> list[tuple[Article, list[Passage]]]:
    """Clean and cut records exactly as ``semsearch ingest`` does for JSONL input.

    Args:
        records: Raw record dicts (``id``, ``title``, ``text``, ``date``... extra fields
            become metadata).
        embedder: Counts tokens for the passage cutter.
        options: Size limits (and defaults) as for ``semsearch ingest``.

    Returns:
        ``(article, passages)`` pairs.

    Raises:
        InputError: A record is unusable (message names it as ``articles[i]``).
    """
    # Errors (InputError) name the record as ``articles[i]``.
    return list(prepare_articles(records, embedder, options=options, label="articles"))


class Writable(Protocol):
    """What the runtime writes through: one collection, or a sharded one."""

    def upsert(self, items: Sequence[tuple[Article, list[Passage]]]) -> UpsertReport: ...

    def delete(self, article_ids: Sequence[str]) -> int: ...

    def close(self) -> None: ...


class Runtime:
    """The loaded model and collections a running app uses.

    Args:
        index_path: Collection directory.
        embedder: The embedder the collection was built with.
        settings: Service limits and batching.
        extractor: Builds the entity tagger writes use when ``settings.entities`` (loaded
            at the first write).
    """

    def __init__(
        self,
        index_path: Path,
        embedder: TextEmbedder,
        settings: ServiceSettings,
        extractor: ExtractorLoader = load_extractor,
    ) -> None:
        self.path = Path(index_path)
        self.settings = settings
        self._extractor = extractor
        self.encoder = QueryEncoder(
            embedder,
            cache_size=settings.query_cache_size,
            window_s=settings.batch_window_ms / 1000.0,
            max_batch=settings.max_query_batch,
        )
        self.collection: Searchable = self._open_reader()
        self._write_lock = threading.Lock()
        self._writer: Writable | None = None
        # Set on shutdown: a write in progress is rolled back within a chunk of passages.
        self.stopping = threading.Event()
        self._guard = GuardedEmbedder(embedder, self.stopping, settings.max_write_seconds)

    def _open_reader(self) -> Searchable:
        return Collection.open(self.path, self.encoder, read_only=True)

    def _writable(self) -> Writable:
        if self._writer is None:
            self._writer = Collection.open(
                self.path,
                self._guard,
                background_merges=self.settings.background_merges,
                entities=self._extractor(self.settings) if self.settings.entities else None,
            )
        return self._writer

    def upsert(self, items: list[tuple[Article, list[Passage]]]) -> UpsertReport:
        """Add or replace articles in one atomic write (one writer at a time).

        Args:
            items: Prepared ``(article, passages)`` pairs.

        Returns:
            What changed.
        """
        with self._write_lock:
            self._guard.check()
            self._guard.start_write()
            try:
                return self._writable().upsert(items)
            finally:
                self._guard.end_write()

    def delete(self, article_id: str) -> int:
        """Delete one article; returns how many were deleted (0 or 1)."""
        with self._write_lock:
            return self._writable().delete([article_id])

    def close(self) -> None:
        """Release collections, connection and the batching thread."""
        self.stopping.set()  # a write still running gives up rather than holding the exit
        self.encoder.close()
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.collection.close()


class ClusterRuntime(Runtime):
    """The runtime of a sharded collection: the same app, searching and writing through a
    :class:`~semsearch.index.sharded.ShardedCollection` whose shards may be remote.

    Args:
        cluster_path: The cluster directory (its manifest is read here).
        embedder: The cluster's model (queries and written passages are embedded here, once).
        settings: Service limits and batching.
        shards: One client per shard, in shard order.
        config: Shard deadlines.
    """

    def __init__(
        self,
        cluster_path: Path,
        embedder: TextEmbedder,
        settings: ServiceSettings,
        shards: Sequence[ShardClient],
        config: ClusterConfig = DEFAULT_CLUSTER,
    ) -> None:
        self._shards = list(shards)
        self._config = config
        self._manifest = read_cluster(cluster_path)
        super().__init__(cluster_path, embedder, settings)

    def _open_reader(self) -> Searchable:
        self._cluster = ShardedCollection(self._manifest, self._shards, self.encoder, self._config)
        return self._cluster

    def _writable(self) -> Writable:
        # Writes embed through the guard (a shutdown stops them), on the same shard clients.
        if self._writer is None:
            writer = self._cluster.with_embedder(self._guard)
            # Tagged here at the ingress, as one collection's writer tags (the shards store).
            writer.entities = self._extractor(self.settings) if self.settings.entities else None
            self._writer = writer
        return self._writer

    def close(self) -> None:
        """Release the shards and the batching thread."""
        self.stopping.set()
        self.encoder.close()
        with self._write_lock:
            self._writer = None
        self.collection.close()
