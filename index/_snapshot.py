"""The generation a collection has loaded, and the snapshots that pair it with SQLite.

Private: :class:`~index.collection.Collection` reads and writes through one
:class:`Snapshots`. A read takes a SQLite snapshot and the segments of the generation
that snapshot records (segments already loaded are kept, only new ones are read); a write
holds the file lock and one SQLite transaction, saves the segments it made (and merged),
commits, then swaps the manifest and deletes files no longer listed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np
import tantivy

from semsearch.index import _engine, lexical, store
from semsearch.index._files import (
    LOCK_POLL_S,
    LOCK_TIMEOUT_S,
    file_lock,
    is_disk_full,
    listed_files,
    load_generation,
    remove_stray_files,
    rewrite_manifest,
    save_segments,
    share_segments,
)
from semsearch.index._merging import merge_due
from semsearch.index.config import MergePolicy
from semsearch.index.errors import CollectionError, CollectionLockedError
from semsearch.index.segments import Segment, SegmentedVectors
from semsearch.index.store import Connection

# A reader retries when a writer deleted the FAISS file of the generation it just read, or
# committed the store and the engine between the reader's two looks. A writer that commits
# back to back can win that race several times running on a loaded machine (5 retries
# failed about one backup in five beside one), so retry for up to ~2 s.
READ_RETRIES = 40
log = logging.getLogger("semsearch.index")
_T = TypeVar("_T")


class ReadView(NamedTuple):
    """What one read snapshot searches: a generation's vectors, tombstones, size and the
    lexical engine's searcher of the same generation."""

    vectors: SegmentedVectors
    tombstones: np.ndarray
    passages: int
    engine: tantivy.Searcher


class _EngineAhead(Exception):
    """The engine committed a generation newer than this read's SQLite snapshot."""


class Snapshots:
    """The loaded FAISS index of one collection, its generation, and how to read or write it.

    ``vectors``, ``generation`` and ``tombstones`` describe the loaded generation; a
    write may replace ``vectors`` before it commits (the replacement is what it saves).
    """

    def __init__(
        self,
        path: Path,
        conn: Connection,
        *,
        read_only: bool,
        merge_policy: MergePolicy,
        engine_config: _engine.EngineConfig,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self._main_conn = conn
        self.lock = threading.RLock()
        self.vectors: SegmentedVectors | None = None
        self.generation: int | None = None
        # Saved segments by file name: a new generation reloads only what it adds.
        self.loaded: dict[str, Segment] = {}
        self.tombstones = np.zeros(0, dtype=np.int64)
        # Passage count of the loaded generation: counting rows costs ~1.5 ms at 100k.
        self._passages_of: tuple[int, int] | None = None
        # Per-thread read connection and view while that thread is inside a snapshot.
        self._local = threading.local()
        self._reader_conns: list[Connection] = []
        self.engine: _engine.Engine | None = None
        self.engine_config = engine_config
        self.merge_policy = merge_policy
        # Whether this process holds the writer's file lock (flock does not nest).
        self._lock_held = False

    @property
    def conn(self) -> Connection:
        """The connection of the current thread's read snapshot, else the main one."""
        return getattr(self._local, "conn", None) or self._main_conn

    def close(self) -> None:
        """Release the database connection and vectors."""
        with self.lock:
            self.vectors = None
            self.generation = None
            self.loaded.clear()
            if self.engine is not None:
                self.engine.close()
                self.engine = None
            for conn in [*self._reader_conns, self._main_conn]:
                with suppress(Exception):
                    conn.close()
            self._reader_conns.clear()

    def sync(self, *, force: bool = False) -> None:
        """Load the segments of the generation the current SQLite snapshot records.

        Must run inside a transaction (or when no writer can interfere) so that the
        generation read and the rows read later belong together.
        """
        generation = store.read_meta(self.conn).generation
        if not force and generation == self.generation and self.vectors is not None:
            if self.engine is None:
                self._engine_at(generation)
            return
        if force:
            self.loaded.clear()
        self.vectors = load_generation(self.path, self.conn, self.loaded)
        self.tombstones = np.asarray(store.tombstones(self.conn), dtype=np.int64)
        self._engine_at(generation)
        self.generation = generation

    def load(self, *, force: bool = False) -> None:
        """:meth:`sync` in a read transaction of its own (opening a collection).

        Taken again when a writer moves the store or the engine on between the two looks,
        as a read snapshot is: a collection opened beside a live writer must not fail.
        """
        with self.lock:
            self._begin_with(lambda: self.sync(force=force))
            store.commit(self.conn)

    def _begin_with(self, load: Callable[[], _T]) -> _T:
        """Begin a read transaction on this thread's connection and run ``load`` in it.

        A writer may commit, and remove our generation's files or move the engine past
        it, between the snapshot's start and the load: then the load is tried again on a
        fresh snapshot. Returns with the transaction open (the caller ends it).
        """
        for attempt in range(READ_RETRIES):
            store.begin(self.conn)
            try:
                return load()
            except (FileNotFoundError, RuntimeError, _EngineAhead):
                store.rollback(self.conn)
                if attempt == READ_RETRIES - 1:
                    raise
                time.sleep(LOCK_POLL_S)
            except BaseException:
                if self.conn.in_transaction:
                    store.rollback(self.conn)
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _engine_at(self, generation: int) -> tantivy.Searcher:
        """The engine searcher of ``generation`` (inside a transaction of it).

        A lagging engine means a writer committed the store and is still applying (wait
        for its lock), or died between the two commits (catch up from the pending list).

        Raises:
            _EngineAhead: The engine is newer than this snapshot (take a fresh one).
        """
        name = store.read_meta(self.conn).engine_dir
        if name is None or store.has_fts_tables(self.conn):
            raise CollectionError(
                f"{self.path} was made by an earlier semsearch (FTS5 lexical index); open it"
                " for writing once, or run `semsearch index repair`, to move it to the engine"
            )
        if self.engine is None or self.engine.name != name:
            if self.engine is not None:
                self.engine.close()
            self.engine = self._open_engine(name, generation)
        searcher, at = self.engine.searcher()
        if at != generation:
            searcher, at = self.engine.searcher(reload=True)
        if at < generation:
            searcher, at = self._await_engine(self.engine, generation)
        if at > generation:
            raise _EngineAhead
        return searcher

    def _await_engine(
        self, engine: _engine.Engine, generation: int
    ) -> tuple[tantivy.Searcher, int]:
        """A searcher at ``generation`` or later, from an engine that lags the store.

        A live writer applies its own commit a moment after the store's, so wait for that
        rather than for its lock: a writer that commits back to back would hold the lock
        for as long as it writes. Only when no one holds the lock (the writer died between
        the two commits) is the lag caught up here.

        Raises:
            CollectionLockedError: The engine stayed behind while the lock stayed taken
                for :data:`LOCK_TIMEOUT_S`.
        """
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                with self._file_lock(timeout_s=0):
                    searcher, at = engine.searcher(reload=True)
                    if at < generation:
                        self._catch_up(engine, generation)
                        searcher, at = self._require_engine().searcher()
                    return searcher, at
            except CollectionLockedError:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(LOCK_POLL_S)
            searcher, at = engine.searcher(reload=True)
            if at >= generation:
                return searcher, at

    def _require_engine(self) -> _engine.Engine:
        assert self.engine is not None
        return self.engine

    def _open_engine(self, name: str, generation: int) -> _engine.Engine:
        """Open the engine directory the store names, rebuilding it when missing or unreadable."""
        target = self.path / name
        try:
            if target.is_dir():
                engine = _engine.Engine(target, self.engine_config)
                engine.searcher()
                return engine
        except (CollectionError, ValueError, OSError) as exc:
            # Also an engine an earlier release wrote with other fields: rebuilt once.
            log.warning("%s: rebuilding the lexical engine from the store (%s)", target, exc)
        with self._file_lock():
            return _engine.build(target, self.conn, generation, self._analyzer(), self.engine_config)

    def _analyzer(self) -> lexical.Analyzer:
        return lexical.analyzer(store.read_meta(self.conn).analyzer)

    def _catch_up(self, engine: _engine.Engine, generation: int) -> None:
        """Apply the store's pending passages to the engine (file lock held).

        An engine the apply cannot write to (files of a killed write in the way) is
        rebuilt in place from the store's snapshot.
        """
        try:
            engine.apply(self.conn, store.pending_passages(self.conn), generation, self._analyzer())
        except ValueError:
            engine.close()
            self.engine = _engine.build(
                engine.path, self.conn, generation, self._analyzer(), self.engine_config
            )

    def needs_engine(self) -> bool:
        """Whether the collection still has FTS5 tables and no engine (an older release)."""
        return store.read_meta(self.conn).engine_dir is None or store.has_fts_tables(self.conn)

    def upgrade_engine(self) -> bool:
        """Give a collection without an engine (an FTS5 one) its engine, under the write lock.

        Returns:
            Whether anything was done.
        """
        with self.exclusive():
            store.begin(self.conn, write=True)
            try:
                meta = store.read_meta(self.conn)
                if meta.engine_dir is not None and not store.has_fts_tables(self.conn):
                    store.rollback(self.conn)
                    return False
                target = _engine.new_engine_dir(self.path)
                _engine.build(target, self.conn, meta.generation, self._analyzer(), self.engine_config)
                store.write_meta(self.conn, engine_dir=target.name)
                store.clear_pending(self.conn)
                store.drop_fts_tables(self.conn)
                store.commit(self.conn)
            except BaseException:
                if self.conn.in_transaction:
                    store.rollback(self.conn)
                raise
            _engine.remove_stale_engines(self.path, [target.name])
            self.generation = None
            return True

    def rebuild_engine(self) -> int:
        """Rebuild the current engine directory in place from the store (repair).

        Returns:
            Passages indexed.
        """
        with self.exclusive():
            store.begin(self.conn)
            try:
                meta = store.read_meta(self.conn)
                if self.engine is not None:
                    self.engine.close()
                self.engine = _engine.build(
                    self.path / str(meta.engine_dir),
                    self.conn,
                    meta.generation,
                    self._analyzer(),
                    self.engine_config,
                )
            finally:
                store.commit(self.conn)
            return self.engine.passages

    def replace_engine(self, analyzer: lexical.Analyzer) -> int:
        """Inside :meth:`write`: index every passage anew with ``analyzer`` into a new
        engine directory that the write's commit switches to.

        Returns:
            Passages indexed.
        """
        generation = store.read_meta(self.conn).generation + 1
        target = _engine.new_engine_dir(self.path)
        engine = _engine.build(target, self.conn, generation, analyzer, self.engine_config)
        store.write_meta(self.conn, engine_dir=target.name, analyzer=analyzer.name)
        store.clear_pending(self.conn)
        return engine.passages

    def _passage_count(self) -> int:
        """Passages in the loaded generation (cached per generation)."""
        generation = self.generation if self.generation is not None else -1
        if self._passages_of is None or self._passages_of[0] != generation:
            self._passages_of = (generation, store.counts(self.conn)[1])
        return self._passages_of[1]

    def view(self) -> ReadView:
        """The current thread's read view (inside :meth:`snapshot`)."""
        view: ReadView | None = getattr(self._local, "view", None)
        if view is not None:
            return view
        assert self.vectors is not None and self.engine is not None
        searcher, _ = self.engine.searcher()
        return ReadView(self.vectors, self.tombstones, self._passage_count(), searcher)

    def _reader_conn(self) -> Connection:
        conn = getattr(self._local, "reader", None)
        if conn is None:
            conn = store.connect(self.path / store.DATABASE_NAME, read_only=True)
            self._local.reader = conn
            with self.lock:
                self._reader_conns.append(conn)
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[SegmentedVectors]:
        """A consistent read: SQLite snapshot plus the FAISS index of its generation."""
        if self.read_only and getattr(self._local, "conn", None) is None:
            with self._parallel_snapshot() as vectors:
                yield vectors
            return
        with self.lock:
            self._begin_with(self.sync)
            try:
                assert self.vectors is not None
                yield self.vectors
            except BaseException:
                if self.conn.in_transaction:
                    store.rollback(self.conn)
                raise
            store.commit(self.conn)

    @contextmanager
    def _parallel_snapshot(self) -> Iterator[SegmentedVectors]:
        """A read snapshot on this thread's own connection; others read at the same time.

        Only the generation check (and a load when a writer moved on) takes the lock;
        the search itself runs unlocked on a view that no one mutates, since a read-only
        collection never changes its loaded index in place.
        """
        conn = self._reader_conn()
        self._local.conn = conn
        try:
            view = self._begin_with(self._synced_view)
            self._local.view = view
            try:
                yield view.vectors
            finally:
                self._local.view = None
                if conn.in_transaction:
                    store.commit(conn)
        finally:
            self._local.conn = None

    def _synced_view(self) -> ReadView:
        with self.lock:
            self.sync()
            return self.view()

    @contextmanager
    def write(self, *, merge: bool = True) -> Iterator[SegmentedVectors]:
        """Exclusive write: file lock, one SQLite transaction, new segments, manifest swap.

        The vectors the write adds become a new segment file; with ``merge``, when the
        merge policy says so (:func:`index._merging.merge_due`), the write also folds
        small segments. Both are saved under fresh names before the commit, so until it
        the old generation stands.
        """
        if self.read_only:
            raise CollectionError(f"{self.path} is open read-only")
        with self.exclusive():
            store.begin(self.conn, write=True)
            try:
                self.sync()
                remove_stray_files(self.path, listed_files(self.conn))
                assert self.vectors is not None and self.generation is not None
                # sync() brought the engine to this generation: the pending list is applied.
                store.clear_pending(self.conn)
                old_generation = self.generation
                # The write works on its own list; loaded segments stay as they are.
                self.vectors = SegmentedVectors(
                    self.vectors.dimension,
                    self.vectors.kind,
                    self.vectors.params,
                    self.vectors.segments,
                )
                yield self.vectors
                if merge:
                    merge_due(self.conn, self.vectors, self.merge_policy)
                new_generation = old_generation + 1
                save_segments(self.path, self.conn, self.vectors)
                store.write_meta(self.conn, generation=new_generation)
                store.commit(self.conn)  # the commit point
            except BaseException as exc:
                if self.conn.in_transaction:
                    store.rollback(self.conn)
                # The in-memory index may hold uncommitted changes: reload on next use.
                self.vectors = None
                self.generation = None
                self._passages_of = None
                if is_disk_full(exc):
                    # Segment files this write saved are listed by no committed generation.
                    remove_stray_files(self.path, listed_files(self.conn))
                    raise CollectionError(
                        f"{self.path}: no space left on the device; nothing was written"
                        " (free some space and run the write again)"
                    ) from exc
                raise
            self._apply_committed(new_generation)
            self.generation = new_generation
            self.loaded = {s.file: s for s in self.vectors.segments if s.file is not None}
            share_segments(self.path, list(self.loaded.values()))
            self.tombstones = np.asarray(store.tombstones(self.conn), dtype=np.int64)
            try:
                rewrite_manifest(self.path, self.conn)
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                # Committed: readers follow SQLite's generation; the manifest catches up on
                # the next write or `semsearch index repair`.
                raise CollectionError(
                    f"{self.path}: the write was committed, but the manifest could not be"
                    " updated (no space left on the device); free some space and run"
                    " `semsearch index repair`"
                ) from exc
            remove_stray_files(self.path, set(self.loaded))

    def _apply_committed(self, generation: int) -> None:
        """After a write's commit: bring the engine to ``generation`` (file lock held).

        Should this fail or the process die, the store's pending list still names the
        passages, and the next reader or writer catches up from it.
        """
        store.begin(self.conn)
        try:
            self._engine_at(generation)
        finally:
            store.commit(self.conn)
        assert self.engine is not None
        _engine.remove_stale_engines(self.path, [self.engine.name])

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """This process's lock and the writer's file lock, held together."""
        with self.lock, self._file_lock():
            yield

    @contextmanager
    def _file_lock(self, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """The writer's file lock, taken once however deeply asked for (``self.lock`` held)."""
        if self._lock_held:
            yield
            return
        with file_lock(self.path, timeout_s):
            self._lock_held = True
            try:
                yield
            finally:
                self._lock_held = False

    def install(self, vectors: SegmentedVectors, generation: int) -> None:
        """Adopt vectors committed as ``generation`` without tombstones (inside :meth:`exclusive`).

        Args:
            vectors: The committed vectors (their segments saved).
            generation: The generation they were committed as.
        """
        self.vectors, self.generation = vectors, generation
        self.loaded = {s.file: s for s in vectors.segments if s.file is not None}
        share_segments(self.path, list(self.loaded.values()))
        self.tombstones = np.zeros(0, dtype=np.int64)
        rewrite_manifest(self.path, self.conn)
        remove_stray_files(self.path, set(self.loaded))
