"""Every tunable of a collection, as typed values with their defaults in one place.

A collection is opened with an :class:`IndexConfig` (``Collection.open(path, embedder,
config=...)``); each part goes to the code it tunes, so a test or a benchmark builds the
config it wants instead of patching module constants. :func:`defaults` lists every value
by dotted name (``merge.merge_factor``: 8, ...), search-time defaults included.

- :class:`MergePolicy` — when segments fold and seal (:mod:`index.segments`).
- :class:`KindPolicy` — which vector index kind an ``auto`` collection gets at what size,
  and when tombstones force a rebuild (:mod:`index.vectors`, :mod:`index._rebuild`).
- :class:`~index._search.MatchConfig` — the match set's floors and counting limit.
- :class:`~index._engine.EngineConfig` — the lexical engine's writer memory.

Search-time values stay on the request: :class:`~index.fusion.FusionParams` (the
lexical share of hybrid fusion and its floors) is listed here under ``fusion`` but passed
per search (``SearchRequest.fusion``).

Values not yet per collection (HNSW and IVF build parameters, candidate depths, batch
sizes, retries and timeouts) stay constants beside the code they tune, each with the
measurement behind it; :func:`fixed` lists them too, so this module is the inventory.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from semsearch.index._engine import EngineConfig
from semsearch.index._search import MatchConfig
from semsearch.index.fusion import FusionParams

# Field metadata of a config's observers: callables, not values, so not listed as defaults.
HOOK = "hook"


@dataclass(frozen=True, kw_only=True)
class MergePolicy:
    """When a generation's vector segments fold together (tiered, as Lucene's log policy).

    A segment's tier is ``floor(log_merge_factor(live vectors))``; ``merge_factor`` or more
    mergeable segments of the lowest full tier fold into one.

    Attributes:
        merge_factor: Segments of one tier folded together (Lucene's default is 10; 8 keeps
            a 2-core writer's merges shorter). At least 2.
        seal_vectors: A merged (or bulk-written) segment with this many live vectors is
            built as the collection's kind and sealed; smaller ones stay appendable
            ``flat`` segments.
        max_merge_vectors: Segments bigger than this are left to ``optimize``: folding
            ``merge_factor`` of them would stall one write for a graph build over hundreds
            of thousands of vectors.
        before_build: Called with the number of segments about to be folded, just before
            each merge build starts (inline inside the write, in the background with no
            lock held). Not a tunable (:func:`defaults` leaves it out, equality ignores
            it): a seam for a caller that must see or pace merges, as a test holding a
            background merge mid-build or a benchmark counting merges. None: nothing.
    """

    merge_factor: int = 8
    seal_vectors: int = 20_000
    max_merge_vectors: int = 40_000
    before_build: Callable[[int], None] | None = field(
        default=None, compare=False, repr=False, metadata={HOOK: True}
    )

    def __post_init__(self) -> None:
        if self.merge_factor < 2:
            raise ValueError("merge_factor must be at least 2")
        if self.seal_vectors < 1 or self.max_merge_vectors < 1:
            raise ValueError("seal_vectors and max_merge_vectors must be positive")

    def tier(self, live: int) -> int:
        """The merge tier of a segment with ``live`` vectors."""
        return int(math.log(max(live, 1), self.merge_factor))


@dataclass(frozen=True, kw_only=True)
class KindPolicy:
    """Which vector index kind an ``auto`` collection is built as, and when it is rebuilt.

    Figures behind the defaults (bench/index.py, one thread): on 109k news embeddings a flat
    scan takes 10.1 ms per query, HNSW (M=32, efSearch 96) 0.41 ms at recall@10 0.955,
    IVF-SQ8 (nprobe 32) 0.25 ms but recall 0.848 (too low on this narrow cone of news
    vectors), and a flat scan of 50k ~5 ms. Float HNSW holds ~1.8 KB per vector, so past ~500k it alone
    would pass 1 GB; half-precision codes (hnsw_fp16, M=16, efSearch 512) keep 1M derived
    news vectors at recall@10 0.970 in 920 MB.

    Attributes:
        flat_max_vectors: Largest ``auto`` collection kept as an exact ``flat`` index.
        large_kind: The kind above that.
        float_max_vectors: Largest ``auto`` collection of ``large_kind``.
        huge_kind: The kind above that.
        tombstone_rebuild_fraction: Share of stored vectors that may be tombstones before
            a write rebuilds the index (HNSW cannot delete).
    """

    flat_max_vectors: int = 50_000
    large_kind: str = "hnsw"
    float_max_vectors: int = 500_000
    huge_kind: str = "hnsw_fp16"
    tombstone_rebuild_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not 0 <= self.flat_max_vectors <= self.float_max_vectors:
            raise ValueError("need 0 <= flat_max_vectors <= float_max_vectors")
        if not 0.0 < self.tombstone_rebuild_fraction <= 1.0:
            raise ValueError("tombstone_rebuild_fraction must be in (0, 1]")

    def choose(self, n_vectors: int) -> str:
        """The kind for ``n_vectors``: ``flat``, then ``large_kind``, then ``huge_kind``."""
        if n_vectors <= self.flat_max_vectors:
            return "flat"
        return self.large_kind if n_vectors <= self.float_max_vectors else self.huge_kind


DEFAULT_MERGE = MergePolicy()
DEFAULT_KINDS = KindPolicy()


@dataclass(frozen=True, kw_only=True)
class IndexConfig:
    """The tunables a collection is opened with (each default documented on its type).

    Attributes:
        merge: When segments fold and seal.
        kinds: The automatic kind choice and the tombstone rebuild.
        match: The match set's dense floor and margin, counting limit, facet values and
            BM25 field weights.
        engine: The lexical engine's indexing memory.
    """

    merge: MergePolicy = field(default_factory=MergePolicy)
    kinds: KindPolicy = field(default_factory=KindPolicy)
    match: MatchConfig = field(default_factory=MatchConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)


DEFAULT_CONFIG = IndexConfig()


def defaults() -> dict[str, Any]:
    """Every default by dotted name: the collection's :class:`IndexConfig`, then the
    search-time ``fusion.*`` values of :class:`~index.fusion.FusionParams`."""
    listed = _flatten("", DEFAULT_CONFIG)
    listed.update(_flatten("fusion.", FusionParams()))
    return listed


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in fields(value):
        if item.metadata.get(HOOK):
            continue
        got = getattr(value, item.name)
        if is_dataclass(got) and not isinstance(got, type):
            out.update(_flatten(f"{prefix}{item.name}.", got))
        else:
            out[f"{prefix}{item.name}"] = got
    return out


# Module -> constants still fixed there (read at call time: those modules import this one).
_FIXED: dict[str, tuple[str, ...]] = {
    "vectors": (
        "DEFAULT_HNSW_M",
        "DEFAULT_EF_SEARCH",
        "DEFAULT_EF_CONSTRUCTION",
        "DEFAULT_NPROBE",
        "DEFAULT_PQ_BYTES",
        "IVF_LISTS_PER_SQRT",
        "IVF_MIN_POINTS_PER_LIST",
        "IVF_MAX_TRAIN_POINTS",
        "SQ_RANGE_MARGIN",
        "SQ_SMALL_TRAIN",
        "SQ_SMALL_TRAIN_MARGIN",
        "MMAP_MIN_BYTES",
        "SERIAL_MAX_QUERIES",
    ),
    "_ranking": ("MIN_CANDIDATES", "OVERFETCH", "COLLAPSE_OVERFETCH", "EXACT_SUBSET_MAX"),
    "_rebuild": ("REBUILD_BATCH", "RECALL_SAMPLE"),
    "_writes": ("EMBED_BATCH",),
    "_engine": ("APPLY_BATCH", "META_VALUE_CHARS"),
    "_snapshot": ("READ_RETRIES",),
    "_files": ("LOCK_TIMEOUT_S",),
    "store": ("BUSY_TIMEOUT_S", "MMAP_BYTES", "CACHE_KIB"),
    "snippets": ("SNIPPET_CHARS", "LEAD_FRACTION"),
    "backup": ("SNAPSHOT_RETRIES",),
}


def fixed() -> dict[str, Any]:
    """The index's values that are constants of their modules, by ``module.NAME``."""
    out: dict[str, Any] = {}
    for module, names in _FIXED.items():
        loaded = importlib.import_module(f"semsearch.index.{module}")
        out.update((f"{module}.{name}", getattr(loaded, name)) for name in names)
    return out
