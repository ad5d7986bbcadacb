"""How a sharded collection's ingress reaches its shards: the client protocol (in-process
or remote), the deadlines it waits, and the error a write to a down shard raises."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from semsearch.index._export import PassageVectors
from semsearch.index._search import DEFAULT_MATCH, MatchConfig
from semsearch.index.cluster import ClusterManifest
from semsearch.index.entities import EntityPage, EntityPageConfig
from semsearch.index.errors import CollectionError, InputError
from semsearch.index.results import UpsertReport
from semsearch.index.shard import (
    CandidateAsk,
    Candidates,
    ExampleTexts,
    FinishAsk,
    Finished,
    ShardReader,
    ShardWrite,
    SuppliedVectors,
)
from semsearch.index.store import StoredPassage
from semsearch.index.store_entities import EntityRef


@dataclass(frozen=True, kw_only=True)
class ClusterConfig:
    """How the cluster's ingress talks to its shards.

    Attributes:
        deadline_s: Seconds a shard has to answer one round of a read before the answer
            goes on without it (``partial``). Default 5 s: ten times the slowest measured
            single-shard p99 on the 1M bench (docs/benchmarks.md), so only a shard that is
            down or stalled misses it.
        write_deadline_s: Seconds a shard has for a write (a write embeds nothing there,
            but may merge segments). Default 120 s.
        match: The match set's floor and counting limit, and BM25 field weights (as for
            one collection).
        shard_factor: See :meth:`shard_size` (default 1.5, Elasticsearch's).
        shard_extra: See :meth:`shard_size` (default 10, Elasticsearch's).
    """

    deadline_s: float = 5.0
    write_deadline_s: float = 120.0
    match: MatchConfig = DEFAULT_MATCH
    shard_factor: float = 1.5
    shard_extra: int = 10

    def shard_size(self, shown: int) -> int:
        """How many values each shard lists for ``shown`` values merged (facets, entity
        lists): more than shown, so a value cut from one shard's list but high in the sum
        is still found, as Elasticsearch's ``shard_size`` (``size * 1.5 + 10``)."""
        return math.ceil(shown * self.shard_factor) + self.shard_extra

    def __post_init__(self) -> None:
        if not (self.deadline_s > 0 and self.write_deadline_s > 0):
            raise InputError("cluster deadlines must be positive")
        if self.shard_factor < 1 or self.shard_extra < 0:
            raise InputError("shard_factor must be >= 1 and shard_extra >= 0")


DEFAULT_CLUSTER = ClusterConfig()


class ShardUnavailableError(CollectionError):
    """A shard a write needs did not answer; nothing was written."""


class ShardClient(Protocol):
    """One shard as the ingress reaches it (in-process or remote); ids are local."""

    def candidates(self, ask: CandidateAsk) -> Candidates: ...

    def finish(self, ask: FinishAsk) -> Finished: ...

    def example(self, passage_id: int | None, article_id: str | None) -> ExampleTexts | None: ...

    def passage(self, passage_id: int) -> StoredPassage | None: ...

    def get_article(self, article_id: str) -> dict[str, Any] | None: ...

    def page_file(self, article_id: str) -> str | None: ...

    def article_with_passages(
        self, article_id: str
    ) -> tuple[dict[str, Any], list[StoredPassage]] | None: ...

    def article_texts(self) -> dict[str, str]: ...

    def counts(self) -> tuple[int, int]: ...

    def passage_vectors(self, article_ids: list[str] | None) -> PassageVectors: ...

    def ping(self) -> bool: ...

    def top_entities(self, kind: str | None, limit: int) -> list[EntityRef]: ...

    def entity(self, kind: str, name: str, config: EntityPageConfig) -> EntityPage | None: ...

    def entity_refs(self, keys: list[tuple[str, str]]) -> list[EntityRef | None]: ...

    def tagged_articles(self) -> int: ...

    def cooccurrence(self, kind: str, name: str, others: list[tuple[str, str]]) -> list[int]: ...

    def upsert(self, write: ShardWrite) -> UpsertReport: ...

    def delete(self, article_ids: Sequence[str]) -> int: ...

    def close(self) -> None: ...


def local_shards(path: Path, manifest: ClusterManifest) -> list[ShardClient]:
    """Every shard of the cluster at ``path``, opened in this process."""
    supplied = SuppliedVectors(manifest.model_fingerprint, manifest.model_name, manifest.dimension)
    opened: list[ShardClient] = []
    try:
        for index in range(manifest.shards):
            opened.append(ShardReader(manifest.shard_path(path, index), supplied))
    except BaseException:
        for shard in opened:
            shard.close()
        raise
    return opened


__all__ = ["DEFAULT_CLUSTER", "ClusterConfig", "ShardClient", "ShardUnavailableError", "local_shards"]
