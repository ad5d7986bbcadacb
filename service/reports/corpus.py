"""Read-only view of a collection for batch reports: passage and article vectors in memory.

Reports need every vector at once; :meth:`Collection.passage_vectors` reads them inside one
snapshot, and this module adds the article means and the same-event space. It never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.errors import InputError
from semsearch.index import ArticleFields, Collection, PassageVectors
from semsearch.service.reports.centroid import centre, news_centroid
from semsearch.service.reports.normalise import Normalised, normalise

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
    # Character offsets of each passage in its article's stored text.
    passage_starts: np.ndarray  # (n_passages,) int64
    passage_ends: np.ndarray  # (n_passages,) int64
    passage_vectors: np.ndarray  # (n_passages, d) float32, L2-normalised
    article_vectors: np.ndarray  # (n_articles, d) float32, L2-normalised
    # Stored article texts (copy and reuse alignment); empty when not loaded.
    texts: list[str] = field(default_factory=list)

    _events: np.ndarray | None = None
    _normal: dict[int, Normalised] = field(default_factory=dict)

    def normalised(self, article: int) -> Normalised:
        """Article ``article``'s text normalised for copy and reuse alignment (cached)."""
        found = self._normal.get(article)
        if found is None:
            found = self._normal[article] = normalise(self.texts[article] if self.texts else "")
        return found

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
    if not Collection.exists(path):
        raise InputError(f"no collection at {path}")
    with Collection.open(path, embedder, read_only=True) as collection:
        exported = collection.passage_vectors(progress=progress)
        texts = collection.article_texts()
    return build_corpus(str(path), exported, texts)


def build_corpus(
    path: str, exported: PassageVectors, texts: dict[str, str] | None = None
) -> Corpus:
    """Assemble a :class:`Corpus` from passages already grouped by article.

    Args:
        path: Where the data came from (shown in reports).
        exported: Passages grouped by article, their vectors and article fields.
        texts: Article texts by id (absent ones read as ''); None leaves them out.

    Returns:
        The corpus.
    """
    owners, matrix = exported.owners, exported.vectors
    starts = [i for i in range(len(owners)) if i == 0 or owners[i] != owners[i - 1]]
    ids = [owners[i] for i in starts]
    offsets = np.asarray([*starts, len(owners)], dtype=np.int64)
    dimension = matrix.shape[1] if matrix.ndim == 2 else 0
    if ids:
        sums = np.add.reduceat(matrix.astype(np.float32), offsets[:-1], axis=0)
    else:
        sums = np.zeros((0, dimension), dtype=np.float32)
    means = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), _EPS)
    missing = ArticleFields(title="", url=None, date=None, source=None)
    meta = [exported.articles.get(a, missing) for a in ids]
    return Corpus(
        path=path,
        fingerprint=exported.fingerprint,
        article_ids=ids,
        titles=[m.title for m in meta],
        urls=[m.url for m in meta],
        dates=[m.date for m in meta],
        sources=[m.source for m in meta],
        offsets=offsets,
        passage_ids=exported.passage_ids,
        passage_texts=exported.texts,
        passage_starts=exported.starts,
        passage_ends=exported.ends,
        passage_vectors=np.ascontiguousarray(matrix, dtype=np.float32),
        article_vectors=np.ascontiguousarray(means, dtype=np.float32),
        texts=[texts.get(a, "") for a in ids] if texts is not None else [],
    )
