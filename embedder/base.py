"""The interfaces the index and the service see: text in, L2-normalised vectors out; an
article in, its named entities out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # the entities package loads the tagger's ONNX runtime
    from semsearch.embedder.entities import ArticleEntities
    from semsearch.embedder.records import Article, Passage


class ArticleTagger(Protocol):
    """What a write needs to store an article's named entities (``EntityExtractor``, or
    the tags a sharded collection's ingress found, handed to the shard that stores them)."""

    def extract_article(self, article: Article, passages: Sequence[Passage]) -> ArticleEntities: ...

    def extract_articles(
        self, items: Sequence[tuple[Article, Sequence[Passage]]]
    ) -> list[ArticleEntities]:
        """``extract_article`` of each item (a tagger may batch them)."""
        ...


@runtime_checkable
class TextEmbedder(Protocol):
    """What ``index/`` and ``service/`` need from an embedder.

    ``fingerprint`` identifies the model weights (a collection refuses another model);
    vectors are float32, shape ``(len(texts), dimension)``, L2-normalised, so inner
    product is cosine similarity.
    """

    @property
    def fingerprint(self) -> str: ...

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(
        self, texts: Sequence[str], *, progress: bool | None = None
    ) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class WrappedEmbedder:
    """An embedder that hands every call to ``inner``; subclasses change what they wrap.

    The server wraps its model twice (query batching, the write guard); each wrapper
    overrides only its own part and inherits the rest of :class:`TextEmbedder`.
    """

    def __init__(self, inner: TextEmbedder) -> None:
        self.inner = inner

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        return self.inner.embed_passages(texts, progress=progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)
