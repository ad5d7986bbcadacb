"""Typed results returned by :class:`index.collection.Collection`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from semsearch.index.query import ParsedQuery

SEARCH_MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    """One result: a passage, its article's display fields and how it scored.

    ``score`` is the mode's score: cosine for dense, BM25 for lexical, the fused score in
    ``[0, 1]`` for hybrid. ``matched_passages`` counts the *other* passages of the same
    article among the matches (only when results are collapsed per article, else 0).
    """

    rank: int
    score: float
    passage_id: int
    article_id: str
    title: str
    text: str
    snippet: str
    date: str | None
    source: str | None
    section: str | None
    url: str | None
    ordinal: int
    paragraph_index: int
    start: int
    end: int
    matched_passages: int = 0
    dense_score: float | None = None
    lexical_score: float | None = None
    layout: list[dict[str, Any]] | None = None  # pages and line boxes, for layout inputs

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass(kw_only=True)
class SearchResponse:
    """A page of results with the query echo and timing."""

    query: str
    mode: str
    took_ms: float
    results: list[SearchHit]
    k: int
    offset: int = 0
    collapsed: bool = False
    lexical_weight: float | None = None
    sort: str = "relevance"
    total: int | None = None
    total_passages: int | None = None
    total_relation: str | None = None
    facets: dict[str, list[dict[str, Any]]] | None = None
    # How the query was read (a search, not a /similar example).
    parsed: ParsedQuery | None = None
    # Shards of a sharded collection that did not answer in time (empty: a whole answer).
    missing_shards: list[int] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        """Whether shards are missing from this answer (their matches are not in it)."""
        return bool(self.missing_shards)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"query","mode","took_ms","results":[...]}`` plus extras.

        ``parsed`` (how the query was read, see :meth:`ParsedQuery.describe`), ``total`` /
        ``total_passages`` (matching articles / passages, when counted) with
        ``total_relation`` (``eq`` exact, ``gte`` a lower bound, ``approx`` an estimate)
        and ``facets`` (when asked for) appear only when known.
        """
        extras: dict[str, Any] = {"sort": self.sort}
        if self.parsed is not None:
            extras["parsed"] = self.parsed.describe()
        if self.total is not None:
            extras |= {
                "total": self.total,
                "total_passages": self.total_passages,
                "total_relation": self.total_relation or "eq",
            }
        if self.facets is not None:
            extras["facets"] = self.facets
        if self.partial:
            extras |= {"partial": True, "missing_shards": list(self.missing_shards)}
        return {
            "query": self.query,
            "mode": self.mode,
            "took_ms": round(self.took_ms, 3),
            "k": self.k,
            "offset": self.offset,
            "collapsed": self.collapsed,
            "lexical_weight": self.lexical_weight,
            **extras,
            "results": [hit.to_dict() for hit in self.results],
        }


@dataclass(kw_only=True)
class CollectionInfo:
    """What ``semsearch info`` shows."""

    path: str
    articles: int
    passages: int
    model: str
    model_fingerprint: str
    dimension: int
    index_kind: str
    index_params: dict[str, Any]
    index_auto: bool
    recall_at_10: float | None
    lexical_analyzer: str
    generation: int
    tombstones: int
    size_bytes: int
    # One dict per segment of the generation: file, sealed, kind, vectors.
    segments: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass(kw_only=True)
class CheckReport:
    """Outcome of a consistency check (and repair, if one ran)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass(kw_only=True)
class UpsertReport:
    """What an :meth:`~index.collection.Collection.upsert` changed."""

    added: int = 0
    replaced: int = 0
    metadata_only: int = 0
    unchanged: int = 0
    passages_added: int = 0
    passages_removed: int = 0
    generation: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)
