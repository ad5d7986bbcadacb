"""Row and vector changes made inside one write: upserting and deleting articles.

Private: :meth:`~index.collection.Collection.upsert` and
:meth:`~index.collection.Collection.delete` run these inside their write transaction,
on the index that write saves as its generation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from semsearch.embedder.base import ArticleTagger, TextEmbedder
from semsearch.embedder.fields import check_article
from semsearch.embedder.records import Article, Passage
from semsearch.index import store, store_entities
from semsearch.index.errors import InputError
from semsearch.index.results import UpsertReport
from semsearch.index.segments import SegmentedVectors
from semsearch.index.store import Connection

if TYPE_CHECKING:  # the package loads the tagger's ONNX runtime; only callers with one need it
    from semsearch.embedder.entities import ArticleEntities

# Passages embedded per call while ingesting.
EMBED_BATCH = 256
# Articles tagged per pass of the entity tagger while ingesting.
TAG_BATCH = 32
# Metadata that ingest derives from an article's layout or byline, not from its title and
# text: a write of the same content that lacks them (a JSONL record re-sending a page
# article's clean text) keeps the stored values rather than erasing them.
DERIVED_KEYS = ("byline", "kicker", "subtitle", "reporters", "event_dates")


def upsert(
    conn: Connection,
    vectors: SegmentedVectors,
    embedder: TextEmbedder,
    items: Iterable[tuple[Article, list[Passage]]],
    extractor: ArticleTagger | None = None,
) -> UpsertReport:
    """Add or replace articles with their passages and vectors.

    Args:
        conn: Connection inside the write transaction.
        vectors: The index being written.
        embedder: Embeds the new passages.
        items: ``(article, passages)`` pairs; passages belong to that article.
        extractor: Tags new and changed articles' named entities (None: no entities; an
            unchanged article keeps the ones it has, and is tagged when it has none).

    Returns:
        Counts of what changed (the generation is filled in by the caller).
    """
    report = UpsertReport()
    next_id = store.read_meta(conn).next_passage_id
    pending: dict[int, str] = {}

    def flush() -> None:
        if not pending:
            return
        ids = np.fromiter(pending.keys(), dtype=np.int64, count=len(pending))
        vectors.add(ids, embedder.embed_passages(list(pending.values()), progress=False))
        pending.clear()

    for article, passages, found in _tagged(conn, items, extractor):
        old_hash = store.article_hash(conn, article.id)
        if old_hash is not None and old_hash == article.content_hash():
            old_ids = store.passage_ids_of(conn, [article.id])
            if len(old_ids) == len(passages):
                store.write_article(
                    conn, _with_derived(article, store.article_row(conn, article.id))
                )
                # The stored passages keep their boxes, so they keep the file they refer to
                # unless ingest read the article again from a (moved) page file.
                if article.page_file is not None:
                    store.set_page_file(conn, article.id, article.page_file)
                if extractor is not None and not store_entities.is_tagged(conn, article.id):
                    stored = store.passages_of(conn, article.id)
                    tag_article(conn, extractor, article, stored)
                report.metadata_only += 1
                continue
        if old_hash is not None:
            removed = store.delete_articles(conn, [article.id], keep_rows=True)
            _forget_vectors(conn, vectors, removed, pending)
            report.passages_removed += len(removed)
            report.replaced += 1
        else:
            report.added += 1
        store.write_article(conn, article)
        store.set_page_file(conn, article.id, article.page_file)
        ids = list(range(next_id, next_id + len(passages)))
        next_id += len(passages)
        store.insert_passages(conn, ids, passages)
        if extractor is not None:
            tag_article(conn, extractor, article, list(zip(ids, passages, strict=True)), found)
        pending.update(zip(ids, (p.text for p in passages), strict=True))
        report.passages_added += len(passages)
        if len(pending) >= EMBED_BATCH:
            flush()
    flush()
    store.write_meta(conn, next_passage_id=next_id)
    return report


def _tagged(
    conn: Connection, items: Iterable[tuple[Article, list[Passage]]], extractor: ArticleTagger | None
) -> Iterator[tuple[Article, list[Passage], ArticleEntities | None]]:
    """The items, checked, with the tags of the new and changed ones found
    :data:`TAG_BATCH` articles at a time (one pass of the tagger instead of one each).

    An article the store holds unchanged gets none (it keeps its tags, or is tagged from
    its stored passages); one whose state changes within the batch (an id given twice) is
    tagged alone when written.
    """
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, TAG_BATCH)):
        for article, passages in chunk:
            # Records read by ingest were checked already; articles built in Python were not.
            check_article(article)
            _check_owner(article, passages)
        found: dict[int, ArticleEntities] = {}
        if extractor is not None:
            changed = [
                i
                for i, (article, _) in enumerate(chunk)
                if store.article_hash(conn, article.id) != article.content_hash()
            ]
            tags = extractor.extract_articles([chunk[i] for i in changed]) if changed else []
            found = dict(zip(changed, tags, strict=True))
        for i, (article, passages) in enumerate(chunk):
            yield article, passages, found.get(i)


def tag_article(
    conn: Connection,
    extractor: ArticleTagger,
    article: Article,
    passages: Sequence[tuple[int, Passage]],
    found: ArticleEntities | None = None,
) -> None:
    """Store an article's mentions (replacing any): ``found``, or what tagging its passages
    and headings finds."""
    if found is None:
        found = extractor.extract_article(article, [p for _, p in passages])
    store_entities.write_entities(conn, article.id, mention_rows(found, [i for i, _ in passages]))


def mention_rows(found: ArticleEntities, passage_ids: Sequence[int]) -> list[store_entities.MentionRow]:
    """The store's rows of an article's mentions (passages by id, headings by field)."""
    rows = [
        store_entities.MentionRow(pid, None, m.start, m.end, m.type.value, m.folded, m.printed)
        for pid, group in zip(passage_ids, found.passages, strict=True)
        for m in group
    ]
    rows += [
        store_entities.MentionRow(None, name, m.start, m.end, m.type.value, m.folded, m.printed)
        for name, group in found.headings.items()
        for m in group
    ]
    return rows


def delete(conn: Connection, vectors: SegmentedVectors, article_ids: Sequence[str]) -> int:
    """Delete articles, their passages and vectors.

    Args:
        conn: Connection inside the write transaction.
        vectors: The index being written.
        article_ids: Articles to delete; unknown ids are ignored.

    Returns:
        How many articles were deleted.
    """
    present = [a for a in dict.fromkeys(article_ids) if store.article_hash(conn, a) is not None]
    store.forget_page_files(conn, present)  # before the rows their foreign key names
    removed = store.delete_articles(conn, present)
    _forget_vectors(conn, vectors, removed, {})
    return len(present)


def _with_derived(article: Article, stored: dict[str, Any] | None) -> Article:
    """``article`` with the derived metadata and author of its stored row where it has none."""
    if stored is None:
        return article
    old = stored["metadata"]
    kept = {key: old[key] for key in DERIVED_KEYS if key in old and not _gives(article, key)}
    if not kept:
        return article
    author = article.author or (stored["author"] if "reporters" in kept else None)
    return replace(article, metadata={**article.metadata, **kept}, author=author)


def _gives(article: Article, key: str) -> bool:
    return bool(article.metadata.get(key) or getattr(article, key, None))


def _check_owner(article: Article, passages: list[Passage]) -> None:
    for passage in passages:
        if passage.article_id != article.id:
            raise InputError(f"passage {passage.key} does not belong to article {article.id}")


def _forget_vectors(
    conn: Connection, vectors: SegmentedVectors, ids: list[int], pending: dict[int, str]
) -> None:
    in_index = [i for i in ids if pending.pop(i, None) is None]
    if not in_index:
        return
    if vectors.supports_remove:
        vectors.remove(np.asarray(in_index, dtype=np.int64))
    else:
        store.add_tombstones(conn, in_index)
