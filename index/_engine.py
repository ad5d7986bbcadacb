"""The lexical engine: a tantivy index derived from the SQLite store.

Private: :class:`~index._snapshot.Snapshots` keeps one :class:`Engine` per collection and
pairs its searcher with every read snapshot; searches go through :mod:`index._search`.

Why tantivy: BM25 top-k with block-max pruning, phrase queries over positions, term-set
joins and fast-field columns answer in a millisecond what SQL over FTS5 rows answered in
tens (docs/benchmarks.md, "Lexical engines"), at a quarter of the disk.

**One commit point.** SQLite stays the source of truth. A write records the passages it
touched in the store's pending list in its own transaction, commits, and only then applies
those passages here and commits the engine with a marker document holding the SQLite
generation it now reflects. The marker is part of the engine's commit, so every searcher
knows exactly which generation it shows; a reader whose SQLite snapshot is newer waits
for the writer (its file lock), and after a crash between the two commits the next
process to look brings the engine up to date from the pending list. Re-applying is
idempotent: a passage is deleted by id before it is added.

Each passage is one document:

=============== =========================================================================
``pid``         passage id (i64, indexed, fast: term-set joins, deletes, columns)
``article``     article id (raw string) and ``article_no`` (i64 hash, for counting)
``text``        the analyzer's terms of the passage (BM25, no positions)
``title``       the analyzer's terms of the article title (BM25, weighted lower)
``exact``       :func:`~index.lexical.exact_tokens` of the passage, with positions
``title_exact`` the same of the title (a phrase never spans title and passage)
``pairs``       every two neighbouring exact tokens as one term, no positions (and
``title_pairs`` of the title), except pairs the analyzer's bigrams in ``text`` already
                hold (:func:`pair_term`): a two-character word is one term look-up
                instead of a phrase over two characters' long position lists, and a
                longer phrase reads positions only where all its pairs occur
``day``         date as ``YYYYMMDDhhmmss`` (i64, indexed, fast); ``year``, ``month``
``source``      raw strings; ``source_no`` / ``section_no`` hashes for counting
``section``
``meta``        the article's extra fields (JSON, raw strings, fast)
``person``      folded names of the entities of that type the article names (raw strings,
``place``       fast, many per document): on every passage of the article, so a filter
``org``         keeps whole articles and a facet counts each article once per name
=============== =========================================================================
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from semsearch.index import lexical, store
from semsearch.index.errors import CollectionError
from semsearch.index.store import Connection

ENGINE_PREFIX = "lexical-"
_ENGINE_DIR = re.compile(r"^lexical-\d{6}$")
MARKER_FIELD = "marker"
MARKER_VALUE = "generation"
# Rows read from SQLite per round while applying or building.
APPLY_BATCH = 2000
# Longest metadata string indexed for filters and facets (longer values are left out).
META_VALUE_CHARS = 256
_DIGITS = re.compile(r"\d+")
# The entity types (the values of :class:`~embedder.entities.EntityType`, spelled out here:
# importing that package loads the tagger's ONNX runtime), each an engine field.
ENTITY_FIELDS = ("person", "place", "org")
# Tries at copying an engine directory while writers may commit to it.
COPY_ATTEMPTS = 3


@dataclass(frozen=True)
class EngineConfig:
    """How the engine is written.

    Attributes:
        writer_heap_bytes: Indexing memory of a write (tantivy's minimum is 15 MB).
        build_heap_bytes: Indexing memory of a full build (upgrade, repair, reanalyze).
            tantivy writes a segment each time the heap fills and merges only once eight
            are alike, and every search pays per segment: 512 MB builds the 112k bench
            collection as one segment (64 MB left five, 13% larger, queries ~2x slower).
    """

    writer_heap_bytes: int = 64_000_000
    build_heap_bytes: int = 512_000_000


DEFAULT_ENGINE = EngineConfig()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("pid", indexed=True, fast=True)
    builder.add_text_field("article", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("article_no", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="raw", index_option="freq")
    builder.add_text_field("title", tokenizer_name="raw", index_option="freq")
    builder.add_text_field("exact", tokenizer_name="raw", index_option="position")
    builder.add_text_field("title_exact", tokenizer_name="raw", index_option="position")
    builder.add_text_field("pairs", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title_pairs", tokenizer_name="raw", index_option="basic")
    for name in ("day", "year", "month"):
        builder.add_integer_field(name, indexed=True, fast=True)
    for name in ("source", "section"):
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
        builder.add_integer_field(f"{name}_no", fast=True)
    builder.add_json_field("meta", fast=True, tokenizer_name="raw", index_option="basic")
    for name in ENTITY_FIELDS:
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(MARKER_FIELD, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("generation", fast=True)
    return builder.build()


SCHEMA = _schema()


def value_hash(value: str) -> int:
    """A stable signed 63-bit number for a string (article ids, sources, sections)."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big") >> 1


def date_key(date: str | None) -> int | None:
    """``YYYYMMDDhhmmss`` of an ISO date (missing parts are zero), None when undated.

    The key orders as the date strings do, so ``2023-04`` sorts before ``2023-04-01``.
    """
    if not date:
        return None
    digits = "".join(_DIGITS.findall(date))[:14]
    if len(digits) < 4:
        return None
    return int(digits.ljust(14, "0"))


def _pretokenized(tokens: Sequence[str]) -> tantivy.PreTokenizedString:
    return tantivy.PreTokenizedString(
        "", [tantivy.Token(t, i, i, i + 1) for i, t in enumerate(tokens)]
    )


def _meta_values(metadata: dict[str, Any]) -> dict[str, Any]:
    """The extra fields filters and facets can use: scalars and lists of scalars."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        values = value if isinstance(value, list) else [value]
        kept = [
            v
            for v in values
            if isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= META_VALUE_CHARS)
        ]
        if kept:
            out[key] = kept if isinstance(value, list) else kept[0]
    return out


@dataclass(frozen=True)
class _TitleTerms:
    terms: list[str]
    exact: list[str]
    pairs: list[str]


def passage_document(
    row: store.LexicalRow, analyzer: lexical.Analyzer, titles: dict[str, _TitleTerms]
) -> tantivy.Document:
    """The engine document of one passage (titles analysed once per article)."""
    doc = tantivy.Document()
    doc.add_integer("pid", row.passage_id)
    doc.add_text("article", row.article_id)
    doc.add_integer("article_no", value_hash(row.article_id))
    title = titles.get(row.article_id)
    if title is None:
        exact_title = lexical.exact_tokens(row.title)
        title = _TitleTerms(
            analyzer.index_terms(row.title), exact_title, _own_pairs(exact_title, analyzer)
        )
        titles[row.article_id] = title
    exact = lexical.exact_tokens(row.text)
    doc.add_pre_tokenized_text("text", _pretokenized(analyzer.index_terms(row.text)))
    doc.add_pre_tokenized_text("title", _pretokenized(title.terms))
    doc.add_pre_tokenized_text("exact", _pretokenized(exact))
    doc.add_pre_tokenized_text("title_exact", _pretokenized(title.exact))
    doc.add_pre_tokenized_text("pairs", _pretokenized(_own_pairs(exact, analyzer)))
    doc.add_pre_tokenized_text("title_pairs", _pretokenized(title.pairs))
    day = date_key(row.date)
    if day is not None:
        doc.add_integer("day", day)
        doc.add_integer("year", day // 10_000_000_000)
        doc.add_integer("month", day // 100_000_000)
    for name, value in (("source", row.source), ("section", row.section)):
        if value:
            doc.add_text(name, value)
            doc.add_integer(f"{name}_no", value_hash(value))
    meta = _meta_values(row.metadata)
    if meta:
        doc.add_json("meta", json.dumps(meta, ensure_ascii=False))
    for kind, names in row.entities.items():
        for name in names:
            doc.add_text(kind, name)
    return doc


def pair_term(first: str, second: str, analyzer: lexical.Analyzer, *, title: bool) -> tuple[str, str]:
    """The field and term recording two neighbouring exact tokens of a passage or title.

    Args:
        first: An exact token.
        second: The token after it.
        analyzer: The analyzer the engine was written with.
        title: The title's fields rather than the passage's.
    """
    if analyzer.covers_pair(first, second):
        return ("title" if title else "text"), first + second
    return ("title_pairs" if title else "pairs"), _pair(first, second)


def _pair(first: str, second: str) -> str:
    # Joined by a space, which no exact token holds, so no two pairs read alike.
    return f"{first} {second}"


def _own_pairs(tokens: Sequence[str], analyzer: lexical.Analyzer) -> list[str]:
    """The pair terms of ``tokens`` that go in a pair field (not covered by bigrams)."""
    return [
        _pair(a, b) for a, b in itertools.pairwise(tokens) if not analyzer.covers_pair(a, b)
    ]


def _marker(generation: int) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text(MARKER_FIELD, MARKER_VALUE)
    doc.add_integer("generation", generation)
    return doc


class Engine:
    """One engine directory of a collection: its index and the latest searcher."""

    def __init__(self, path: Path, config: EngineConfig = DEFAULT_ENGINE) -> None:
        self.path = path
        self.config = config
        try:
            self.index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
            self.index.config_reader("manual")
        except ValueError as exc:
            raise CollectionError(f"{path}: the lexical engine cannot be opened ({exc})") from exc
        self._searcher: tantivy.Searcher | None = None
        self._generation: int | None = None

    @property
    def name(self) -> str:
        """The directory name recorded in the store."""
        return self.path.name

    def searcher(self, *, reload: bool = False) -> tuple[tantivy.Searcher, int]:
        """The latest committed searcher and the SQLite generation it reflects (-1: none)."""
        if reload or self._searcher is None:
            self.index.reload()
            searcher = self.index.searcher()
            self._searcher, self._generation = searcher, marker_generation(searcher)
        assert self._generation is not None
        return self._searcher, self._generation

    def apply(
        self,
        conn: Connection,
        passage_ids: Sequence[int],
        generation: int,
        analyzer: lexical.Analyzer,
        *,
        fresh: bool = False,
    ) -> None:
        """Bring the given passages to what the store's snapshot holds, then commit.

        Args:
            conn: Connection in a read (or write) transaction of ``generation``.
            passage_ids: Passages added, changed or deleted since the engine's generation.
            generation: The store generation the engine reflects after this commit.
            analyzer: The collection's analyzer.
            fresh: The engine is empty (a build): nothing to delete, the build's heap.
        """
        heap = self.config.build_heap_bytes if fresh else self.config.writer_heap_bytes
        writer = self.index.writer(heap_size=heap, num_threads=1)
        # Files of a write that died before its commit would collide with this one's.
        writer.garbage_collect_files()
        try:
            titles: dict[str, _TitleTerms] = {}
            for start in range(0, len(passage_ids), APPLY_BATCH):
                chunk = passage_ids[start : start + APPLY_BATCH]
                for pid in () if fresh else chunk:
                    writer.delete_documents_by_term("pid", int(pid))
                for row in store.lexical_rows(conn, chunk):
                    writer.add_document(passage_document(row, analyzer, titles))
            writer.delete_documents_by_term(MARKER_FIELD, MARKER_VALUE)
            writer.add_document(_marker(generation))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            # A write that did not commit leaves the engine at its last commit; the
            # pending list still names these passages.
            del writer
            raise
        self.searcher(reload=True)

    @property
    def passages(self) -> int:
        """Passages the latest searcher holds (every document but the marker)."""
        return int(self.searcher()[0].num_docs) - 1

    def close(self) -> None:
        """Drop the searcher (files stay mapped until every reader lets go)."""
        self._searcher = None


def marker_generation(searcher: tantivy.Searcher) -> int:
    """The store generation a searcher reflects (-1 when it holds no marker)."""
    query = tantivy.Query.term_query(SCHEMA, MARKER_FIELD, MARKER_VALUE)
    hits = searcher.search(query, 1, count=False).hits
    if not hits:
        return -1
    values = searcher.fast_field_values("generation", [hits[0][1]])
    return int(values[0]) if values and values[0] is not None else -1


def engine_dirs(path: Path) -> Iterator[Path]:
    """Engine directories in a collection directory."""
    for entry in path.iterdir():
        if entry.is_dir() and _ENGINE_DIR.match(entry.name):
            yield entry


def new_engine_dir(path: Path) -> Path:
    """A fresh engine directory name, numbered after every existing one."""
    numbers = [int(d.name.removeprefix(ENGINE_PREFIX)) for d in engine_dirs(path)]
    return path / f"{ENGINE_PREFIX}{max(numbers, default=-1) + 1:06d}"


def build(
    target: Path,
    conn: Connection,
    generation: int,
    analyzer: lexical.Analyzer,
    config: EngineConfig = DEFAULT_ENGINE,
) -> Engine:
    """Build an engine directory afresh from every passage the store's snapshot holds.

    Whatever ``target`` held is replaced (a missing or unreadable engine is rebuilt under
    the name the store records, so no store write is needed).

    Args:
        target: Engine directory.
        conn: Connection inside a transaction (the snapshot to index).
        generation: The snapshot's generation (recorded by the engine's marker).
        analyzer: The analyzer to index with.
        config: Writer settings.

    Returns:
        The committed engine.
    """
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    try:
        engine = Engine(target, config)
        engine.apply(conn, store.all_passage_ids(conn), generation, analyzer, fresh=True)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return engine


def remove_stale_engines(path: Path, keep: Iterable[str]) -> None:
    """Delete engine directories the store no longer names (after a rebuild commits)."""
    kept = set(keep)
    for entry in list(engine_dirs(path)):
        if entry.name not in kept:
            shutil.rmtree(entry, ignore_errors=True)


def copy_engine(source: Path, target: Path, name: str, generation: int) -> bool:
    """Copy the engine directory ``name`` into another collection directory (a backup).

    The copy is kept only when it shows ``generation`` (a writer may commit the engine
    while it is copied); otherwise nothing is left and the copy's first open rebuilds
    the engine from its database.

    Returns:
        Whether the engine was copied.
    """
    copied = target / name
    for _ in range(COPY_ATTEMPTS):
        try:
            shutil.copytree(source / name, copied, ignore=shutil.ignore_patterns("*.lock"))
            engine = Engine(copied)
            _, at = engine.searcher()
            engine.close()
            if at == generation:
                return True
        except (OSError, CollectionError, ValueError):
            pass
        shutil.rmtree(copied, ignore_errors=True)
    return False
