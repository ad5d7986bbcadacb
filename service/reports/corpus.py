"""Read-only view of a collection for batch reports: passage and article vectors in memory.

``index.Collection`` answers one query at a time and has no accessor for "every vector";
reports need all of them at once, so this module reads a collection directly through
``index.store`` and ``index.vectors`` inside one SQLite snapshot (the same pairing of rows
and FAISS generation the collection itself uses). It never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedder.base import TextEmbedder
from embedder.errors import InputError
from index import store
from index.collection import vectors_name
from index.errors import ModelMismatchError
from index.manifest import MANIFEST_NAME, read_manifest
from index.vectors import VectorIndex
from service.reports.centroid import centre, news_centroid

# Passages re-embedded per call when the index keeps only quantised vectors (the embedding
# cache answers these without model time for ingested collections).
REEMBED_BATCH = 20_000
_EPS = 1e-12


@dataclass(kw_only=True)
class Corpus:
    """Every live passage and article of a collection, ordered by article.

    Passages of article ``i`` are rows ``offsets[i]:offsets[i + 1]`` of ``passage_vectors``;
    ``article_vectors`` are the re-normalised means of those rows.
    """

    path: str
    fingerprint: str
    article_ids: list[str]
    titles: list[str]
    urls: list[str | None]
    dates: list[str | None]
    sources: list[str | None]
    offsets: np.ndarray  # (n_articles + 1,) int64
    passage_ids: np.ndarray  # (n_passages,) int64
    passage_texts: list[str]
    passage_vectors: np.ndarray  # (n_passages, d) float32, L2-normalised
    article_vectors: np.ndarray  # (n_articles, d) float32, L2-normalised

    _events: np.ndarray | None = None

    def centroid(self) -> np.ndarray:
        """The news centroid of this corpus's model (its own mean for an unknown model)."""
        return news_centroid(self.fingerprint, self.article_vectors)

    def event_vectors(self) -> np.ndarray:
        """Article vectors centred on the news centroid: the space of same-event scores."""
        if self._events is None:
            self._events = centre(self.article_vectors, self.centroid())
        return self._events

    @property
    def size(self) -> int:
        """Number of articles."""
        return len(self.article_ids)

    def passage_rows(self, article: int) -> slice:
        """Rows of ``passage_vectors`` that belong to article number ``article``."""
        return slice(int(self.offsets[article]), int(self.offsets[article + 1]))

    def article_dict(self, article: int) -> dict[str, str | None]:
        """Display fields of article number ``article``."""
        return {
            "article_id": self.article_ids[article],
            "title": self.titles[article],
            "url": self.urls[article],
            "date": self.dates[article],
            "source": self.sources[article],
        }


def load_corpus(path: Path, embedder: TextEmbedder | None, *, progress: bool = False) -> Corpus:
    """Load a collection's passages, their vectors and article mean vectors.

    Exact vectors come from the FAISS index when its kind keeps them (``flat``, ``hnsw``);
    otherwise the passages are re-embedded through ``embedder``.

    Args:
        path: Collection directory.
        embedder: The collection's model; needed only for quantised index kinds.
        progress: Show the embedder's progress bar when re-embedding.

    Returns:
        The corpus (articles without passages are left out).

    Raises:
        InputError: No collection at ``path``.
        ModelMismatchError: ``embedder`` is not the model the collection was built with.
    """
    if not (path / MANIFEST_NAME).is_file():
        raise InputError(f"no collection at {path}")
    manifest = read_manifest(path)
    if embedder is not None and embedder.fingerprint != manifest.model_fingerprint:
        raise ModelMismatchError(
            f"{path} was built with model {manifest.model_name}; the loaded model differs"
        )
    conn = store.connect(path / store.DATABASE_NAME, read_only=True)
    try:
        with store.transaction(conn, write=False):
            generation = store.get_int(conn, "generation")
            vectors = VectorIndex.load(
                path / vectors_name(generation),
                dimension=store.get_int(conn, "dimension"),
                kind=store.get_meta(conn, "index_kind", "flat") or "flat",
                params={},
                read_only=True,
            )
            rows = conn.execute(
                "SELECT p.id, p.article_id, p.text FROM passages p ORDER BY p.article_id, p.ordinal"
            ).fetchall()
            articles = {
                row[0]: (row[1], row[2], row[3], row[4])
                for row in conn.execute("SELECT id, title, url, date, source FROM articles")
            }
            passage_ids = np.asarray([int(r[0]) for r in rows], dtype=np.int64)
            texts = [str(r[2]) for r in rows]
            matrix = _passage_matrix(vectors, passage_ids, texts, embedder, progress)
    finally:
        conn.close()
    owners = [str(r[1]) for r in rows]
    return build_corpus(
        str(path), manifest.model_fingerprint, owners, passage_ids, texts, matrix, articles
    )


def build_corpus(
    path: str,
    fingerprint: str,
    owners: list[str],
    passage_ids: np.ndarray,
    texts: list[str],
    matrix: np.ndarray,
    articles: dict[str, tuple[str, str | None, str | None, str | None]],
) -> Corpus:
    """Assemble a :class:`Corpus` from passages already grouped by article.

    Args:
        path: Where the data came from (shown in reports).
        fingerprint: Model fingerprint of the vectors.
        owners: Article id of each passage; equal ids are contiguous.
        passage_ids: Passage ids.
        texts: Passage texts.
        matrix: Passage vectors, L2-normalised.
        articles: Article id -> (title, url, date, source).

    Returns:
        The corpus.
    """
    starts = [i for i in range(len(owners)) if i == 0 or owners[i] != owners[i - 1]]
    ids = [owners[i] for i in starts]
    offsets = np.asarray([*starts, len(owners)], dtype=np.int64)
    dimension = matrix.shape[1] if matrix.ndim == 2 else 0
    if ids:
        sums = np.add.reduceat(matrix.astype(np.float32), offsets[:-1], axis=0)
    else:
        sums = np.zeros((0, dimension), dtype=np.float32)
    means = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), _EPS)
    meta = [articles.get(a, ("", None, None, None)) for a in ids]
    return Corpus(
        path=path,
        fingerprint=fingerprint,
        article_ids=ids,
        titles=[m[0] or "" for m in meta],
        urls=[m[1] for m in meta],
        dates=[m[2] for m in meta],
        sources=[m[3] for m in meta],
        offsets=offsets,
        passage_ids=passage_ids,
        passage_texts=texts,
        passage_vectors=np.ascontiguousarray(matrix, dtype=np.float32),
        article_vectors=np.ascontiguousarray(means, dtype=np.float32),
    )


def _passage_matrix(
    vectors: VectorIndex,
    passage_ids: np.ndarray,
    texts: list[str],
    embedder: TextEmbedder | None,
    progress: bool,
) -> np.ndarray:
    """Vectors of ``passage_ids`` in that order, reconstructed or re-embedded."""
    dimension = vectors.dimension
    if len(passage_ids) == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    exact = vectors.reconstruct_all()
    if exact is not None:
        stored_ids, stored = exact
        order = np.argsort(stored_ids)
        where = order[np.minimum(np.searchsorted(stored_ids[order], passage_ids), len(order) - 1)]
        if (stored_ids[where] == passage_ids).all():
            return np.asarray(stored[where], dtype=np.float32)
    if embedder is None:
        raise InputError(
            "this collection keeps quantised vectors: the model is needed to read them"
        )
    parts = [
        embedder.embed_passages(texts[start : start + REEMBED_BATCH], progress=progress)
        for start in range(0, len(texts), REEMBED_BATCH)
    ]
    return np.vstack(parts).astype(np.float32)
