"""What the service reads from a collection, one or sharded: a structural protocol that
:class:`~index.collection.Collection` and :class:`~index.sharded.ShardedCollection` both meet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from semsearch.index._export import PassageVectors
from semsearch.index.filters import Filters
from semsearch.index.requests import SearchRequest
from semsearch.index.results import SearchResponse
from semsearch.index.store import StoredPassage


class Searchable(Protocol):
    """Search, query by example and the routed look-ups of one logical collection."""

    def run(self, request: SearchRequest) -> SearchResponse: ...

    def similar(
        self,
        *,
        passage_id: int | None = None,
        article_id: str | None = None,
        text: str | None = None,
        k: int = 10,
        offset: int = 0,
        filters: Filters | None = None,
        collapse: bool = False,
        min_score: float | None = None,
    ) -> SearchResponse: ...

    def passage(self, passage_id: int) -> StoredPassage | None: ...

    def get_article(self, article_id: str) -> dict[str, Any] | None: ...

    def page_file(self, article_id: str) -> str | None: ...

    def article_with_passages(
        self, article_id: str
    ) -> tuple[dict[str, Any], list[StoredPassage]] | None: ...

    def article_texts(self) -> dict[str, str]: ...

    def counts(self) -> tuple[int, int]: ...

    def passage_vectors(
        self, *, progress: bool = False, article_ids: Sequence[str] | None = None
    ) -> PassageVectors: ...

    def close(self) -> None: ...


__all__ = ["Searchable"]
