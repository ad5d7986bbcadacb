"""The public :class:`Collection`: a durable FAISS + SQLite collection with hybrid search.

Layout of a collection directory::

    manifest.json           format, model fingerprint, dimension, index kind, counts, generation
    collection.sqlite       articles, passages, FTS5 lexical index, meta (WAL mode)
    segment-00000042.faiss  one segment of vectors (see index.segments); a generation
                            has several, listed in meta.segments and the manifest
    vectors-00000007.faiss  format 1's single FAISS file of a generation (read as one
                            sealed segment until a rebuild replaces it)
    write.lock              fcntl lock held by the one writer

Crash safety: SQLite's ``meta.generation`` and ``meta.segments`` are the commit point. A
write saves the segments it made (its new vectors, and any merge) under fresh file names,
then commits the SQLite transaction that records the new generation and its segment
list, then swaps the manifest (``os.replace``), then deletes files no longer listed. A
crash before the commit leaves the old generation (unlisted files are deleted on the next
write); after it, the new one (the manifest is rolled forward on open). Readers take a
SQLite snapshot and load the segments it lists that they do not hold yet, so they always
pair vectors and rows of the same generation while a writer runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.base import ArticleTagger, TextEmbedder
from semsearch.embedder.records import Article, Passage
from semsearch.index import _search, _writes, entities, lexical, store, store_entities
from semsearch.index._consistency import check as check_collection
from semsearch.index._consistency import check_model, rebuild_vectors
from semsearch.index._engine import ENGINE_PREFIX
from semsearch.index._export import PassageVectors, read_passage_vectors
from semsearch.index._files import remove_collection_files, rewrite_manifest
from semsearch.index._merging import BackgroundMerges, fold_in, merge_of, next_merge
from semsearch.index._ranking import (
    RankPlan,
    collect,
    example_query,
    hits_of,
    lead_scores,
    query_weight,
)
from semsearch.index._rebuild import rebuild, reshape_target
from semsearch.index._snapshot import ReadView, Snapshots
from semsearch.index.backup import BackupReport, backup_collection
from semsearch.index.config import DEFAULT_CONFIG, IndexConfig
from semsearch.index.entities import (
    DEFAULT_ENTITY_PAGE,
    EnrichReport,
    EntityCounts,
    EntityPage,
    EntityPageConfig,
)
from semsearch.index.errors import CollectionError, InputError
from semsearch.index.filters import ENTITY_TYPES, Filters, check_entity
from semsearch.index.fusion import DEFAULT_FUSION, Fused, FusionParams
from semsearch.index.manifest import MANIFEST_NAME, Manifest, read_manifest, write_manifest
from semsearch.index.query import ParsedQuery, parse_query
from semsearch.index.requests import SearchRequest
from semsearch.index.results import (
    CheckReport,
    CollectionInfo,
    SearchResponse,
    UpsertReport,
)
from semsearch.index.segments import SegmentedVectors
from semsearch.index.snippets import SnippetStyle
from semsearch.index.store import Connection, StoredPassage
from semsearch.index.store_entities import EntityRef
from semsearch.index.vectors import KINDS, VectorIndex, measure_recall

# Articles tagged per write of ``Collection.enrich`` (each write commits a generation).
ENRICH_BATCH = 64


class Collection:
    """A searchable, updatable archive of articles in one directory.

    Use :meth:`create` or :meth:`open`; close with :meth:`close` or a ``with`` block.
    One process writes at a time (an exclusive file lock); any number read. A read-only
    collection serves reads from many threads in parallel, each on its own SQLite
    connection; a writable one serialises its reads with its writes.
    """

    def __init__(
        self,
        path: Path,
        embedder: TextEmbedder | None,
        conn: Connection,
        *,
        read_only: bool,
        background_merges: bool = False,
        config: IndexConfig = DEFAULT_CONFIG,
        entities: ArticleTagger | None = None,
    ) -> None:
        self.path = path
        self.embedder = embedder
        # Tags named entities of what upsert writes (None: upsert stores none).
        self.entities = entities
        self.read_only = read_only
        self.config = config
        self.match = config.match
        # Whether opening moved an FTS5 collection to the engine (repair reports it).
        self._upgraded = False
        self._state = Snapshots(
            path,
            conn,
            read_only=read_only,
            merge_policy=config.merge,
            engine_config=config.engine,
        )
        self._merges = (
            BackgroundMerges(self._merge_step, str(path))
            if background_merges and not read_only
            else None
        )

    @property
    def _conn(self) -> Connection:
        """The connection of the current thread's read snapshot, else the main one."""
        return self._state.conn

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
        background_merges: bool = False,
        config: IndexConfig = DEFAULT_CONFIG,
        entities: ArticleTagger | None = None,
    ) -> Collection:
        """Create an empty collection.

        Args:
            path: Directory (created; must not already hold a collection).
            embedder: Embeds passages and queries; its fingerprint is recorded.
            kind: Vector index kind, or ``auto`` (chosen by size: see
                :class:`index.config.KindPolicy`).
            params: Kind parameters (defaults filled in).
            analyzer: Lexical analyzer (one of :data:`index.lexical.ANALYZERS`).
            background_merges: Fold segments on a thread of this object after writes
                instead of inside them (see :meth:`open`).
            config: The tunables (merge policy, automatic kinds, match set, engine);
                every default is listed in :mod:`index.config`.
            entities: Tags the named entities of every article written (None: none).

        Returns:
            The open collection (writable).
        """
        path = Path(path)
        if cls.exists(path):
            raise CollectionError(f"{path} already holds a collection")
        if kind != "auto" and kind not in KINDS:
            raise InputError(f"unknown index kind {kind!r}; choose auto or one of {', '.join(KINDS)}")
        _chosen_analyzer(analyzer)
        path.mkdir(parents=True, exist_ok=True)
        conn = store.connect(path / store.DATABASE_NAME)
        actual_kind = config.kinds.choose(0) if kind == "auto" else kind
        with store.transaction(conn, write=True):
            store.write_meta(
                conn,
                generation=0,
                index_kind=actual_kind,
                index_params=dict(params or {}),
                index_auto=kind == "auto",
                model_fingerprint=embedder.fingerprint,
                dimension=embedder.dimension,
                analyzer=analyzer,
                segments=[],
                next_segment=0,
                engine_dir=f"{ENGINE_PREFIX}000000",
            )
        manifest = Manifest(
            model_fingerprint=embedder.fingerprint,
            model_name=embedder.model_name,
            dimension=embedder.dimension,
            index_kind=actual_kind,
            index_params=dict(params or {}),
            index_auto=kind == "auto",
        )
        write_manifest(path, manifest)
        collection = cls(
            path,
            embedder,
            conn,
            read_only=False,
            background_merges=background_merges,
            config=config,
            entities=entities,
        )
        collection._sync(force=True)
        return collection

    @staticmethod
    def exists(path: str | Path) -> bool:
        """Whether ``path`` holds a collection (its manifest is there)."""
        return (Path(path) / MANIFEST_NAME).is_file()

    @classmethod
    def open(
        cls,
        path: str | Path,
        embedder: TextEmbedder | None,
        *,
        read_only: bool = False,
        repair: bool = True,
        create: bool = False,
        background_merges: bool = False,
        config: IndexConfig = DEFAULT_CONFIG,
        entities: ArticleTagger | None = None,
    ) -> Collection:
        """Open a collection, checking manifest, SQLite and FAISS against each other.

        Args:
            path: Collection directory.
            embedder: The model it was built with (None: lexical search and info only).
            read_only: Never write (no repair, no lock); large FAISS files are memory-mapped.
            repair: Rebuild inconsistent vectors from SQLite through the embedder (whose
                cache makes that cheap) instead of refusing.
            create: Create the collection when the directory holds none.
            background_merges: Writes only add segments; a thread of this object folds
                them as the merge policy says, building each merge with no lock held and
                committing it as a short write of its own (a long-lived writer such as
                a server wants this; a one-shot process merges inside its writes).
            config: The tunables (merge policy, automatic kinds, match set, engine);
                every default is listed in :mod:`index.config`.
            entities: Tags the named entities of every article written (None: none).

        Returns:
            The open collection.

        Raises:
            ModelMismatchError: Built with another model.
            CollectionError: Missing, or inconsistent and not repaired.
        """
        path = Path(path)
        if create and not cls.exists(path):
            if embedder is None:
                raise InputError("creating a collection needs an embedder")
            return cls.create(
                path, embedder, background_merges=background_merges, config=config, entities=entities
            )
        manifest = read_manifest(path)
        if embedder is not None:
            check_model(path, manifest, embedder)
        database = path / store.DATABASE_NAME
        if not database.exists():
            raise CollectionError(f"{path}: {store.DATABASE_NAME} is missing")
        conn = store.connect(database, read_only=read_only)
        collection = cls(
            path,
            embedder,
            conn,
            read_only=read_only,
            background_merges=background_merges,
            config=config,
            entities=entities,
        )
        try:
            try:
                lexical.analyzer(store.read_meta(conn).analyzer)
            except ValueError as exc:
                raise CollectionError(f"{path}: {exc}") from None
            if not read_only and collection._state.needs_engine():
                # A collection of a release with FTS5 moves to the engine on its first
                # writable open (the analyzer and every passage stay as they are).
                collection._upgraded = collection._state.upgrade_engine()
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
        """Release the database connection and vectors (after a merge in progress)."""
        if self._merges is not None:
            self._merges.close()
        self._state.close()

    def wait_for_merges(self, timeout: float | None = None) -> bool:
        """Block until the background merges asked for so far have run.

        Args:
            timeout: Seconds to wait at most (None: no limit).

        Returns:
            False on timeout; True at once without background merges.
        """
        return self._merges.wait_idle(timeout) if self._merges is not None else True

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state

    def _sync(self, *, force: bool = False) -> None:
        """Load the FAISS files and engine of the generation the store now records."""
        self._state.load(force=force)

    def _view(self) -> ReadView:
        """The current thread's read view (inside :meth:`_snapshot`)."""
        return self._state.view()

    def _snapshot(self) -> AbstractContextManager[SegmentedVectors]:
        """A consistent read: SQLite snapshot plus the FAISS index of its generation."""
        return self._state.snapshot()

    @contextmanager
    def _writer(self) -> Iterator[SegmentedVectors]:
        """Exclusive write: file lock, one SQLite transaction, new segments, manifest swap.

        With background merges the write only adds its segment, then wakes the merger.
        """
        with self._state.write(merge=self._merges is None) as vectors:
            yield vectors
        if self._merges is not None:
            self._merges.wake()

    def _merge_step(self) -> bool:
        """One background merge: planned on a snapshot, built unlocked, committed briefly.

        Returns:
            Whether a merge was committed (the policy may want another).
        """
        with self._snapshot() as vectors:
            tombstones = self._view().tombstones
            planned = SegmentedVectors(
                vectors.dimension, vectors.kind, vectors.params, vectors.segments
            )
        positions = next_merge(planned.segments, tombstones, self.config.merge)
        if not positions:
            return False
        chosen = [planned.segments[p] for p in positions]
        merged, dropped = merge_of(planned, chosen, tombstones, self.config.merge)
        with self._state.write(merge=False) as current:
            return fold_in(self._conn, current, chosen, merged, dropped)

    # ------------------------------------------------------------------ checks

    def check(self) -> CheckReport:
        """Compare manifest, SQLite and FAISS; nothing is changed.

        Returns:
            The report; ``ok`` is False when vectors must be rebuilt. A manifest that
            lags one committed generation (crash after commit) is reported but ``ok``.
        """
        with self._state.lock:
            report = check_collection(self.path, self._conn)
        if not report.ok:
            return report
        problem = self._engine_problem()
        if problem is None:
            return report
        return CheckReport(ok=False, problems=[problem, *report.problems])

    def _engine_problem(self) -> str | None:
        """How the lexical engine disagrees with the store's passages (None: it agrees)."""
        with self._snapshot():
            engine = _search.passage_ids(self._view().engine, _search.all_passages())
            stored = np.asarray(store.all_passage_ids(self._conn), dtype=np.int64)
        assert engine is not None
        if np.array_equal(np.sort(engine), stored):
            return None
        missing = len(np.setdiff1d(stored, engine))
        extra = len(engine) - (len(stored) - missing)
        return (
            f"{ENGINE_PROBLEM}: {missing} stored passages missing, {extra} deleted or"
            " repeated ones present"
        )

    def repair(self) -> CheckReport:
        """Repair what :meth:`check` finds: roll the manifest forward, rebuild vectors.

        Vectors are rebuilt from the SQLite passages through the embedder (cached, so
        cheap); without an embedder a vector problem cannot be repaired.

        Returns:
            The report after repair.
        """
        before = self.check()
        repaired: list[str] = []
        if self._upgraded:
            repaired.append("moved the lexical index from FTS5 to the engine")
        if before.problems and before.problems[0].startswith(ENGINE_PROBLEM):
            passages = self._state.rebuild_engine()
            repaired.append(f"rebuilt the lexical engine from the database ({passages} passages)")
        elif not before.ok:
            if self.embedder is None:
                return CheckReport(ok=False, problems=[*before.problems, "no embedder to rebuild vectors"])
            with self._state.exclusive():
                # The loaded index is not trusted (the rebuild re-embeds); should the
                # rebuild fail, the next read loads the committed generation again.
                self._state.vectors = None
                vectors, generation = rebuild_vectors(self.path, self._conn, self._require_embedder)
                self._state.install(vectors, generation)
            repaired.append(f"rebuilt {vectors.ntotal} vectors from the database")
        elif before.problems and not self.read_only:
            with self._state.exclusive():
                rewrite_manifest(self.path, self._conn)
            repaired.append("manifest rewritten from the database")
        after = self.check()
        return CheckReport(ok=after.ok, problems=after.problems, repaired=repaired)

    def backup(self, dest: str | Path) -> BackupReport:
        """Copy the collection to the new directory ``dest`` while it stays in use.

        The copy is taken from one database snapshot with the vector files of the
        generation that snapshot records, so it equals a state the collection had;
        searches and writes (from any process) go on meanwhile. ``dest`` appears only
        once the copy is complete and checked. Open it as a collection, or restore it
        with :func:`restore_collection`.

        Args:
            dest: Absent or empty directory.

        Returns:
            What was written (generation, counts, files, bytes).

        Raises:
            InputError: ``dest`` exists and is not an empty directory, or lies inside
                this collection's directory (or is it).
            CollectionError: The copy failed its check.
        """
        return backup_collection(self.path, Path(dest))

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
        with self._writer() as vectors:
            report = _writes.upsert(self._conn, vectors, embedder, items, self.entities)
            self._maybe_reshape(vectors)
        report.generation = self._state.generation or 0
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
        with self._writer() as current:
            if store.counts(self._conn) != (0, 0):
                raise CollectionError(f"{self.path} is not empty; bulk preparation needs a new collection")
            # The kind and params are what the bulk write's sealed segment is built as.
            current.replace_all(vectors)
            store.write_meta(
                self._conn,
                index_kind=vectors.kind,
                index_params=vectors.params,
                index_auto=auto,
                recall_at_10=None,
            )

    def delete(self, article_ids: Sequence[str]) -> int:
        """Delete articles, their passages and vectors.

        Args:
            article_ids: Articles to delete; unknown ids are ignored.

        Returns:
            How many articles were deleted.
        """
        with self._writer() as vectors:
            deleted = _writes.delete(self._conn, vectors, article_ids)
            self._maybe_reshape(vectors)
        return deleted

    def _maybe_reshape(self, vectors: SegmentedVectors) -> None:
        """Inside a write: switch kind when auto and the size crossed a threshold, or
        compact HNSW tombstones."""
        target = reshape_target(self._conn, vectors, self.config.kinds)
        if target is not None:
            self._replace_vectors(target, {} if target != vectors.kind else vectors.params)

    def _replace_vectors(self, kind: str, params: dict[str, Any]) -> None:
        """Inside a write: rebuild the index as ``kind`` and record it."""
        rebuilt, recall = rebuild(
            self._conn, kind, params, current=self._state.vectors, embedder=self._require_embedder
        )
        assert self._state.vectors is not None
        self._state.vectors.replace_all(rebuilt)
        store.write_meta(
            self._conn, index_kind=kind, index_params=rebuilt.params, recall_at_10=recall
        )
        store.clear_tombstones(self._conn)

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
            store.write_meta(self._conn, index_auto=kind == "auto")
            chosen = self.config.kinds.choose(passages) if kind == "auto" else kind
            self._replace_vectors(chosen, dict(params or {}))
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
        chosen = _chosen_analyzer(analyzer)
        with self._writer():
            return self._state.replace_engine(chosen)

    def enrich(
        self,
        extractor: ArticleTagger,
        *,
        everything: bool = False,
        batch_articles: int = ENRICH_BATCH,
        limit: int | None = None,
    ) -> EnrichReport:
        """Tag the named entities of stored articles without embedding anything again.

        Articles are read in a snapshot, tagged with no lock held, then written (mentions
        and the engine's entity fields of their passages) one batch per write; an article
        that changed meanwhile is left for the next run. Interrupted, it resumes where it
        stopped: tagged articles are recorded.

        Args:
            extractor: The tagger.
            everything: Tag every article again (after a tagger or rule change), not only
                those never tagged.
            batch_articles: Articles per write.
            limit: Tag at most this many articles (None: all).

        Returns:
            Articles tagged, mentions stored, articles skipped, articles left untagged.
        """
        if batch_articles < 1:
            raise InputError("batch_articles must be >= 1")
        with self._snapshot():
            todo = (
                store_entities.all_article_ids(self._conn)
                if everything
                else store_entities.untagged_articles(self._conn)
            )
        chosen = todo if limit is None else todo[: max(limit, 0)]
        report = EnrichReport(remaining=len(todo) - len(chosen))
        for start in range(0, len(chosen), batch_articles):
            with self._snapshot():
                loaded = entities.read_for_tagging(self._conn, chosen[start : start + batch_articles])
            # One batched pass of the tagger for the whole write.
            found_all = extractor.extract_articles(
                [(item.article, [p for _, p in item.passages]) for item in loaded]
            )
            tagged = list(zip(loaded, found_all, strict=True))
            with self._writer():
                for item, found in tagged:
                    if not entities.unchanged(self._conn, item):
                        report.skipped += 1
                        continue
                    ids = [pid for pid, _ in item.passages]
                    rows = _writes.mention_rows(found, ids)
                    store_entities.write_entities(self._conn, item.article.id, rows)
                    store.mark_pending(self._conn, ids)
                    report.articles += 1
                    report.mentions += len(rows)
        return report

    # ------------------------------------------------------------------ reads

    def entity(
        self, kind: str, name: str, config: EntityPageConfig = DEFAULT_ENTITY_PAGE
    ) -> EntityPage | None:
        """An entity's page (``name`` folded or as printed); None when no article names it.

        Raises:
            InputError: Unknown type, or an empty or overlong name.
        """
        kind, key = check_entity(kind, name)
        with self._snapshot():
            return entities.entity_page(self._conn, kind, key, config)

    def top_entities(self, kind: str | None = None, limit: int = 20) -> list[EntityRef]:
        """The entities most articles name (of one type, or all), most first.

        Raises:
            InputError: Unknown type or a limit below 1.
        """
        if kind is not None and kind not in ENTITY_TYPES:
            raise InputError(f"unknown entity type {kind[:40]!r}; choose one of {', '.join(ENTITY_TYPES)}")
        if limit < 1:
            raise InputError("limit must be >= 1")
        with self._snapshot():
            return store_entities.top_entities(self._conn, kind, limit)

    def entity_counts(
        self,
        kinds: Sequence[str] = ENTITY_TYPES,
        *,
        min_pair_articles: int = 1,
        pair_limit: int = 10_000,
    ) -> EntityCounts:
        """Articles and mentions per entity and month, and the entity pairs named together
        (at least ``min_pair_articles`` articles, the ``pair_limit`` most frequent).

        Raises:
            InputError: An unknown type, or limits below 1.
        """
        unknown = [k for k in kinds if k not in ENTITY_TYPES]
        if unknown or not kinds:
            raise InputError(f"entity types: choose from {', '.join(ENTITY_TYPES)}")
        if min_pair_articles < 1 or pair_limit < 1:
            raise InputError("min_pair_articles and pair_limit must be >= 1")
        with self._snapshot():
            return entities.entity_counts(
                self._conn, list(kinds), min_pair_articles=min_pair_articles, pair_limit=pair_limit
            )

    def tagged_articles(self) -> int:
        """How many articles have been read by the entity tagger."""
        with self._snapshot():
            return store_entities.tagged_count(self._conn)


    def info(self) -> CollectionInfo:
        """Counts, model and index description.

        Returns:
            The info.
        """
        with self._snapshot() as vectors:
            articles, passages = store.counts(self._conn)
            manifest = read_manifest(self.path)
            meta = store.read_meta(self._conn)
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
                index_auto=meta.index_auto,
                recall_at_10=meta.recall_at_10,
                lexical_analyzer=meta.analyzer,
                generation=self._state.generation or 0,
                tombstones=len(self._state.tombstones),
                size_bytes=size,
                segments=[
                    {"file": s.file, "sealed": s.sealed, "kind": s.index.kind, "vectors": s.ntotal}
                    for s in vectors.segments
                ],
            )

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """The stored fields of one article (metadata parsed), None when absent."""
        with self._snapshot():
            return store.article_row(self._conn, article_id)

    def page_file(self, article_id: str) -> str | None:
        """The PDF or page image ingest read an article from, None when it has none."""
        with self._snapshot():
            return store.page_file(self._conn, article_id)

    def article_texts(self) -> dict[str, str]:
        """Every article's stored text by id, read in one snapshot (for batch reports)."""
        with self._snapshot():
            return store.article_texts(self._conn)

    def counts(self) -> tuple[int, int]:
        """``(articles, passages)`` stored now."""
        with self._snapshot():
            return store.counts(self._conn)

    def passage(self, passage_id: int) -> StoredPassage | None:
        """One passage with its article's display fields, None when absent."""
        with self._snapshot():
            return store.fetch_passages(self._conn, [passage_id]).get(passage_id)

    def article_with_passages(
        self, article_id: str
    ) -> tuple[dict[str, Any], list[StoredPassage]] | None:
        """An article's stored fields and its passages in reading order, read together.

        Returns:
            ``(fields, passages)``, or None when the article is absent.
        """
        with self._snapshot():
            row = store.article_row(self._conn, article_id)
            if row is None:
                return None
            found = store.fetch_passages(self._conn, store.passage_ids_of(self._conn, [article_id]))
        return row, sorted(found.values(), key=lambda p: p.ordinal)

    def passage_vectors(
        self, *, progress: bool = False, article_ids: Sequence[str] | None = None
    ) -> PassageVectors:
        """Every live passage with its vector, grouped by article, from one snapshot.

        Exact vectors come from the FAISS index when its kind keeps them (``flat``,
        ``hnsw``); otherwise the passages are re-embedded through the collection's embedder.

        Args:
            progress: Show the embedder's progress bar when re-embedding.
            article_ids: Only the passages of these articles (vectors looked up by id, or
                re-embedded for IVF kinds); unknown ids are left out.

        Returns:
            The passages, their vectors and their articles' display fields.

        Raises:
            InputError: Quantised vectors and no embedder to re-embed with.
        """
        with self._snapshot() as vectors:
            fingerprint = store.read_meta(self._conn).model_fingerprint or ""
            return read_passage_vectors(
                self._conn,
                vectors,
                fingerprint,
                self.embedder,
                progress=progress,
                article_ids=article_ids,
            )

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
        sort: str = "relevance",
        facets: Sequence[str] = (),
        count: bool = False,
        syntax: bool = True,
        snippets: bool = True,
    ) -> SearchResponse:
        """Search passages.

        The query may use the syntax of :mod:`index.query` (``"phrase"``, ``+must``,
        ``-exclude``, ``OR``); its constraints apply like filters, before the top-k cut.

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
            sort: ``relevance`` (default), ``date-desc`` or ``date-asc`` (the match set of
                :mod:`index._matchset` in date order).
            facets: Count matching articles per value of these fields (``source``,
                ``section``, ``year``, ``month``, ``meta.KEY``).
            count: Fill ``total`` / ``total_passages`` (implied by a date sort or facets).
            syntax: False reads the query as plain text (quotes, signs, ``OR`` mean nothing).
            snippets: False leaves every hit's ``snippet`` empty (ranking only).

        Returns:
            The page of results.

        Raises:
            InputError: Unknown mode, sort or facet, bad paging, or a malformed query.
        """
        return self.run(
            SearchRequest(
                query=query,
                mode=mode,
                k=k,
                offset=offset,
                filters=filters,
                collapse=collapse,
                min_score=min_score,
                snippet_style=snippet_style,
                fusion=fusion,
                sort=sort,
                facets=tuple(facets),
                count=count,
                syntax=syntax,
                snippets=snippets,
            )
        )

    def run(self, request: SearchRequest) -> SearchResponse:
        """Run a search described by one request value (what the CLI and HTTP API build).

        Args:
            request: The search.

        Returns:
            The page of results.

        Raises:
            InputError: A malformed query.
        """
        parsed = parse_query(request.query, syntax=request.syntax)
        started = time.perf_counter()
        query_vector = None
        if request.mode != "lexical":
            query_vector = self._require_embedder().embed_queries([parsed.text])
        words = lexical.query_terms(parsed.text)
        # Snippets mark phrases whole (not their words one by one) and the plain words.
        plain = words if not parsed.constrained else lexical.query_terms(" ".join(parsed.words))
        with self._snapshot():
            conn, view = self._conn, self._view()
            analyzer = lexical.analyzer(store.read_meta(conn).analyzer)
            terms = analyzer.query_terms(parsed.text, words)
            weight: float | None = None
            if request.mode == "hybrid":
                weight = query_weight(conn, view, parsed.text, terms, request.fusion)
            within = _search.restriction(view.engine, parsed, request.filters, analyzer)
            plan = RankPlan(
                query_vector=query_vector,
                terms=terms if request.mode != "dense" else [],
                weight=weight or 0.0,
                within=within,
                # The vector search needs the restriction as ids; BM25 runs inside it.
                allowed=_search.passage_ids(view.engine, within) if query_vector is not None else None,
                exclude_ids=(),
                marks=[*parsed.highlights, *plain],
                match=self.match,
                analyzer=analyzer,
            )
            hits, dense = collect(conn, view, request, plan)
            matches = None
            if request.counting:
                matches = self._matches(view, request, parsed, plan, dense)
                if request.sort != "relevance":
                    entries = self._date_entries(view, request, matches)
                    hits = hits_of(
                        conn, entries[request.offset :], request.offset, plan.marks, request
                    )
            facet_values = self._facet_values(view, request, matches)
        return SearchResponse(
            query=request.query,
            mode=request.mode,
            took_ms=(time.perf_counter() - started) * 1000.0,
            results=hits,
            k=request.k,
            offset=request.offset,
            collapsed=request.collapse,
            lexical_weight=weight,
            sort=request.sort,
            total=matches.total if matches else None,
            total_passages=matches.total_passages if matches else None,
            total_relation=matches.relation if matches else None,
            facets=facet_values,
            parsed=parsed,
        )

    def _date_entries(
        self, view: ReadView, request: SearchRequest, matches: _search.MatchSet
    ) -> list[tuple[Fused, int]]:
        """The match set's first entries in the request's date order, up to its page's end."""
        return _search.date_page(
            view.engine,
            matches,
            request.sort,
            collapse=request.collapse,
            min_score=request.min_score,
            need=request.offset + request.k,
        )

    def _facet_values(
        self, view: ReadView, request: SearchRequest, matches: _search.MatchSet | None
    ) -> dict[str, list[dict[str, Any]]] | None:
        """The request's facet counts over the match set (None: no facets or no count)."""
        if matches is None or not request.facets:
            return None
        return _search.facet_counts(view.engine, matches, request.facets, self.match)

    def _matches(
        self,
        view: ReadView,
        request: SearchRequest,
        parsed: ParsedQuery,
        plan: RankPlan,
        dense: _search.DenseCandidates,
    ) -> _search.MatchSet:
        """The match set of a search (inside its snapshot), scored for a date order."""
        matches = _search.match_set(
            view.engine,
            parsed,
            plan.analyzer,
            request.mode,
            plan.within,
            plan.terms,
            dense,
            self.match,
            scored=request.sort != "relevance",
        )
        vector = plan.query_vector
        # Date order breaks ties and applies min_score by cosine where there is one.
        if vector is None or request.sort == "relevance" or matches.relation == "approx":
            return matches
        missing = np.asarray(
            [p for p in matches.pids.tolist() if p not in matches.dense], dtype=np.int64
        )
        sims = view.vectors.similarities(vector[0], missing) if len(missing) else None
        if sims is None:
            return matches
        cosines = dict(zip(missing.tolist(), (float(x) for x in sims), strict=True))
        return _search.with_cosines(matches, cosines)

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
        with self._snapshot():
            example = example_query(
                self._conn,
                embedder,
                passage_id=passage_id,
                article_id=article_id,
                text=text,
                filters=filters,
            )
            view = self._view()
            analyzer = lexical.analyzer(store.read_meta(self._conn).analyzer)
            within = _search.restriction(
                view.engine, None, example.filters, analyzer, example.exclude_ids
            )
            request = SearchRequest(
                query=example.label,
                mode="dense",
                k=k,
                offset=offset,
                filters=example.filters,
                collapse=collapse,
                min_score=min_score,
            )
            plan = RankPlan(
                query_vector=example.vector,
                terms=[],
                weight=0.0,
                within=within,
                allowed=_search.passage_ids(view.engine, within),
                exclude_ids=example.exclude_ids,
                marks=[],
                match=self.match,
                analyzer=analyzer,
            )
            hits, _ = collect(self._conn, view, request, plan)
        return SearchResponse(
            query=example.label,
            mode="similar",
            took_ms=(time.perf_counter() - started) * 1000.0,
            results=hits,
            k=k,
            offset=offset,
            collapsed=collapse,
        )

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many passages hold each lexical term in their text (for fusion tuning)."""
        with self._snapshot():
            return _search.document_frequencies(self._view().engine, terms)

    def script_profile(self) -> lexical.ScriptProfile:
        """The corpus' script counters, which hybrid fusion compares a query's script with
        (for fusion tuning)."""
        with self._snapshot():
            return store.read_meta(self._conn).script_profile

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
            return lead_scores(self._conn, vectors, query_vector, set(article_ids)) or {}

    def _require_embedder(self) -> TextEmbedder:
        if self.embedder is None:
            raise InputError("this operation needs the embedding model")
        return self.embedder


# How check() names a lexical engine that disagrees with the store (repair rebuilds it).
ENGINE_PROBLEM = "lexical engine disagrees with the store"


def _chosen_analyzer(name: str) -> lexical.Analyzer:
    """The analyzer a caller asked for; an unknown name is bad input, not a broken collection."""
    try:
        return lexical.analyzer(name)
    except ValueError:
        raise InputError(
            f"unknown lexical analyzer {name!r}; choose one of {', '.join(lexical.ANALYZERS)}"
        ) from None


__all__ = ["Collection", "measure_recall", "remove_collection_files"]
