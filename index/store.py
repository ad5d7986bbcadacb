"""SQLite storage: articles, passages, the lexical engine's pending list and metadata (WAL).

The one module that speaks SQL. The lexical engine (:mod:`index._engine`) is derived from
these tables: every write lists the passages it touched in ``lexical_pending`` inside its
own transaction, and the engine catches up from that list after the commit. The ``meta``
table is read and written only here, as one typed record (:class:`CollectionMeta`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, TypedDict, Unpack

from semsearch.embedder.records import Article, Passage
from semsearch.index import lexical
from semsearch.index._sql import chunks as _chunks
from semsearch.index._sql import marks as _marks
from semsearch.index.store_entities import ENTITY_SCHEMA, article_entity_names, forget_entities

DATABASE_NAME = "collection.sqlite"
# A writer may hold the database for a while (one transaction per ingest batch); readers in
# WAL mode are not blocked, but a second writer waits this long before giving up.
BUSY_TIMEOUT_S = 60.0

# The one connection type of the store: every module that reads or writes through this
# one takes it typed, so nothing outside passes a stand-in.
Connection = sqlite3.Connection

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    date TEXT, source TEXT, section TEXT, url TEXT, author TEXT,
    content_hash TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE INDEX IF NOT EXISTS articles_section ON articles(section);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL,
    paragraph_index INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, ordinal);
CREATE TABLE IF NOT EXISTS lexical_pending (passage_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS tombstones (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS page_files (
    article_id TEXT PRIMARY KEY REFERENCES articles(id),
    path TEXT NOT NULL
);
""" + ENTITY_SCHEMA


@dataclass(frozen=True, kw_only=True)
class StoredPassage:
    """A passage row joined with its article's display fields."""

    id: int
    article_id: str
    ordinal: int
    paragraph_index: int
    start: int
    end: int
    text: str
    title: str
    date: str | None
    source: str | None
    section: str | None
    url: str | None
    layout: list[dict[str, Any]] | None = None  # pages and line boxes (PDF, ALTO, hOCR input)


# Memory-mapped bytes of the database file and page cache per connection (see connect).
MMAP_BYTES = 1 << 30
CACHE_KIB = 16_384


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the collection database in WAL mode.

    Args:
        path: Database file.
        read_only: Open with ``mode=ro`` (a reader never takes write locks).

    Returns:
        A connection in autocommit mode; use :func:`transaction` for writes.
    """
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    conn = sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    if not read_only:
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed generation must survive power loss, or the manifest written
        # after the commit could point past what the database holds.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        _migrate(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    # Ranking looks up a few hundred rows by id per search: read them through a memory map
    # and keep more pages than SQLite's 2 MB default, so the lookups stay in memory
    # instead of copying pages through read() (1M collection: ids -> articles 0.47 -> 0.36 ms).
    conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    if read_only:
        # Only readers: a writer's larger cache would hold its dirty pages until commit.
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a collection made by an older release up to the schema (additive only)."""
    if not _has_layout(conn):
        # Nullable, no default to fill: instant on any table size, old rows read as NULL.
        conn.execute("ALTER TABLE passages ADD COLUMN layout TEXT")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _has_layout(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "layout" for row in conn.execute("PRAGMA table_info(passages)"))


@contextmanager
def transaction(conn: sqlite3.Connection, *, write: bool) -> Iterator[sqlite3.Connection]:
    """Run a block in one transaction: a write (BEGIN IMMEDIATE) or a snapshot read.

    Args:
        conn: Connection from :func:`connect`.
        write: Take the write lock up front.

    Yields:
        The connection.
    """
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# ----------------------------------------------------------------- collection metadata


@dataclass(frozen=True, kw_only=True)
class CollectionMeta:
    """What the ``meta`` table records of a collection, one typed field per key.

    Each default is what an absent key means: collections made by older releases lack
    some keys, and they open as they are (no migration).

    Attributes:
        generation: Last committed generation.
        index_kind: Vector index kind of the collection.
        index_params: Parameters of that kind.
        index_auto: The kind is re-chosen by size as the collection grows.
        model_fingerprint: The embedder the vectors were made with (None: not recorded).
        dimension: Vector dimension.
        recall_at_10: Recall@10 measured at the last rebuild (None: not measured).
        next_passage_id: Id the next inserted passage gets.
        cjk_chars: CJK letters over all stored passages (kept by every insert and delete).
        latin_chars: Latin letters over all stored passages.
        analyzer: Analyzer of the lexical index (absent: the one before they were recorded).
        segments: The generation's segment records (None: the layout before segments, one
            FAISS file per generation).
        next_segment: Number the next saved segment file gets.
        engine_dir: Directory of the lexical engine (None: an FTS5 collection).
    """

    generation: int = 0
    index_kind: str = "flat"
    index_params: dict[str, Any] = field(default_factory=dict)
    index_auto: bool = False
    model_fingerprint: str | None = None
    dimension: int = 0
    recall_at_10: float | None = None
    next_passage_id: int = 1
    cjk_chars: int = 0
    latin_chars: int = 0
    analyzer: str = lexical.LEGACY_ANALYZER
    segments: tuple[dict[str, Any], ...] | None = None
    next_segment: int = 0
    engine_dir: str | None = None

    @property
    def script_profile(self) -> lexical.ScriptProfile:
        """The letters of the whole collection (hybrid fusion weighs queries against it)."""
        return lexical.ScriptProfile(self.cjk_chars, self.latin_chars)


class MetaChanges(TypedDict, total=False):
    """The fields a write may set with :func:`write_meta` (the letter counters only move
    with the passages, inside this module; None: see :func:`write_meta`)."""

    generation: int
    index_kind: str
    index_params: dict[str, Any]
    index_auto: bool
    model_fingerprint: str
    dimension: int
    recall_at_10: float | None
    next_passage_id: int
    analyzer: str | None
    segments: Sequence[dict[str, Any]] | None
    next_segment: int
    engine_dir: str


class _Codec(NamedTuple):
    """A field's key in the table and how its value is read from and written as text
    (written as None: the key is removed, so the field reads as absent)."""

    key: str
    decode: Callable[[str], object]
    encode: Callable[[Any], str | None]


def _text_or(default: str) -> Callable[[str], str]:
    # An empty value has always read as the default, as an absent one does.
    return lambda raw: raw or default


def _encode_recall(recall: float | None) -> str:
    # Not measured has always been written as an empty value.
    return "" if recall is None else f"{recall:.4f}"


def _encode_segments(records: Sequence[dict[str, Any]] | None) -> str | None:
    return None if records is None else json.dumps(list(records))


def _encode_text(value: str | None) -> str | None:
    return value


def _integer(key: str) -> _Codec:
    return _Codec(key, int, str)


_CODECS: dict[str, _Codec] = {
    "generation": _integer("generation"),
    "index_kind": _Codec("index_kind", _text_or("flat"), str),
    "index_params": _Codec("index_params", lambda raw: json.loads(raw or "{}"), json.dumps),
    "index_auto": _Codec("index_auto", lambda raw: bool(int(raw)), lambda auto: str(int(auto))),
    "model_fingerprint": _Codec("model_fingerprint", str, str),
    "dimension": _integer("dimension"),
    "recall_at_10": _Codec("recall_at_10", lambda raw: float(raw) if raw else None, _encode_recall),
    "next_passage_id": _integer("next_passage_id"),
    "cjk_chars": _integer("cjk_chars"),
    "latin_chars": _integer("latin_chars"),
    "analyzer": _Codec("lexical_analyzer", _text_or(lexical.LEGACY_ANALYZER), _encode_text),
    "segments": _Codec("segments", lambda raw: tuple(json.loads(raw)), _encode_segments),
    "next_segment": _integer("next_segment"),
    "engine_dir": _Codec("lexical_engine", str, str),
}
_FIELD_OF_KEY = {codec.key: name for name, codec in _CODECS.items()}


def read_meta(conn: sqlite3.Connection) -> CollectionMeta:
    """The collection's metadata, every key in one query (one snapshot inside a transaction).

    Args:
        conn: Connection (inside a transaction when the answer must stay true).

    Returns:
        The record; absent keys read as the field defaults, unknown keys are ignored.
    """
    values: dict[str, Any] = {}
    for key, raw in conn.execute("SELECT key, value FROM meta"):
        name = _FIELD_OF_KEY.get(key)
        if name is not None:
            values[name] = _CODECS[name].decode(raw)
    return CollectionMeta(**values)


def write_meta(conn: sqlite3.Connection, **changes: Unpack[MetaChanges]) -> None:
    """Record the given fields (inside a write transaction); the others stay as they are.

    ``None`` for ``segments`` or ``analyzer`` removes the key: the collection then reads
    as one of a release before segments, or before analyzers were recorded (tests build
    such collections so).

    Args:
        conn: Connection inside a write transaction.
        **changes: Field values, by :class:`CollectionMeta` field name.
    """
    for name, value in changes.items():
        codec = _CODECS[name]
        text = codec.encode(value)
        if text is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (codec.key,))
        else:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (codec.key, text))


def _add_script_counts(conn: sqlite3.Connection, profile: lexical.ScriptProfile) -> None:
    """Add a text's letters to the collection's counters (one statement each: atomic)."""
    conn.executemany(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
        " DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
        [
            (_CODECS["cjk_chars"].key, str(profile.cjk)),
            (_CODECS["latin_chars"].key, str(profile.latin)),
        ],
    )

def begin(conn: sqlite3.Connection, *, write: bool = False) -> None:
    """Open a transaction: a snapshot read, or (``write``) one holding the write lock."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")


def commit(conn: sqlite3.Connection) -> None:
    """Commit the open transaction (a write's commit point)."""
    conn.execute("COMMIT")


def rollback(conn: sqlite3.Connection) -> None:
    """Abandon the open transaction."""
    conn.execute("ROLLBACK")


@dataclass(frozen=True)
class ExportRows:
    """Passages in article order with their article's display fields (for reports)."""

    passages: list[tuple[int, str, str, int, int]]  # id, article id, text, start, end
    articles: dict[str, tuple[str, str | None, str | None, str | None]]  # title, url, date, source


def export_rows(conn: sqlite3.Connection, article_ids: Sequence[str] | None = None) -> ExportRows:
    """Every passage (or those of ``article_ids``) in article order, and their articles."""
    columns = "SELECT id, article_id, text, start, end FROM passages"
    fields = "SELECT id, title, url, date, source FROM articles"
    if article_ids is None:
        rows = conn.execute(f"{columns} ORDER BY article_id, ordinal").fetchall()
        article_rows = conn.execute(fields).fetchall()
    else:
        wanted = sorted(set(article_ids))
        marks = _marks(wanted)
        rows = conn.execute(
            f"{columns} WHERE article_id IN ({marks}) ORDER BY article_id, ordinal", wanted
        ).fetchall()
        article_rows = conn.execute(f"{fields} WHERE id IN ({marks})", wanted).fetchall()
    return ExportRows(
        passages=[(int(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in rows],
        articles={str(r[0]): (r[1] or "", r[2], r[3], r[4]) for r in article_rows},
    )


def article_hash(conn: sqlite3.Connection, article_id: str) -> str | None:
    """The stored content hash of an article, None when absent."""
    row = conn.execute("SELECT content_hash FROM articles WHERE id = ?", (article_id,)).fetchone()
    return row[0] if row else None


def _article_metadata(article: Article) -> str:
    extra: dict[str, Any] = dict(article.metadata)
    for name in ("kicker", "subtitle"):
        value = getattr(article, name)
        if value:
            extra.setdefault(name, value)
    if article.reporters:
        extra.setdefault("reporters", list(article.reporters))
    if article.event_dates:
        extra.setdefault("event_dates", list(article.event_dates))
    return json.dumps(extra, ensure_ascii=False, sort_keys=True)


def write_article(conn: sqlite3.Connection, article: Article) -> None:
    """Insert or update an article row (not its passages).

    Args:
        conn: Connection inside a write transaction.
        article: The article.
    """
    conn.execute(
        "INSERT INTO articles(id, title, text, date, source, section, url, author, content_hash,"
        " metadata) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET title=excluded.title,"
        " text=excluded.text, date=excluded.date, source=excluded.source,"
        " section=excluded.section, url=excluded.url, author=excluded.author,"
        " content_hash=excluded.content_hash, metadata=excluded.metadata",
        (
            article.id,
            article.title,
            article.text,
            article.date,
            article.source,
            article.section,
            article.url,
            article.author,
            article.content_hash(),
            _article_metadata(article),
        ),
    )
    # Title, date, source and extra fields are indexed with every passage of the article.
    conn.execute(
        "INSERT OR IGNORE INTO lexical_pending(passage_id)"
        " SELECT id FROM passages WHERE article_id = ?",
        (article.id,),
    )


def set_page_file(conn: sqlite3.Connection, article_id: str, path: str | None) -> None:
    """Record (or, with ``None``, forget) the file an article's pages are drawn from.

    Kept in its own table, apart from the article's metadata, so that no record field can
    name a file for the page route: only ingest's layout readers give an article a path.

    Args:
        conn: Connection inside a write transaction.
        article_id: The article (its row exists).
        path: The PDF or page image ingest read the article from.
    """
    if path is None:
        conn.execute("DELETE FROM page_files WHERE article_id = ?", (article_id,))
    else:
        conn.execute(
            "INSERT INTO page_files(article_id, path) VALUES (?, ?) ON CONFLICT(article_id)"
            " DO UPDATE SET path = excluded.path",
            (article_id, path),
        )


def forget_page_files(conn: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    """Drop the page files of deleted articles."""
    for chunk in _chunks(list(article_ids)):
        marks = _marks(chunk)
        conn.execute(f"DELETE FROM page_files WHERE article_id IN ({marks})", chunk)


def page_file(conn: sqlite3.Connection, article_id: str) -> str | None:
    """The file ingest read an article's pages from, None when it has none.

    A collection made before the table existed, opened read-only, has no table: no pages.
    """
    if not _has_table(conn, "page_files"):
        return None
    row = conn.execute("SELECT path FROM page_files WHERE article_id = ?", (article_id,))
    found = row.fetchone()
    return str(found[0]) if found else None


def insert_passages(conn: sqlite3.Connection, ids: Sequence[int], passages: Sequence[Passage]) -> None:
    """Insert passages with their assigned ids (the engine indexes them after the commit).

    Args:
        conn: Connection inside a write transaction.
        ids: One new passage id per passage.
        passages: The passages.
    """
    conn.executemany(
        "INSERT INTO passages(id, article_id, ordinal, paragraph_index, start, end, text, layout)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [
            (pid, p.article_id, p.ordinal, p.paragraph_index, p.start, p.end, p.text, _layout(p))
            for pid, p in zip(ids, passages, strict=True)
        ],
    )
    mark_pending(conn, ids)
    profile = lexical.script_profile(" ".join(p.text for p in passages))
    _add_script_counts(conn, profile)


def mark_pending(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
    """List passages the lexical engine must (re)index or drop after this commit."""
    conn.executemany(
        "INSERT OR IGNORE INTO lexical_pending(passage_id) VALUES (?)", [(int(i),) for i in ids]
    )


def pending_passages(conn: sqlite3.Connection) -> list[int]:
    """Passages changed since the lexical engine last caught up, ascending."""
    return [int(r[0]) for r in conn.execute("SELECT passage_id FROM lexical_pending ORDER BY 1")]


def clear_pending(conn: sqlite3.Connection) -> None:
    """Forget the pending list (the engine reflects it; inside a write transaction)."""
    conn.execute("DELETE FROM lexical_pending")


@dataclass(frozen=True)
class LexicalRow:
    """What the lexical engine indexes of one passage."""

    passage_id: int
    article_id: str
    text: str
    title: str
    date: str | None
    source: str | None
    section: str | None
    metadata: dict[str, Any]
    # Folded names by type (``person`` …) of every entity the article names.
    entities: dict[str, list[str]] = field(default_factory=dict)


def lexical_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> list[LexicalRow]:
    """The engine's view of the given passages (absent ids are left out: deleted)."""
    rows: list[LexicalRow] = []
    for chunk in _chunks(list(ids)):
        for row in conn.execute(
            "SELECT p.id, p.article_id, p.text, a.title, a.date, a.source, a.section, a.metadata"
            " FROM passages p JOIN articles a ON a.id = p.article_id"
            f" WHERE p.id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            rows.append(
                LexicalRow(
                    passage_id=int(row[0]),
                    article_id=str(row[1]),
                    text=row[2],
                    title=row[3] or "",
                    date=row[4],
                    source=row[5],
                    section=row[6],
                    metadata=json.loads(row[7] or "{}"),
                )
            )
    names = article_entity_names(conn, list({r.article_id for r in rows}))
    return [replace(r, entities=names[r.article_id]) if r.article_id in names else r for r in rows]


def has_fts_tables(conn: sqlite3.Connection) -> bool:
    """Whether the collection still carries the FTS5 tables of releases before the engine."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'passages_fts'"
    ).fetchone()
    return row is not None


def drop_fts_tables(conn: sqlite3.Connection) -> None:
    """Drop the FTS5 tables once the engine holds the lexical index (inside a write)."""
    conn.execute("DROP TABLE IF EXISTS passages_vocab")
    conn.execute("DROP TABLE IF EXISTS passages_fts")


def passage_ids_of(conn: sqlite3.Connection, article_ids: Sequence[str]) -> list[int]:
    """Passage ids of the given articles."""
    out: list[int] = []
    for chunk in _chunks(list(article_ids)):
        out.extend(
            row[0]
            for row in conn.execute(
                f"SELECT id FROM passages WHERE article_id IN ({','.join('?' * len(chunk))})", chunk
            )
        )
    return out


def delete_articles(conn: sqlite3.Connection, article_ids: Sequence[str], *, keep_rows: bool = False) -> list[int]:
    """Delete articles' passages (and, unless ``keep_rows``, the article rows).

    Args:
        conn: Connection inside a write transaction.
        article_ids: Articles to remove.
        keep_rows: Keep the article rows (used when replacing an article's content).

    Returns:
        The passage ids removed.
    """
    removed: list[int] = []
    for chunk in _chunks(list(article_ids)):
        marks = _marks(chunk)
        rows = conn.execute(
            f"SELECT id, text FROM passages WHERE article_id IN ({marks})", chunk
        ).fetchall()
        ids = [row[0] for row in rows]
        profile = lexical.script_profile(" ".join(row[1] for row in rows))
        _add_script_counts(conn, lexical.ScriptProfile(-profile.cjk, -profile.latin))
        for id_chunk in _chunks(ids):
            id_marks = _marks(id_chunk)
            conn.execute(f"DELETE FROM passages WHERE id IN ({id_marks})", id_chunk)
        forget_entities(conn, chunk)
        if not keep_rows:
            conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", chunk)
        removed.extend(ids)
    mark_pending(conn, removed)
    return removed


def counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """``(articles, passages)`` row counts."""
    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    passages = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    return int(articles), int(passages)


def all_passage_ids(conn: sqlite3.Connection) -> list[int]:
    """Every passage id, ascending."""
    return [row[0] for row in conn.execute("SELECT id FROM passages ORDER BY id")]


def iter_passage_texts(conn: sqlite3.Connection, batch: int) -> Iterator[list[tuple[int, str]]]:
    """Yield ``(id, text)`` batches of every passage in id order (for rebuilding vectors)."""
    last = -1
    while True:
        rows = conn.execute(
            "SELECT id, text FROM passages WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
        ).fetchall()
        if not rows:
            return
        yield [(int(row[0]), str(row[1])) for row in rows]
        last = int(rows[-1][0])


def _layout(passage: Passage) -> str | None:
    layout = passage.layout()
    return None if layout is None else json.dumps(layout, separators=(",", ":"))


def fetch_passages(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, StoredPassage]:
    """Load passages with their article's display fields.

    Args:
        conn: Connection (in a read snapshot for consistency).
        ids: Passage ids; unknown ids are simply absent from the result.

    Returns:
        Passages by id.
    """
    out: dict[int, StoredPassage] = {}
    # A collection of an older release opened read-only has not been migrated yet.
    layout = "p.layout" if _has_layout(conn) else "NULL"
    for chunk in _chunks(list(ids)):
        rows = conn.execute(
            "SELECT p.id, p.article_id, p.ordinal, p.paragraph_index, p.start, p.end, p.text,"
            f" a.title, a.date, a.source, a.section, a.url, {layout} FROM passages p JOIN articles a"
            f" ON a.id = p.article_id WHERE p.id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            out[int(row[0])] = StoredPassage(
                id=int(row[0]),
                article_id=row[1],
                ordinal=row[2],
                paragraph_index=row[3],
                start=row[4],
                end=row[5],
                text=row[6],
                title=row[7],
                date=row[8],
                source=row[9],
                section=row[10],
                url=row[11],
                layout=json.loads(row[12]) if row[12] else None,
            )
    return out


def article_ids_of(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, str]:
    """The article id of each passage (no text): what ranking needs, at a fraction of the cost.

    Args:
        conn: Connection (in a read snapshot for consistency).
        ids: Passage ids; unknown ids are absent from the result.

    Returns:
        Article id by passage id.
    """
    out: dict[int, str] = {}
    for chunk in _chunks(list(ids)):
        rows = conn.execute(
            f"SELECT id, article_id FROM passages WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )
        out.update((int(row[0]), str(row[1])) for row in rows)
    return out


def lead_passages(conn: sqlite3.Connection, article_ids: Iterable[str]) -> dict[str, int]:
    """The first passage (lowest ordinal) of each article.

    Args:
        conn: Connection (in a read snapshot for consistency).
        article_ids: Articles; unknown ones are absent from the result.

    Returns:
        Passage id by article id.
    """
    out: dict[str, int] = {}
    for chunk in _chunks(list(article_ids)):
        # SQLite returns the bare column ``id`` from the row holding MIN(ordinal).
        rows = conn.execute(
            "SELECT article_id, id, MIN(ordinal) FROM passages"
            f" WHERE article_id IN ({','.join('?' * len(chunk))}) GROUP BY article_id",
            chunk,
        )
        out.update((str(row[0]), int(row[1])) for row in rows)
    return out


def tombstones(conn: sqlite3.Connection) -> list[int]:
    """Passage ids removed from SQLite but still present in an index that cannot delete."""
    return [row[0] for row in conn.execute("SELECT id FROM tombstones")]


def add_tombstones(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Record ids to hide from vector search."""
    conn.executemany("INSERT OR IGNORE INTO tombstones(id) VALUES (?)", [(i,) for i in ids])


def remove_tombstones(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Forget tombstones whose vectors a merge dropped."""
    conn.executemany("DELETE FROM tombstones WHERE id = ?", [(int(i),) for i in ids])


def clear_tombstones(conn: sqlite3.Connection) -> None:
    """Forget all tombstones (after a rebuild)."""
    conn.execute("DELETE FROM tombstones")


def article_row(conn: sqlite3.Connection, article_id: str) -> dict[str, Any] | None:
    """An article's stored fields as a dict (metadata parsed), None when absent."""
    row = conn.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
    if row is None:
        return None
    data = dict(row)
    data["metadata"] = json.loads(data["metadata"])
    return data


def article_texts(conn: sqlite3.Connection) -> dict[str, str]:
    """Every stored article's text by id."""
    return {str(row[0]): str(row[1]) for row in conn.execute("SELECT id, text FROM articles")}


def copy_snapshot(conn: sqlite3.Connection, target: Path) -> None:
    """Copy the database as ``conn``'s open read snapshot sees it (SQLite online backup).

    Writers in other connections go on meanwhile; the copy is one self-contained file
    in rollback-journal mode (opening it for writing switches it to WAL, as any collection).

    Args:
        conn: Connection inside a read transaction on the source.
        target: New database file.
    """
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        conn.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """What SQLite's ``quick_check`` finds wrong with the database (empty when sound)."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
    return [] if rows == ["ok"] else rows


def passages_of(conn: sqlite3.Connection, article_id: str) -> list[tuple[int, Passage]]:
    """An article's stored passages with their ids, in reading order."""
    rows = conn.execute(
        "SELECT id, ordinal, paragraph_index, start, end, text FROM passages"
        " WHERE article_id = ? ORDER BY ordinal",
        (article_id,),
    )
    return [
        (
            int(r[0]),
            Passage(
                article_id=article_id, ordinal=r[1], paragraph_index=r[2], start=r[3], end=r[4], text=r[5]
            ),
        )
        for r in rows
    ]


def stored_article(conn: sqlite3.Connection, article_id: str) -> Article | None:
    """An article as stored (no paragraphs or original): what tagging it again reads."""
    row = article_row(conn, article_id)
    if row is None:
        return None
    metadata = dict(row["metadata"])
    return Article(
        id=row["id"],
        title=row["title"],
        text=row["text"],
        paragraphs=[],
        date=row["date"],
        source=row["source"],
        section=row["section"],
        url=row["url"],
        author=row["author"],
        kicker=_text_field(metadata.get("kicker")),
        subtitle=_text_field(metadata.get("subtitle")),
        metadata=metadata,
    )


def _text_field(value: Any) -> str | None:
    return value if isinstance(value, str) else None
