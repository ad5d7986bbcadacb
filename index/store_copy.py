"""SQLite reads of whole stored articles, as written, for copying them into another
collection (re-sharding a cluster: :mod:`index.reshard`).

Part of :mod:`index.store`, kept apart so the store stays readable. What comes back is
what a write takes (:class:`~embedder.records.Article` and
:class:`~embedder.records.Passage`), rebuilt from every stored column, so writing it again
stores the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from semsearch.embedder.records import Article, Passage, Region
from semsearch.index import store
from semsearch.index._sql import marks as _marks
from semsearch.index.store_entities import MentionRow

Box = tuple[float, float, float, float]


@dataclass(frozen=True, kw_only=True)
class StoredRecord:
    """One article as stored, ready to be written again.

    Attributes:
        article: Every stored field (``paragraphs`` and ``original`` are not stored:
            empty); ``page_file`` is the page file it was read from.
        passages: Its passages in reading order, with their layout.
        passage_ids: Each passage's id in the collection read (same order).
    """

    article: Article
    passages: list[Passage]
    passage_ids: list[int]


def article_ids_after(conn: store.Connection, after: str | None, limit: int) -> list[str]:
    """The next ``limit`` article ids in id order, after ``after`` (None: from the first).

    Keyset paging: each page is one index range scan, however deep into the table.
    """
    if after is None:
        rows = conn.execute("SELECT id FROM articles ORDER BY id LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            "SELECT id FROM articles WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        )
    return [str(r[0]) for r in rows]


def stored_records(conn: store.Connection, article_ids: Sequence[str]) -> list[StoredRecord]:
    """The articles ``article_ids`` (at most :data:`~index._sql.SQL_CHUNK`) with their passages,
    in the order given; unknown ids are left out."""
    marks = _marks(article_ids)
    ids = list(article_ids)
    rows = {
        str(r[0]): r
        for r in conn.execute(
            "SELECT id, title, text, date, source, section, url, author, metadata FROM articles"
            f" WHERE id IN ({marks})",
            ids,
        )
    }
    pages: dict[str, str] = {}
    if store._has_table(conn, "page_files"):
        found = conn.execute(
            f"SELECT article_id, path FROM page_files WHERE article_id IN ({marks})", ids
        )
        pages = {str(r[0]): str(r[1]) for r in found}
    layout = "layout" if store._has_layout(conn) else "NULL"
    passages: dict[str, list[tuple[int, Passage]]] = {}
    for r in conn.execute(
        f"SELECT id, article_id, ordinal, paragraph_index, start, end, text, {layout} FROM passages"
        f" WHERE article_id IN ({marks}) ORDER BY article_id, ordinal",
        ids,
    ):
        passage = Passage(
            article_id=str(r[1]),
            ordinal=int(r[2]),
            paragraph_index=int(r[3]),
            start=int(r[4]),
            end=int(r[5]),
            text=str(r[6]),
            regions=_regions(r[7]),
        )
        passages.setdefault(passage.article_id, []).append((int(r[0]), passage))
    out = []
    for article_id in ids:
        row = rows.get(article_id)
        if row is None:
            continue
        own = passages.get(article_id, [])
        out.append(
            StoredRecord(
                article=_article(row, pages.get(article_id)),
                passages=[p for _, p in own],
                passage_ids=[i for i, _ in own],
            )
        )
    return out


def _article(row: Sequence[Any], page_file: str | None) -> Article:
    # kicker, subtitle, reporters and event dates live in the metadata column already;
    # a write keeps the column as given (it only fills those keys in when absent).
    return Article(
        id=str(row[0]),
        title=str(row[1]),
        text=str(row[2]),
        paragraphs=[],
        date=row[3],
        source=row[4],
        section=row[5],
        url=row[6],
        author=row[7],
        metadata=json.loads(row[8]),
        page_file=page_file,
    )


def _regions(raw: str | None) -> tuple[Region, ...]:
    if not raw:
        return ()
    return tuple(
        Region(page=int(part["page"]), boxes=tuple(cast(Box, tuple(box)) for box in part["boxes"]))
        for part in json.loads(raw)
    )


def article_mentions(
    conn: store.Connection, article_ids: Sequence[str]
) -> dict[str, list[MentionRow]]:
    """The stored mentions of the tagged articles among ``article_ids`` (at most
    :data:`~index._sql.SQL_CHUNK`), in the order they were written; an untagged article is
    absent, a tagged one that names nothing maps to an empty list."""
    if not store._has_table(conn, "tagged_articles"):
        return {}
    marks = _marks(article_ids)
    ids = list(article_ids)
    out: dict[str, list[MentionRow]] = {
        str(r[0]): []
        for r in conn.execute(
            f"SELECT article_id FROM tagged_articles WHERE article_id IN ({marks})", ids
        )
    }
    rows = conn.execute(
        "SELECT m.article_id, m.passage_id, m.field, m.start, m.end, e.type, e.name, m.printed"
        f" FROM mentions m JOIN entities e ON e.id = m.entity_id WHERE m.article_id IN ({marks})"
        " ORDER BY m.rowid",
        ids,
    )
    for r in rows:
        found = out.get(str(r[0]))
        if found is not None:
            found.append(
                MentionRow(r[1], r[2], int(r[3]), int(r[4]), str(r[5]), str(r[6]), str(r[7]))
            )
    return out


__all__ = ["StoredRecord", "article_ids_after", "article_mentions", "stored_records"]
