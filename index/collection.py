"""The public :class:`Collection`: a durable FAISS + SQLite collection with hybrid search.

Layout of a collection directory::

    manifest.json           format, model fingerprint, dimension, index kind, counts, generation
    collection.sqlite       articles, passages, FTS5 lexical index, meta (WAL mode)
    vectors-00000042.faiss  the FAISS index of generation 42
    write.lock              fcntl lock held by the one writer

Crash safety: SQLite's ``meta.generation`` is the commit point. A write saves the new
FAISS file under the next generation's name, then commits the SQLite transaction that
records that generation, then swaps the manifest (``os.replace``), then deletes older
FAISS files. A crash before the commit leaves the old generation (the orphan file is
deleted on the next write/open); after it, the new one (the manifest is rolled forward on
open). Readers take a SQLite snapshot, read its generation and load that FAISS file, so
they always pair vectors and rows of the same generation while a writer runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from embedder.base import TextEmbedder
from embedder.records import Article, Passage
from index import lexical, store
from index.errors import (
    CollectionError,
    CollectionLockedError,
    InputError,
    ModelMismatchError,
)
from index.filters import Filters
from index.fusion import DEFAULT_FUSION, Fused, FusionParams, fuse, lexical_weight
from index.manifest import Manifest, read_manifest, write_manifest
from index.results import (
    SEARCH_MODES,
    CheckReport,
    CollectionInfo,
    SearchHit,
    SearchResponse,
    UpsertReport,
)
from index.snippets import SnippetStyle, make_snippet
from index.vectors import KINDS, VectorIndex, choose_kind, measure_recall

LOCK_NAME = "write.lock"
VECTORS_PATTERN = re.compile(r"^vectors-(\d{8})\.faiss$")
LOCK_TIMEOUT_S = 60.0
LOCK_POLL_S = 0.05
# Passages embedded per call while ingesting or rebuilding.
EMBED_BATCH = 256
REBUILD_BATCH = 200_000
# Candidates fetched from each side before fusion / collapsing; doubled until a page fills.
MIN_CANDIDATES = 100
COLLAPSE_OVERFETCH = 4
# HNSW cannot delete: rebuild once this share of its vectors are tombstones.
TOMBSTONE_REBUILD_FRACTION = 0.25
# Queries sampled from the data to measure recall@10 of a non-exact index.
RECALL_SAMPLE = 200
RECALL_SEED = 7
# A reader retries when a writer deleted the FAISS file of the generation it just read.
READ_RETRIES = 5


class _ReadView(NamedTuple):
    """What one read snapshot searches: a generation's vectors, tombstones and size."""

    vectors: VectorIndex
    tombstones: np.ndarray
    passages: int


def vectors_name(generation: int) -> str:
    """File name of the FAISS index of ``generation``."""
    return f"vectors-{generation:08d}.faiss"


class Collection:
    """A searchable, updatable archive of articles in one directory.

    Use :meth:`create` or :meth:`open`; close with :meth:`close` or a ``with`` block.
    One process writes at a time (an exclusive file lock); any number read. A read-only
    collection serves reads from many threads in parallel, each on its own SQLite
    connection; a writable one serialises its reads with its writes.
    """

    def __init__(
        self, path: Path, embedder: TextEmbedder | None, conn: Any, *, read_only: bool
    ) -> None:
        self.path = path
        self.embedder = embedder
        self.read_only = read_only
        self._main_conn = conn
        self._lock = threading.RLock()
        self._vectors: VectorIndex | None = None
        self._generation: int | None = None
        self._tombstones = np.zeros(0, dtype=np.int64)
        # Passage count of the loaded generation: counting rows costs ~1.5 ms at 100k.
        self._passages_of: tuple[int, int] | None = None
        # Per-thread read connection and view while that thread is inside a snapshot.
        self._local = threading.local()
        self._reader_conns: list[Any] = []

    @property
    def _conn(self) -> Any:
        """The connection of the current thread's read snapshot, else the main one."""
        return getattr(self._local, "conn", None) or self._main_conn

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def create(
        cls,
        path: str | Path,
        embedder: TextEmbedder,
        *,
        kind: str = "auto",
        params: dict[str, Any] | None = None,
        analyzer: str = lexical.DEFAULT_ANALYZER,
    ) -> Collection:
        """Create an empty collection.

        Args:
            path: Directory (created; must not already hold a collection).
            embedder: Embeds passages and queries; its fingerprint is recorded.
            kind: Vector index kind, or ``auto`` (chosen by size: see
                :func:`index.vectors.choose_kind`).
            params: Kind parameters (defaults filled in).
            analyzer: Lexical analyzer (one of :data:`index.lexical.ANALYZERS`).

        Returns:
            The open collection (writable).
        """
        path = Path(path)
        if (path / "manifest.json").exists():
            raise CollectionError(f"{path} already holds a collection")
        if kind != "auto" and kind not in KINDS:
            raise InputError(f"unknown index kind {kind!r}; choose auto or one of {', '.join(KINDS)}")
        _known_analyzer(analyzer)
        path.mkdir(parents=True, exist_ok=True)
        conn = store.connect(path / store.DATABASE_NAME)
        actual_kind = choose_kind(0) if kind == "auto" else kind
        with store.transaction(conn, write=True):
            store.set_meta(conn, "generation", 0)
            store.set_meta(conn, "index_kind", actual_kind)
            store.set_meta(conn, "index_params", json.dumps(params or {}))
            store.set_meta(conn, "index_auto", int(kind == "auto"))
            store.set_meta(conn, "model_fingerprint", embedder.fingerprint)
            store.set_meta(conn, "dimension", embedder.dimension)
            store.set_meta(conn, store.ANALYZER_KEY, analyzer)
        VectorIndex(embedder.dimension, actual_kind, dict(params or {})).save(path / vectors_name(0))
        manifest = Manifest(
            model_fingerprint=embedder.fingerprint,
            model_name=embedder.model_name,
            dimension=embedder.dimension,
            index_kind=actual_kind,
            index_params=dict(params or {}),
            index_auto=kind == "auto",
            vectors_file=vectors_name(0),
        )
        write_manifest(path, manifest)
        collection = cls(path, embedder, conn, read_only=False)
        collection._sync(force=True)
        return collection

    @classmethod
    def open(
        cls,
        path: str | Path,
        embedder: TextEmbedder | None,
        *,
        read_only: bool = False,
        repair: bool = True,
        create: bool = False,
    ) -> Collection:
        """Open a collection, checking manifest, SQLite and FAISS against each other.

        Args:
            path: Collection directory.
            embedder: The model it was built with (None: lexical search and info only).
            read_only: Never write (no repair, no lock); large FAISS files are memory-mapped.
            repair: Rebuild inconsistent vectors from SQLite through the embedder (whose
                cache makes that cheap) instead of refusing.
            create: Create the collection when the directory holds none.

        Returns:
            The open collection.

        Raises:
            ModelMismatchError: Built with another model.
            CollectionError: Missing, or inconsistent and not repaired.
        """
        path = Path(path)
        if create and not (path / "manifest.json").exists():
            if embedder is None:
                raise InputError("creating a collection needs an embedder")
            return cls.create(path, embedder)
        manifest = read_manifest(path)
        if embedder is not None:
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
        database = path / store.DATABASE_NAME
        if not database.exists():
            raise CollectionError(f"{path}: {store.DATABASE_NAME} is missing")
        conn = store.connect(database, read_only=read_only)
        collection = cls(path, embedder, conn, read_only=read_only)
        try:
            try:
                lexical.analyzer(store.analyzer_name(conn))
            except ValueError as exc:
                raise CollectionError(f"{path}: {exc}") from None
            report = collection.check()
            if not report.ok:
                if read_only or not repair:
                    raise CollectionError(
                        f"{path} is inconsistent: {'; '.join(report.problems)}."
                        " Open it for writing with repair enabled (semsearch index repair)."
                    )
                report = collection.repair()
                if not report.ok:
                    raise CollectionError(f"{path} could not be repaired: {'; '.join(report.problems)}")
            collection._sync(force=True)
        except BaseException:
            collection.close()
            raise
        return collection

    def close(self) -> None:
        """Release the database connection and vectors."""
        with self._lock:
            self._vectors = None
            self._generation = None
            for conn in [*self._reader_conns, self._main_conn]:
                with suppress(Exception):
                    conn.close()
            self._reader_conns.clear()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state

    def _meta_state(self) -> tuple[int, str, dict[str, Any]]:
        conn = self._conn
        generation = store.get_int(conn, "generation")
        kind = store.get_meta(conn, "index_kind", "flat") or "flat"
        params = json.loads(store.get_meta(conn, "index_params", "{}") or "{}")
        return generation, kind, params

    def _sync(self, *, force: bool = False) -> None:
        """Load the FAISS file of the generation the current SQLite snapshot records.

        Must run inside a transaction (or when no writer can interfere) so that the
        generation read and the rows read later belong together.
        """
        generation, kind, params = self._meta_state()
        if not force and generation == self._generation and self._vectors is not None:
            return
        dimension = store.get_int(self._conn, "dimension")
        self._vectors = VectorIndex.load(
            self.path / vectors_name(generation),
            dimension=dimension,
            kind=kind,
            params=params,
            read_only=self.read_only,
        )
        self._tombstones = np.asarray(store.tombstones(self._conn), dtype=np.int64)
        self._generation = generation

    def _passage_count(self) -> int:
        """Passages in the loaded generation (cached per generation)."""
        generation = self._generation if self._generation is not None else -1
        if self._passages_of is None or self._passages_of[0] != generation:
            self._passages_of = (generation, store.counts(self._conn)[1])
        return self._passages_of[1]

    def _view(self) -> _ReadView:
        """The current thread's read view (inside :meth:`_snapshot`)."""
        view: _ReadView | None = getattr(self._local, "view", None)
        if view is not None:
            return view
        assert self._vectors is not None
        return _ReadView(self._vectors, self._tombstones, self._passage_count())

    def _reader_conn(self) -> Any:
        conn = getattr(self._local, "reader", None)
        if conn is None:
            conn = store.connect(self.path / store.DATABASE_NAME, read_only=True)
            self._local.reader = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    @contextmanager
    def _snapshot(self) -> Iterator[VectorIndex]:
        """A consistent read: SQLite snapshot plus the FAISS index of its generation."""
        if self.read_only and getattr(self._local, "conn", None) is None:
            with self._parallel_snapshot() as vectors:
                yield vectors
            return
        with self._lock:
            for attempt in range(READ_RETRIES):
                self._conn.execute("BEGIN")
                try:
                    try:
                        self._sync()
                    except (FileNotFoundError, RuntimeError):
                        # A writer committed and removed our generation's file between our
                        # snapshot start and the load: take a fresh snapshot.
                        self._conn.execute("ROLLBACK")
                        if attempt == READ_RETRIES - 1:
                            raise
                        time.sleep(LOCK_POLL_S)
                        continue
                    assert self._vectors is not None
                    yield self._vectors
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                return

    @contextmanager
    def _parallel_snapshot(self) -> Iterator[VectorIndex]:
        """A read snapshot on this thread's own connection; others read at the same time.

        Only the generation check (and a load when a writer moved on) takes the lock;
        the search itself runs unlocked on a view that no one mutates, since a read-only
        collection never changes its loaded index in place.
        """
        conn = self._reader_conn()
        self._local.conn = conn
        try:
            for attempt in range(READ_RETRIES):
                conn.execute("BEGIN")
                try:
                    with self._lock:
                        self._sync()
                        view = self._view()
                except (FileNotFoundError, RuntimeError):
                    conn.execute("ROLLBACK")
                    if attempt == READ_RETRIES - 1:
                        raise
                    time.sleep(LOCK_POLL_S)
                    continue
                self._local.view = view
                try:
                    yield view.vectors
                finally:
                    self._local.view = None
                    if conn.in_transaction:
                        conn.execute("COMMIT")
                return
        finally:
            self._local.conn = None

    @contextmanager
    def _writer(self) -> Iterator[VectorIndex]:
        """Exclusive write: file lock, one SQLite transaction, new FAISS file, manifest swap."""
        if self.read_only:
            raise CollectionError(f"{self.path} is open read-only")
        with self._lock, self._file_lock():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._sync()
                self._remove_stray_files()
                assert self._vectors is not None and self._generation is not None
                old_generation = self._generation
                yield self._vectors
                new_generation = old_generation + 1
                self._vectors.save(self.path / vectors_name(new_generation))
                store.set_meta(self._conn, "generation", new_generation)
                self._conn.execute("COMMIT")  # the commit point
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                # The in-memory index may hold uncommitted changes: reload on next use.
                self._vectors = None
                self._generation = None
                self._passages_of = None
                raise
            self._generation = new_generation
            self._tombstones = np.asarray(store.tombstones(self._conn), dtype=np.int64)
            self._write_manifest()
            self._remove_stray_files()

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        handle = open(self.path / LOCK_NAME, "a+")  # noqa: SIM115 - held across the yield
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() > deadline:
                        raise CollectionLockedError(
                            f"{self.path} is being written by another process"
                        ) from exc
                    time.sleep(LOCK_POLL_S)
            yield
        finally:
            handle.close()

    def _write_manifest(self) -> None:
        generation, kind, params = self._meta_state()
        articles, passages = store.counts(self._conn)
        recall = store.get_meta(self._conn, "recall_at_10")
        previous = read_manifest(self.path)
        manifest = Manifest(
            model_fingerprint=previous.model_fingerprint,
            model_name=previous.model_name,
            dimension=previous.dimension,
            index_kind=kind,
            index_params=params,
            index_auto=bool(store.get_int(self._conn, "index_auto")),
            recall_at_10=float(recall) if recall else None,
            articles=articles,
            passages=passages,
            generation=generation,
            vectors_file=vectors_name(generation),
        )
        write_manifest(self.path, manifest)

    def _remove_stray_files(self) -> None:
        """Delete FAISS files of other generations and leftover temporary files."""
        current = self._generation
        for entry in self.path.iterdir():
            match = VECTORS_PATTERN.match(entry.name)
            stale = (match and int(match.group(1)) != current) or (
                entry.name.startswith(".") and entry.name.endswith(".tmp")
            )
            if stale:
                with suppress(FileNotFoundError):
                    entry.unlink()

    # ------------------------------------------------------------------ checks

    def check(self) -> CheckReport:
        """Compare manifest, SQLite and FAISS; nothing is changed.

        Returns:
            The report; ``ok`` is False when vectors must be rebuilt. A manifest that
            lags one committed generation (crash after commit) is reported but ``ok``.
        """
        problems: list[str] = []
        notes: list[str] = []
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                generation, kind, params = self._meta_state()
                manifest = read_manifest(self.path)
                if manifest.generation != generation:
                    notes.append(
                        f"manifest at generation {manifest.generation}, database at {generation}"
                    )
                if manifest.model_fingerprint != store.get_meta(self._conn, "model_fingerprint"):
                    problems.append("manifest and database record different models")
                live = np.asarray(store.all_passage_ids(self._conn), dtype=np.int64)
                tombs = np.asarray(store.tombstones(self._conn), dtype=np.int64)
                try:
                    vectors = VectorIndex.load(
                        self.path / vectors_name(generation),
                        dimension=store.get_int(self._conn, "dimension"),
                        kind=kind,
                        params=params,
                        read_only=True,
                    )
                except (FileNotFoundError, RuntimeError, ValueError) as exc:
                    problems.append(f"vectors of generation {generation} unreadable ({exc})")
                else:
                    stored = np.sort(vectors.ids())
                    expected = np.union1d(live, tombs)
                    if len(stored) != len(expected) or not np.array_equal(stored, expected):
                        problems.append(
                            f"FAISS holds {len(stored)} vectors, database {len(live)} passages"
                            f" (+{len(tombs)} tombstones) and the ids differ"
                        )
                articles, passages = store.counts(self._conn)
                if generation == manifest.generation and (
                    manifest.articles != articles or manifest.passages != passages
                ):
                    notes.append("manifest counts differ from the database")
            finally:
                self._conn.execute("COMMIT")
        return CheckReport(ok=not problems, problems=problems + notes)

    def repair(self) -> CheckReport:
        """Repair what :meth:`check` finds: roll the manifest forward, rebuild vectors.

        Vectors are rebuilt from the SQLite passages through the embedder (cached, so
        cheap); without an embedder a vector problem cannot be repaired.

        Returns:
            The report after repair.
        """
        before = self.check()
        repaired: list[str] = []
        if not before.ok:
            if self.embedder is None:
                return CheckReport(ok=False, problems=[*before.problems, "no embedder to rebuild vectors"])
            with self._lock, self._file_lock():
                # Rebuild into the current generation's slot under the writer lock; the
                # rows are unchanged, so readers may pair them with the rebuilt vectors.
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    generation, kind, params = self._meta_state()
                    self._generation = generation
                    self._remove_stray_files()
                    # Do not trust any loaded index here: re-embed (the cache makes it cheap).
                    self._vectors = None
                    vectors, _recall = self._rebuild(kind, {} if store.get_int(self._conn, "index_auto") else params)
                    new_generation = generation + 1
                    vectors.save(self.path / vectors_name(new_generation))
                    store.set_meta(self._conn, "index_params", json.dumps(vectors.params))
                    store.clear_tombstones(self._conn)
                    store.set_meta(self._conn, "generation", new_generation)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self._vectors, self._generation = vectors, new_generation
                self._tombstones = np.zeros(0, dtype=np.int64)
                self._write_manifest()
                self._remove_stray_files()
            repaired.append(f"rebuilt {vectors.ntotal} vectors from the database")
        elif before.problems and not self.read_only:
            with self._lock, self._file_lock():
                self._write_manifest()
            repaired.append("manifest rewritten from the database")
        after = self.check()
        return CheckReport(ok=after.ok, problems=after.problems, repaired=repaired)

    # ------------------------------------------------------------------ writes

    def upsert(self, items: Iterable[tuple[Article, list[Passage]]]) -> UpsertReport:
        """Add or replace articles with their passages, atomically (all or nothing).

        An article whose content hash is unchanged only has its metadata updated; a
        changed one gets its passages and vectors replaced (new passage ids).

        Args:
            items: ``(article, passages)`` pairs; passages belong to that article.

        Returns:
            Counts of what changed.
        """
        embedder = self._require_embedder()
        report = UpsertReport()
        with self._writer() as vectors:
            conn = self._conn
            analyzer = lexical.analyzer(store.analyzer_name(conn))
            next_id = store.get_int(conn, "next_passage_id", 1)
            pending: dict[int, str] = {}

            def flush() -> None:
                if not pending:
                    return
                ids = np.fromiter(pending.keys(), dtype=np.int64, count=len(pending))
                vectors.add(ids, embedder.embed_passages(list(pending.values()), progress=False))
                pending.clear()

            for article, passages in items:
                for passage in passages:
                    if passage.article_id != article.id:
                        raise InputError(
                            f"passage {passage.key} does not belong to article {article.id}"
                        )
                old_hash = store.article_hash(conn, article.id)
                if old_hash is not None and old_hash == article.content_hash():
                    old_ids = store.passage_ids_of(conn, [article.id])
                    if len(old_ids) == len(passages):
                        store.write_article(conn, article)
                        report.metadata_only += 1
                        continue
                if old_hash is not None:
                    removed = store.delete_articles(conn, [article.id], keep_rows=True)
                    self._forget_vectors(vectors, removed, pending)
                    report.passages_removed += len(removed)
                    report.replaced += 1
                else:
                    report.added += 1
                store.write_article(conn, article)
                ids = list(range(next_id, next_id + len(passages)))
                next_id += len(passages)
                store.insert_passages(conn, ids, passages, article.title, analyzer)
                pending.update(zip(ids, (p.text for p in passages), strict=True))
                report.passages_added += len(passages)
                if len(pending) >= EMBED_BATCH:
                    flush()
            flush()
            store.set_meta(conn, "next_passage_id", next_id)
            self._maybe_reshape(vectors)
        report.generation = self._generation or 0
        return report

    def prepare_bulk(self, vectors: VectorIndex, *, auto: bool) -> None:
        """Give an empty collection an empty, already trained vector index before a bulk load.

        Bulk builds (``index.bulk``) train IVF lists on a sample of the whole job here, so
        the :meth:`upsert` that follows adds every vector to lists that fit it.

        Args:
            vectors: Empty index of the wanted kind (params may record how it was built).
            auto: Keep re-choosing the kind by size as the collection grows.

        Raises:
            CollectionError: The collection already holds passages.
        """
        if vectors.ntotal:
            raise InputError("prepare_bulk takes an empty index")
        with self._writer():
            if store.counts(self._conn) != (0, 0):
                raise CollectionError(f"{self.path} is not empty; bulk preparation needs a new collection")
            self._vectors = vectors  # saved as the next generation when the write commits
            store.set_meta(self._conn, "index_kind", vectors.kind)
            store.set_meta(self._conn, "index_params", json.dumps(vectors.params))
            store.set_meta(self._conn, "index_auto", int(auto))
            store.set_meta(self._conn, "recall_at_10", "")

    def delete(self, article_ids: Sequence[str]) -> int:
        """Delete articles, their passages and vectors.

        Args:
            article_ids: Articles to delete; unknown ids are ignored.

        Returns:
            How many articles were deleted.
        """
        with self._writer() as vectors:
            conn = self._conn
            present = [a for a in dict.fromkeys(article_ids) if store.article_hash(conn, a) is not None]
            removed = store.delete_articles(conn, present)
            self._forget_vectors(vectors, removed, {})
            self._maybe_reshape(vectors)
        return len(present)

    def _forget_vectors(self, vectors: VectorIndex, ids: list[int], pending: dict[int, str]) -> None:
        in_index = [i for i in ids if pending.pop(i, None) is None]
        if not in_index:
            return
        if vectors.supports_remove:
            vectors.remove(np.asarray(in_index, dtype=np.int64))
        else:
            store.add_tombstones(self._conn, in_index)

    def _maybe_reshape(self, vectors: VectorIndex) -> None:
        """Inside a write: switch kind when auto and the size crossed a threshold, or
        compact HNSW tombstones."""
        conn = self._conn
        _, passages = store.counts(conn)
        tombstones = len(store.tombstones(conn))
        auto = bool(store.get_int(conn, "index_auto"))
        target = choose_kind(passages) if auto else vectors.kind
        if target != vectors.kind or (
            tombstones and tombstones > TOMBSTONE_REBUILD_FRACTION * max(vectors.ntotal, 1)
        ):
            self._replace_vectors(target, {} if target != vectors.kind else vectors.params)

    def _replace_vectors(self, kind: str, params: dict[str, Any]) -> None:
        """Inside a write: rebuild the index as ``kind`` and record it."""
        rebuilt, recall = self._rebuild(kind, params)
        self._vectors = rebuilt
        store.set_meta(self._conn, "index_kind", kind)
        store.set_meta(self._conn, "index_params", json.dumps(rebuilt.params))
        store.set_meta(self._conn, "recall_at_10", "" if recall is None else f"{recall:.4f}")
        store.clear_tombstones(self._conn)

    def _rebuild(self, kind: str, params: dict[str, Any]) -> tuple[VectorIndex, float | None]:
        """Build a fresh index of ``kind`` over the live passages.

        Exact vectors come from the current index when it keeps them, else from the
        embedder (whose cache makes re-embedding cheap). Recall@10 against exact search is
        measured on sampled passages for non-exact kinds.
        """
        conn = self._conn
        dimension = store.get_int(conn, "dimension")
        live = np.asarray(store.all_passage_ids(conn), dtype=np.int64)
        fresh = VectorIndex(dimension, kind, dict(params))
        source = None
        if self._vectors is not None and self._vectors.index is not None:
            with suppress(RuntimeError):
                source = self._vectors.reconstruct_all()
        batches: Iterator[tuple[np.ndarray, np.ndarray]]
        if source is not None and np.isin(live, source[0]).all():
            ids, vecs = source
            keep = np.isin(ids, live)
            batches = iter([(ids[keep], vecs[keep])])
        else:
            batches = self._embed_all(conn)
        rng = np.random.default_rng(RECALL_SEED)
        exact_kind = kind == "flat"
        sample: np.ndarray | None = None
        best_scores: np.ndarray | None = None
        best_ids: np.ndarray | None = None
        k = 10
        for ids, vecs in batches:
            if len(ids) == 0:
                continue
            fresh.add(ids, vecs)
            if exact_kind:
                continue
            if sample is None:
                sample = vecs[rng.choice(len(vecs), min(RECALL_SAMPLE, len(vecs)), replace=False)]
            sims = sample @ vecs.T
            cand_ids = np.broadcast_to(ids, sims.shape)
            if best_scores is not None and best_ids is not None:
                sims = np.hstack([best_scores, sims])
                cand_ids = np.hstack([best_ids, cand_ids])
            top = np.argsort(-sims, axis=1)[:, :k]
            best_scores = np.take_along_axis(sims, top, axis=1)
            best_ids = np.take_along_axis(cand_ids, top, axis=1)
        recall: float | None = 1.0 if exact_kind else None
        if sample is not None and best_ids is not None:
            kk = best_ids.shape[1]
            _, found = fresh.search(sample, kk)
            hits = sum(len(set(t.tolist()) & set(f.tolist())) for t, f in zip(best_ids, found, strict=True))
            recall = hits / (len(sample) * kk)
        return fresh, recall

    def _embed_all(self, conn: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        embedder = self._require_embedder()
        for rows in store.iter_passage_texts(conn, REBUILD_BATCH):
            ids = np.asarray([r[0] for r in rows], dtype=np.int64)
            yield ids, embedder.embed_passages([r[1] for r in rows], progress=False)

    def optimize(self, kind: str = "auto", params: dict[str, Any] | None = None) -> CollectionInfo:
        """Rebuild the vector index as ``kind`` and record its measured recall@10.

        Args:
            kind: One of :data:`index.vectors.KINDS`, or ``auto`` (chosen by size, and
                re-chosen automatically as the collection grows).
            params: Kind parameters, e.g. ``{"nlist": 4096, "nprobe": 32}``.

        Returns:
            Info about the rebuilt collection.
        """
        if kind != "auto" and kind not in KINDS:
            raise InputError(f"unknown index kind {kind!r}; choose auto or one of {', '.join(KINDS)}")
        with self._writer():
            _, passages = store.counts(self._conn)
            store.set_meta(self._conn, "index_auto", int(kind == "auto"))
            self._replace_vectors(choose_kind(passages) if kind == "auto" else kind, dict(params or {}))
        return self.info()

    def reanalyze(self, analyzer: str = lexical.DEFAULT_ANALYZER) -> int:
        """Rebuild the lexical index with ``analyzer`` (vectors are kept as they are).

        Readers keep searching the old lexical index until the rebuild commits; from then
        on queries are analysed the new way. Collections made before analyzers were
        recorded use ``jieba``; this upgrades them to the default.

        Args:
            analyzer: One of :data:`index.lexical.ANALYZERS`.

        Returns:
            Passages re-indexed.
        """
        _known_analyzer(analyzer)
        with self._writer():
            return store.reindex_lexical(self._conn, lexical.analyzer(analyzer), REBUILD_BATCH)

    # ------------------------------------------------------------------ reads

    def info(self) -> CollectionInfo:
        """Counts, model and index description.

        Returns:
            The info.
        """
        with self._snapshot() as vectors:
            articles, passages = store.counts(self._conn)
            manifest = read_manifest(self.path)
            recall = store.get_meta(self._conn, "recall_at_10")
            size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
            return CollectionInfo(
                path=str(self.path),
                articles=articles,
                passages=passages,
                model=manifest.model_name,
                model_fingerprint=manifest.model_fingerprint,
                dimension=vectors.dimension,
                index_kind=vectors.kind,
                index_params=dict(vectors.params),
                index_auto=bool(store.get_int(self._conn, "index_auto")),
                recall_at_10=float(recall) if recall else None,
                lexical_analyzer=store.analyzer_name(self._conn),
                generation=self._generation or 0,
                tombstones=len(self._tombstones),
                size_bytes=size,
            )

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """The stored fields of one article (metadata parsed), None when absent."""
        with self._snapshot():
            return store.article_row(self._conn, article_id)

    def search(
        self,
        query: str,
        *,
        mode: str = "hybrid",
        k: int = 10,
        offset: int = 0,
        filters: Filters | None = None,
        collapse: bool = False,
        min_score: float | None = None,
        snippet_style: SnippetStyle | None = None,
        fusion: FusionParams = DEFAULT_FUSION,
    ) -> SearchResponse:
        """Search passages.

        Args:
            query: Free text (any language the model knows).
            mode: ``hybrid`` (adaptive fusion, default), ``dense`` or ``lexical``.
            k: Results per page.
            offset: Results to skip (pagination).
            filters: Metadata restrictions, applied before the top-k cut.
            collapse: One hit per article (its best passage), page refilled to k articles.
            min_score: Drop hits scoring below this (in the mode's score scale).
            snippet_style: Highlight markers and snippet width.
            fusion: How ``hybrid`` blends its two rankings (default: the measured choice).

        Returns:
            The page of results.
        """
        if mode not in SEARCH_MODES:
            raise InputError(f"unknown search mode {mode!r}; choose one of {', '.join(SEARCH_MODES)}")
        if k < 1 or offset < 0:
            raise InputError("k must be >= 1 and offset >= 0")
        started = time.perf_counter()
        query_vector = None
        if mode != "lexical":
            query_vector = self._require_embedder().embed_queries([query])
        with self._snapshot() as vectors:
            terms = self._analyzer().query_terms(query)
            weight: float | None = None
            if mode == "hybrid":
                weight = self._lexical_weight(query, terms, fusion)
            hits = self._collect(
                vectors,
                query_vector,
                terms if mode != "dense" else [],
                mode,
                weight or 0.0,
                k=k,
                offset=offset,
                filters=filters,
                collapse=collapse,
                min_score=min_score,
                exclude_ids=(),
                snippet_terms=lexical.query_terms(query),
                style=snippet_style,
                fusion=fusion,
            )
        return SearchResponse(
            query=query,
            mode=mode,
            took_ms=(time.perf_counter() - started) * 1000.0,
            results=hits,
            k=k,
            offset=offset,
            collapsed=collapse,
            lexical_weight=weight,
        )

    def similar(
        self,
        *,
        passage_id: int | None = None,
        article_id: str | None = None,
        text: str | None = None,
        k: int = 10,
        offset: int = 0,
        filters: Filters | None = None,
        collapse: bool = False,
        min_score: float | None = None,
    ) -> SearchResponse:
        """Query by example: passages (or articles, with ``collapse``) like a given one.

        Exactly one of ``passage_id``, ``article_id`` or ``text`` is given. The example
        passage (or the whole example article) is excluded from the results.

        Args:
            passage_id: A stored passage.
            article_id: A stored article (its passages' mean vector is the query).
            text: Free text, embedded as a passage.
            k: Results per page.
            offset: Results to skip.
            filters: Metadata restrictions.
            collapse: One hit per article.
            min_score: Cosine floor.

        Returns:
            The page of results (mode ``similar``).
        """
        given = [x is not None for x in (passage_id, article_id, text)]
        if sum(given) != 1:
            raise InputError("give exactly one of passage_id, article_id or text")
        embedder = self._require_embedder()
        started = time.perf_counter()
        exclude: tuple[int, ...] = ()
        label = text or ""
        with self._snapshot() as vectors:
            if passage_id is not None:
                found = store.fetch_passages(self._conn, [passage_id]).get(passage_id)
                if found is None:
                    raise InputError(f"no passage {passage_id}")
                query_vector = embedder.embed_passages([found.text], progress=False)
                exclude = (passage_id,)
                label = f"passage:{passage_id}"
            elif article_id is not None:
                ids = store.passage_ids_of(self._conn, [article_id])
                if not ids:
                    raise InputError(f"no article {article_id!r} (or it has no passages)")
                texts = [p.text for p in store.fetch_passages(self._conn, ids).values()]
                mean = embedder.embed_passages(texts, progress=False).mean(axis=0, keepdims=True)
                query_vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
                base = filters or Filters()
                excluded = [*(base.exclude_article_ids or ()), article_id]
                filters = Filters(
                    date_from=base.date_from,
                    date_to=base.date_to,
                    sources=base.sources,
                    sections=base.sections,
                    article_ids=base.article_ids,
                    exclude_article_ids=excluded,
                    metadata=base.metadata,
                )
                label = f"article:{article_id}"
            else:
                query_vector = embedder.embed_passages([text or ""], progress=False)
            hits = self._collect(
                vectors,
                query_vector,
                [],
                "dense",
                0.0,
                k=k,
                offset=offset,
                filters=filters,
                collapse=collapse,
                min_score=min_score,
                exclude_ids=exclude,
                snippet_terms=[],
                style=None,
            )
        return SearchResponse(
            query=label,
            mode="similar",
            took_ms=(time.perf_counter() - started) * 1000.0,
            results=hits,
            k=k,
            offset=offset,
            collapsed=collapse,
        )

    # ------------------------------------------------------------------ search internals

    def _analyzer(self) -> lexical.Analyzer:
        """The analyzer of the lexical index in the current snapshot."""
        return lexical.analyzer(store.analyzer_name(self._conn))

    def _lexical_weight(self, query: str, terms: list[str], fusion: FusionParams) -> float:
        conn = self._conn
        passages = self._view().passages
        dfs = store.document_frequencies(conn, terms)
        corpus = lexical.ScriptProfile(store.get_int(conn, "cjk_chars"), store.get_int(conn, "latin_chars"))
        profile = lexical.script_profile(query)
        return lexical_weight(terms, dfs, passages, profile, corpus, params=fusion).weight

    def _collect(
        self,
        vectors: VectorIndex,
        query_vector: np.ndarray | None,
        terms: list[str],
        mode: str,
        weight: float,
        *,
        k: int,
        offset: int,
        filters: Filters | None,
        collapse: bool,
        min_score: float | None,
        exclude_ids: Sequence[int],
        snippet_terms: list[str],
        style: SnippetStyle | None,
        fusion: FusionParams = DEFAULT_FUSION,
    ) -> list[SearchHit]:
        """Rank candidates, deepening the candidate lists until the page can be filled."""
        conn = self._conn
        allowed: np.ndarray | None = None
        if filters is not None and not filters.is_empty():
            allowed = np.asarray(store.filtered_passage_ids(conn, filters), dtype=np.int64)
            if exclude_ids:
                allowed = np.setdiff1d(allowed, np.asarray(exclude_ids, dtype=np.int64))
        view = self._view()
        excluded = view.tombstones
        if exclude_ids:
            excluded = np.union1d(excluded, np.asarray(exclude_ids, dtype=np.int64))
        limit = view.passages if allowed is None else len(allowed)
        need = offset + k
        depth = max(MIN_CANDIDATES, need * (COLLAPSE_OVERFETCH if collapse else 2))
        match = lexical.fts_match(terms) if mode in ("lexical", "hybrid") and (mode == "lexical" or weight > 0) else None
        while True:
            depth = min(depth, max(limit, 1))
            dense: list[tuple[int, float]] = []
            if mode in ("dense", "hybrid") and query_vector is not None and limit > 0:
                dense = self._dense(vectors, query_vector, depth, allowed, excluded)
            lexical_hits: list[tuple[int, float]] = []
            if match is not None and limit > 0:
                lexical_hits = [
                    (pid, score)
                    for pid, score in store.bm25_search(conn, match, depth, filters)
                    if pid not in exclude_ids
                ]
            if mode == "lexical":
                ranked = [Fused(pid, score, None, score) for pid, score in lexical_hits]
            elif mode == "dense":
                ranked = [Fused(pid, score, score, None) for pid, score in dense]
            else:
                article_of = self._articles_of(dense, lexical_hits) if collapse else None
                lead = None
                if article_of is not None and query_vector is not None and weight > 0 and fusion.uses_lead:
                    lead = self._lead_scores(
                        vectors, query_vector, {article_of[pid] for pid, _ in dense if pid in article_of}
                    )
                ranked = fuse(dense, lexical_hits, weight, params=fusion, article_of=article_of, lead=lead)
            page, exhausted = self._page(ranked, need, collapse, min_score)
            lists_full = len(dense) >= depth or len(lexical_hits) >= depth
            if len(page) >= need or exhausted or not lists_full or depth >= limit:
                break
            depth *= 2
        shown = page[offset:need]
        passages = store.fetch_passages(conn, [f.id for f, _ in shown])
        hits: list[SearchHit] = []
        for fused, others in shown:
            stored = passages.get(fused.id)
            if stored is None:  # vanished row: never show a passage the database lacks
                continue
            hits.append(
                SearchHit(
                    rank=offset + len(hits) + 1,
                    score=float(fused.score),
                    passage_id=stored.id,
                    article_id=stored.article_id,
                    title=stored.title,
                    text=stored.text,
                    snippet=make_snippet(stored.text, snippet_terms, style),
                    date=stored.date,
                    source=stored.source,
                    section=stored.section,
                    url=stored.url,
                    ordinal=stored.ordinal,
                    paragraph_index=stored.paragraph_index,
                    start=stored.start,
                    end=stored.end,
                    matched_passages=others,
                    dense_score=fused.dense,
                    lexical_score=fused.lexical,
                )
            )
        return hits

    def _dense(
        self,
        vectors: VectorIndex,
        query_vector: np.ndarray,
        depth: int,
        allowed: np.ndarray | None,
        excluded: np.ndarray,
    ) -> list[tuple[int, float]]:
        scores, ids = vectors.search(query_vector, depth, allowed=allowed, excluded=excluded)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        reachable = vectors.ntotal - len(excluded) if allowed is None else len(allowed)
        if len(found) < min(depth, reachable) and vectors.kind != "flat":
            # Approximate search with a selective filter can come back short: look wider.
            scores, ids = vectors.search(
                query_vector, depth, allowed=allowed, excluded=excluded, exhaustive=True
            )
            found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        return found

    def _articles_of(
        self, dense: list[tuple[int, float]], lexical_hits: list[tuple[int, float]]
    ) -> dict[int, str]:
        """Article id of every fusion candidate, so collapsed hybrid search fuses articles."""
        ids = {pid for pid, _ in dense} | {pid for pid, _ in lexical_hits}
        return store.article_ids_of(self._conn, ids)

    def _lead_scores(
        self, vectors: VectorIndex, query_vector: np.ndarray, article_ids: set[str]
    ) -> dict[str, float] | None:
        """Cosine of the query with each article's first passage (None: the kind cannot say)."""
        leads = store.lead_passages(self._conn, sorted(article_ids))
        if not leads:
            return {}
        scores = vectors.similarities(query_vector[0], np.fromiter(leads.values(), dtype=np.int64))
        if scores is None:
            return None
        return {article: float(score) for article, score in zip(leads, scores, strict=True)}

    def lead_similarities(self, query: str, article_ids: Sequence[str]) -> dict[str, float]:
        """Cosine of the query with each article's first passage, as hybrid search uses it.

        Args:
            query: Free text.
            article_ids: Articles (unknown ones are left out).

        Returns:
            Cosine by article id (empty for IVF kinds, which cannot look vectors up by id).
        """
        query_vector = self._require_embedder().embed_queries([query])
        with self._snapshot() as vectors:
            return self._lead_scores(vectors, query_vector, set(article_ids)) or {}

    def _page(
        self, ranked: list[Fused], need: int, collapse: bool, min_score: float | None
    ) -> tuple[list[tuple[Fused, int]], bool]:
        """Apply the score floor and per-article collapsing.

        Returns:
            ``(entries, exhausted)``: entries pair a hit with how many other passages of
            its article matched; ``exhausted`` is True when the floor cut the list (deeper
            candidates cannot score higher).
        """
        exhausted = False
        kept: list[Fused] = []
        for fused in ranked:
            if min_score is not None and fused.score < min_score:
                exhausted = True
                break
            kept.append(fused)
        if not collapse:
            return [(f, 0) for f in kept], exhausted
        articles = store.article_ids_of(self._conn, [f.id for f in kept])
        best: dict[str, int] = {}
        entries: list[list[Any]] = []
        for fused in kept:
            article_id = articles.get(fused.id)
            if article_id is None:
                continue
            slot = best.get(article_id)
            if slot is None:
                best[article_id] = len(entries)
                entries.append([fused, 0])
            else:
                entries[slot][1] += 1
        return [(e[0], e[1]) for e in entries], exhausted

    def _require_embedder(self) -> TextEmbedder:
        if self.embedder is None:
            raise InputError("this operation needs the embedding model")
        return self.embedder


def _known_analyzer(name: str) -> None:
    if name not in lexical.ANALYZERS:
        raise InputError(
            f"unknown lexical analyzer {name!r}; choose one of {', '.join(lexical.ANALYZERS)}"
        )


def remove_collection_files(path: Path) -> None:
    """Delete a collection's files (not the directory), e.g. before a fresh build."""
    for entry in path.iterdir():
        if entry.is_file() and (
            entry.name in ("manifest.json", LOCK_NAME)
            or entry.name.startswith(store.DATABASE_NAME)
            or VECTORS_PATTERN.match(entry.name)
        ):
            os.unlink(entry)


__all__ = ["Collection", "measure_recall", "remove_collection_files"]
