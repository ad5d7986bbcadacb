"""Named entities of a collection: what an entity page shows, and tagging stored articles.

The rows live in the store's entity tables (:mod:`index.store_entities`); the engine's
``person``, ``place`` and ``org`` fields carry the same names for facets and filters.
:class:`~index.collection.Collection` reads these in its snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from semsearch.embedder.records import Article, Passage
from semsearch.index import store, store_entities
from semsearch.index.store import Connection
from semsearch.index.store_entities import EntityRef


@dataclass(frozen=True)
class EntityPageConfig:
    """How much an entity page lists.

    Attributes:
        cooccurring: Entities named alongside it, most articles first.
        latest: Newest articles naming it.
    """

    cooccurring: int = 20
    latest: int = 20


DEFAULT_ENTITY_PAGE = EntityPageConfig()


@dataclass(frozen=True)
class EntityPage:
    """One entity: articles naming it, per month, its companions and latest articles."""

    entity: EntityRef
    months: list[tuple[str, int]]
    cooccurring: list[EntityRef]
    latest: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The API's form."""
        return {
            **self.entity.as_json(),
            "months": [{"month": m, "articles": n} for m, n in self.months],
            "cooccurring": [e.as_json() for e in self.cooccurring],
            "latest": self.latest,
        }


def entity_page(
    conn: Connection, kind: str, name: str, config: EntityPageConfig = DEFAULT_ENTITY_PAGE
) -> EntityPage | None:
    """The page of ``(kind, folded name)``, None when no article names it."""
    found = store_entities.find_entity(conn, kind, name)
    if found is None or found.articles == 0:
        return None
    return EntityPage(
        entity=found,
        months=store_entities.entity_months(conn, kind, name),
        cooccurring=store_entities.cooccurring(conn, kind, name, config.cooccurring),
        latest=store_entities.latest_articles(conn, kind, name, config.latest),
    )


@dataclass
class EnrichReport:
    """What ``index enrich`` did: articles tagged, mentions stored, articles that changed
    while they were tagged (left for the next run)."""

    articles: int = 0
    mentions: int = 0
    skipped: int = 0
    remaining: int = 0

    def as_json(self) -> dict[str, int]:
        """The CLI's JSON form."""
        return {
            "articles": self.articles,
            "mentions": self.mentions,
            "skipped": self.skipped,
            "remaining": self.remaining,
        }


@dataclass(frozen=True)
class StoredForTagging:
    """An article read in a snapshot to be tagged outside the write lock."""

    article: Article
    passages: list[tuple[int, Passage]]
    content_hash: str


def read_for_tagging(conn: Connection, article_ids: Sequence[str]) -> list[StoredForTagging]:
    """The stored articles and passages to tag (absent ids left out)."""
    out: list[StoredForTagging] = []
    for article_id in article_ids:
        article = store.stored_article(conn, article_id)
        digest = store.article_hash(conn, article_id)
        if article is None or digest is None:
            continue
        out.append(StoredForTagging(article, store.passages_of(conn, article_id), digest))
    return out


def unchanged(conn: Connection, stored: StoredForTagging) -> bool:
    """Whether the article still holds the text and passages that were tagged."""
    if store.article_hash(conn, stored.article.id) != stored.content_hash:
        return False
    now = [pid for pid, _ in store.passages_of(conn, stored.article.id)]
    return now == [pid for pid, _ in stored.passages]


@dataclass(frozen=True)
class EntityCounts:
    """What ``report entities`` lists, read in one snapshot.

    ``months``: ``(type, name, printed, month, articles, mentions)``, month ``""`` for
    undated articles; ``pairs``: ``(type, name, type, name, articles)``, most first.
    """

    months: list[tuple[str, str, str, str, int, int]]
    pairs: list[tuple[str, str, str, str, int]]


def entity_counts(
    conn: Connection, kinds: Sequence[str], *, min_pair_articles: int, pair_limit: int
) -> EntityCounts:
    """Articles and mentions per entity and month, and co-occurrence pairs."""
    printed = store_entities.printed_forms(conn, kinds)
    months = [
        (kind, name, printed.get((kind, name), name), month, articles, mentions)
        for kind, name, month, articles, mentions in store_entities.month_counts(conn, kinds)
    ]
    pairs = store_entities.cooccurrence_pairs(conn, kinds, min_pair_articles, pair_limit)
    return EntityCounts(months, pairs)
