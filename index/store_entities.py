"""SQLite storage of named entities: the store's entity tables and every query on them.

Part of :mod:`index.store` (it creates these tables with the rest and calls
:func:`forget_entities` when articles go); kept apart so the store stays readable.

========================= ==============================================================
``entities``              one row per (type, folded name); ``printed`` is a form as printed
``mentions``              each mention: article, passage (NULL in a heading: ``field``
                          says which), character offsets into that text, printed form
``article_entities``      per article and entity: how many mentions (what counts and
                          co-occurrence read; facets read the engine instead)
``tagged_articles``       articles the extractor has read (``index enrich`` skips them; an
                          article may be tagged and name nothing)
========================= ==============================================================
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from semsearch.index._sql import chunks as _chunks
from semsearch.index._sql import marks as _marks

ENTITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    printed TEXT NOT NULL,
    UNIQUE(type, name)
);
CREATE TABLE IF NOT EXISTS mentions (
    article_id TEXT NOT NULL,
    passage_id INTEGER,
    field TEXT,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    printed TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mentions_article ON mentions(article_id);
CREATE INDEX IF NOT EXISTS mentions_passage ON mentions(passage_id);
CREATE TABLE IF NOT EXISTS article_entities (
    article_id TEXT NOT NULL,
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    mentions INTEGER NOT NULL,
    PRIMARY KEY (article_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_entities_entity ON article_entities(entity_id, article_id);
CREATE TABLE IF NOT EXISTS tagged_articles (article_id TEXT PRIMARY KEY) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class MentionRow:
    """One mention to store: in passage ``passage_id`` or, when None, in heading ``field``."""

    passage_id: int | None
    field: str | None
    start: int
    end: int
    type: str
    name: str
    printed: str


@dataclass(frozen=True)
class EntityRef:
    """An entity as listed: type, folded name, a printed form, and how many articles."""

    type: str
    name: str
    printed: str
    articles: int

    def as_json(self) -> dict[str, Any]:
        """The API's form."""
        return {"type": self.type, "name": self.name, "printed": self.printed, "articles": self.articles}


def _entity_ids(conn: sqlite3.Connection, names: set[tuple[str, str, str]]) -> dict[tuple[str, str], int]:
    """Ids of ``(type, name, printed)`` entities, adding the missing ones."""
    conn.executemany(
        "INSERT OR IGNORE INTO entities(type, name, printed) VALUES (?, ?, ?)", sorted(names)
    )
    ids: dict[tuple[str, str], int] = {}
    for kind, name, _ in names:
        row = conn.execute("SELECT id FROM entities WHERE type = ? AND name = ?", (kind, name)).fetchone()
        ids[(kind, name)] = int(row[0])
    return ids


def write_entities(conn: sqlite3.Connection, article_id: str, mentions: Sequence[MentionRow]) -> None:
    """Replace an article's mentions (inside the write that stores its passages).

    The caller marks the article's passages pending, so the engine takes the names too.
    """
    forget_entities(conn, [article_id])
    ids = _entity_ids(conn, {(m.type, m.name, m.printed) for m in mentions})
    conn.executemany(
        "INSERT INTO mentions(article_id, passage_id, field, start, end, entity_id, printed)"
        " VALUES (?,?,?,?,?,?,?)",
        [
            (article_id, m.passage_id, m.field, m.start, m.end, ids[(m.type, m.name)], m.printed)
            for m in mentions
        ],
    )
    counts: dict[int, int] = {}
    for m in mentions:
        key = ids[(m.type, m.name)]
        counts[key] = counts.get(key, 0) + 1
    conn.executemany(
        "INSERT INTO article_entities(article_id, entity_id, mentions) VALUES (?, ?, ?)",
        [(article_id, entity, count) for entity, count in counts.items()],
    )
    conn.execute("INSERT OR IGNORE INTO tagged_articles(article_id) VALUES (?)", (article_id,))


def forget_entities(conn: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    """Drop the mentions of articles (deleted, or about to be tagged again).

    Entity rows stay (an id is stable; a name no article holds any more counts 0).
    """
    if not _has_entity_tables(conn):
        return
    for chunk in _chunks(list(article_ids)):
        marks = _marks(chunk)
        for table in ("mentions", "article_entities", "tagged_articles"):
            conn.execute(f"DELETE FROM {table} WHERE article_id IN ({marks})", chunk)


def _has_entity_tables(conn: sqlite3.Connection) -> bool:
    # A collection of an earlier release opened read-only has no such tables yet.
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'article_entities'")
    return row.fetchone() is not None


def article_entity_names(
    conn: sqlite3.Connection, article_ids: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """Folded names by type of every entity each article names (what the engine indexes)."""
    out: dict[str, dict[str, list[str]]] = {}
    if not _has_entity_tables(conn):
        return out
    for chunk in _chunks(list(article_ids)):
        rows = conn.execute(
            "SELECT ae.article_id, e.type, e.name FROM article_entities ae"
            f" JOIN entities e ON e.id = ae.entity_id WHERE ae.article_id IN ({_marks(chunk)})"
            " ORDER BY ae.article_id, e.type, e.name",
            chunk,
        )
        for article, kind, name in rows:
            out.setdefault(str(article), {}).setdefault(str(kind), []).append(str(name))
    return out


def untagged_articles(conn: sqlite3.Connection) -> list[str]:
    """Articles the extractor has not read yet, in id order."""
    rows = conn.execute(
        "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM tagged_articles) ORDER BY id"
    )
    return [str(r[0]) for r in rows]


def all_article_ids(conn: sqlite3.Connection) -> list[str]:
    """Every article id, in order."""
    return [str(r[0]) for r in conn.execute("SELECT id FROM articles ORDER BY id")]


def tagged_count(conn: sqlite3.Connection) -> int:
    """How many articles the extractor has read."""
    if not _has_entity_tables(conn):
        return 0
    return int(conn.execute("SELECT count(*) FROM tagged_articles").fetchone()[0])


def find_entity(conn: sqlite3.Connection, kind: str, name: str) -> EntityRef | None:
    """The entity ``(kind, name)`` with its article count (None: never seen)."""
    if not _has_entity_tables(conn):
        return None
    row = conn.execute(
        "SELECT e.type, e.name, e.printed, (SELECT count(*) FROM article_entities ae"
        " WHERE ae.entity_id = e.id) FROM entities e WHERE e.type = ? AND e.name = ?",
        (kind, name),
    ).fetchone()
    return None if row is None else EntityRef(row[0], row[1], row[2], int(row[3]))


def top_entities(conn: sqlite3.Connection, kind: str | None, limit: int) -> list[EntityRef]:
    """The entities most articles name (of one type, or all), most first, then by name."""
    if not _has_entity_tables(conn):
        return []
    where, params = ("WHERE e.type = ?", [kind]) if kind else ("", [])
    rows = conn.execute(
        "SELECT e.type, e.name, e.printed, count(*) AS n FROM article_entities ae"
        f" JOIN entities e ON e.id = ae.entity_id {where}"
        " GROUP BY e.id ORDER BY n DESC, e.type, e.name LIMIT ?",
        [*params, limit],
    )
    return [EntityRef(r[0], r[1], r[2], int(r[3])) for r in rows]


def entity_months(conn: sqlite3.Connection, kind: str, name: str) -> list[tuple[str, int]]:
    """Articles naming the entity per month (``YYYY-MM``; undated articles left out)."""
    rows = conn.execute(
        "SELECT substr(a.date, 1, 7) AS m, count(*) FROM article_entities ae"
        " JOIN entities e ON e.id = ae.entity_id JOIN articles a ON a.id = ae.article_id"
        " WHERE e.type = ? AND e.name = ? AND length(a.date) >= 7 GROUP BY m ORDER BY m",
        (kind, name),
    )
    return [(str(r[0]), int(r[1])) for r in rows]


def cooccurring(conn: sqlite3.Connection, kind: str, name: str, limit: int) -> list[EntityRef]:
    """The entities named in most of the articles that name this one (itself left out)."""
    rows = conn.execute(
        "SELECT o.type, o.name, o.printed, count(*) AS n FROM entities e"
        " JOIN article_entities ae ON ae.entity_id = e.id"
        " JOIN article_entities other ON other.article_id = ae.article_id"
        " AND other.entity_id != e.id JOIN entities o ON o.id = other.entity_id"
        " WHERE e.type = ? AND e.name = ? GROUP BY o.id ORDER BY n DESC, o.type, o.name LIMIT ?",
        (kind, name, limit),
    )
    return [EntityRef(r[0], r[1], r[2], int(r[3])) for r in rows]


def latest_articles(conn: sqlite3.Connection, kind: str, name: str, limit: int) -> list[dict[str, Any]]:
    """The newest articles naming the entity (undated last): id, title, date, source, mentions."""
    rows = conn.execute(
        "SELECT a.id, a.title, a.date, a.source, ae.mentions FROM article_entities ae"
        " JOIN entities e ON e.id = ae.entity_id JOIN articles a ON a.id = ae.article_id"
        " WHERE e.type = ? AND e.name = ? ORDER BY a.date IS NULL, a.date DESC, a.id LIMIT ?",
        (kind, name, limit),
    )
    return [
        {"id": r[0], "title": r[1], "date": r[2], "source": r[3], "mentions": int(r[4])} for r in rows
    ]


def month_counts(conn: sqlite3.Connection, kinds: Sequence[str]) -> Iterator[tuple[str, str, str, int, int]]:
    """``(type, name, month, articles, mentions)`` for every entity and month, by type, name, month."""
    if not _has_entity_tables(conn) or not kinds:
        return iter(())
    return (
        (str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]))
        for r in conn.execute(
            "SELECT e.type, e.name, coalesce(substr(a.date, 1, 7), '') AS m, count(*),"
            " sum(ae.mentions) FROM article_entities ae JOIN entities e ON e.id = ae.entity_id"
            f" JOIN articles a ON a.id = ae.article_id WHERE e.type IN ({_marks(kinds)})"
            " GROUP BY e.id, m ORDER BY e.type, e.name, m",
            list(kinds),
        )
    )


def cooccurrence_pairs(
    conn: sqlite3.Connection, kinds: Sequence[str], min_articles: int, limit: int
) -> list[tuple[str, str, str, str, int]]:
    """``(type, name, type, name, articles)`` for entity pairs named together, most first.

    Each pair once (the first by type and name first); pairs in fewer than ``min_articles``
    articles are left out.
    """
    if not _has_entity_tables(conn) or not kinds:
        return []
    marks = _marks(kinds)
    rows = conn.execute(
        "SELECT e1.type, e1.name, e2.type, e2.name, count(*) AS n FROM article_entities a1"
        " JOIN article_entities a2 ON a2.article_id = a1.article_id"
        " JOIN entities e1 ON e1.id = a1.entity_id JOIN entities e2 ON e2.id = a2.entity_id"
        f" WHERE e1.type IN ({marks}) AND e2.type IN ({marks})"
        " AND (e1.type, e1.name) < (e2.type, e2.name)"
        " GROUP BY a1.entity_id, a2.entity_id HAVING n >= ?"
        " ORDER BY n DESC, e1.type, e1.name, e2.type, e2.name LIMIT ?",
        [*kinds, *kinds, min_articles, limit],
    )
    return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]


def passage_mentions(
    conn: sqlite3.Connection, passage_ids: Sequence[int]
) -> Mapping[int, list[dict[str, Any]]]:
    """The mentions of passages (offsets into each passage's text), by passage id."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not _has_entity_tables(conn):
        return out
    for chunk in _chunks(list(passage_ids)):
        rows = conn.execute(
            "SELECT m.passage_id, m.start, m.end, e.type, e.name, m.printed FROM mentions m"
            f" JOIN entities e ON e.id = m.entity_id WHERE m.passage_id IN ({_marks(chunk)})"
            " ORDER BY m.passage_id, m.start",
            chunk,
        )
        for r in rows:
            out.setdefault(int(r[0]), []).append(
                {"start": r[1], "end": r[2], "type": r[3], "name": r[4], "printed": r[5]}
            )
    return out


def is_tagged(conn: sqlite3.Connection, article_id: str) -> bool:
    """Whether the extractor has read this article."""
    row = conn.execute("SELECT 1 FROM tagged_articles WHERE article_id = ?", (article_id,))
    return row.fetchone() is not None


def printed_forms(conn: sqlite3.Connection, kinds: Sequence[str]) -> dict[tuple[str, str], str]:
    """The printed form kept for each entity of these types."""
    if not _has_entity_tables(conn) or not kinds:
        return {}
    rows = conn.execute(
        f"SELECT type, name, printed FROM entities WHERE type IN ({_marks(kinds)})", list(kinds)
    )
    return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}


def entity_refs(conn: sqlite3.Connection, keys: Sequence[tuple[str, str]]) -> list[EntityRef | None]:
    """:func:`find_entity` of each ``(type, name)``, in order (a sharded collection's exact
    counts of the entities its shards listed)."""
    return [find_entity(conn, kind, name) for kind, name in keys]


def cooccurrence_counts(
    conn: sqlite3.Connection, kind: str, name: str, others: Sequence[tuple[str, str]]
) -> list[int]:
    """Articles naming both ``(kind, name)`` and each of ``others``, in order."""
    if not _has_entity_tables(conn):
        return [0 for _ in others]
    out = []
    for other_kind, other_name in others:
        row = conn.execute(
            "SELECT count(*) FROM entities e JOIN article_entities ae ON ae.entity_id = e.id"
            " JOIN article_entities other ON other.article_id = ae.article_id"
            " JOIN entities o ON o.id = other.entity_id AND o.id != e.id"
            " WHERE e.type = ? AND e.name = ? AND o.type = ? AND o.name = ?",
            (kind, name, other_kind, other_name),
        ).fetchone()
        out.append(int(row[0]))
    return out
