"""Every live passage with its vector, read inside one snapshot (for batch reports).

Private: :meth:`~semsearch.index.Collection.passage_vectors` is the public door.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.index import store
from semsearch.index.errors import InputError
from semsearch.index.segments import SegmentedVectors

# Passages re-embedded per call when the index keeps only quantised vectors (the embedding
# cache answers these without model time for ingested collections).
REEMBED_BATCH = 20_000


@dataclass(frozen=True, kw_only=True)
class ArticleFields:
    """The display fields of an article that reports show."""

    title: str
    url: str | None
    date: str | None
    source: str | None


@dataclass(frozen=True, kw_only=True)
class PassageVectors:
    """Every live passage of a collection, grouped by article, with its vector.

    ``owners[i]`` is the article of row ``i``; rows of one article are contiguous, in
    reading order. ``vectors`` are L2-normalised float32, one row per passage.
    """

    fingerprint: str
    owners: list[str]
    passage_ids: np.ndarray
    texts: list[str]
    vectors: np.ndarray
    articles: dict[str, ArticleFields]
    # Character offsets of each passage in its article's stored text (int64 arrays).
    starts: np.ndarray
    ends: np.ndarray


def read_passage_vectors(
    conn: store.Connection,
    vectors: SegmentedVectors,
    fingerprint: str,
    embedder: TextEmbedder | None,
    *,
    progress: bool,
    article_ids: Sequence[str] | None = None,
) -> PassageVectors:
    """Rows and vectors of one snapshot (the caller holds it); ``article_ids``: only those."""
    found = store.export_rows(conn, article_ids)
    rows = found.passages
    articles = {
        aid: ArticleFields(title=title, url=url, date=date, source=source)
        for aid, (title, url, date, source) in found.articles.items()
    }
    passage_ids = np.asarray([int(r[0]) for r in rows], dtype=np.int64)
    texts = [str(r[2]) for r in rows]
    return PassageVectors(
        fingerprint=fingerprint,
        owners=[str(r[1]) for r in rows],
        passage_ids=passage_ids,
        texts=texts,
        vectors=_matrix(vectors, passage_ids, texts, embedder, progress, all_rows=article_ids is None),
        articles=articles,
        starts=np.asarray([int(r[3]) for r in rows], dtype=np.int64),
        ends=np.asarray([int(r[4]) for r in rows], dtype=np.int64),
    )


def _matrix(
    vectors: SegmentedVectors,
    passage_ids: np.ndarray,
    texts: Sequence[str],
    embedder: TextEmbedder | None,
    progress: bool,
    *,
    all_rows: bool,
) -> np.ndarray:
    """Vectors of ``passage_ids`` in that order, reconstructed or re-embedded.

    ``all_rows``: the ids are every live passage (one bulk read beats lookups by id).
    """
    if len(passage_ids) == 0:
        return np.zeros((0, vectors.dimension), dtype=np.float32)
    if not all_rows:
        found = vectors.reconstruct(passage_ids)
        if found is not None:
            return np.ascontiguousarray(found, dtype=np.float32)
    exact = vectors.reconstruct_all() if all_rows else None
    if exact is not None:
        stored_ids, stored = exact
        order = np.argsort(stored_ids)
        where = order[np.minimum(np.searchsorted(stored_ids[order], passage_ids), len(order) - 1)]
        if (stored_ids[where] == passage_ids).all():
            return np.ascontiguousarray(stored[where], dtype=np.float32)
    if embedder is None:
        raise InputError(
            "this collection keeps quantised vectors: the model is needed to read them"
        )
    parts = [
        embedder.embed_passages(texts[start : start + REEMBED_BATCH], progress=progress)
        for start in range(0, len(texts), REEMBED_BATCH)
    ]
    return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)
