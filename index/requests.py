"""What a search asks for: one frozen value the CLI, the HTTP API and Python callers build."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from semsearch.index._search import SORTS, check_facets
from semsearch.index.errors import InputError
from semsearch.index.filters import Filters
from semsearch.index.fusion import DEFAULT_FUSION, FusionParams
from semsearch.index.results import SEARCH_MODES
from semsearch.index.snippets import SnippetStyle


@dataclass(frozen=True, kw_only=True)
class SearchRequest:
    """One search; checked when built, so a request that exists is a valid one.

    Attributes:
        query: Free text in any language the model knows, with the syntax of
            :mod:`index.query` (``"phrase"``, ``+must``, ``-exclude``, ``OR``).
        mode: ``hybrid`` (adaptive fusion, default), ``dense`` or ``lexical``.
        k: Results per page.
        offset: Results to skip (pagination).
        filters: Metadata restrictions, applied before the top-k cut.
        collapse: One hit per article (its best passage), page refilled to k articles.
        min_score: Drop hits scoring below this (in the mode's score scale).
        snippet_style: Highlight markers and snippet width.
        fusion: How ``hybrid`` blends its two rankings (default: the measured choice).
        sort: ``relevance`` (default), ``date-desc`` or ``date-asc`` (the match set in
            date order).
        facets: Count matching articles per value of these fields (``source``,
            ``section``, ``year``, ``month``, ``meta.KEY``); duplicates are dropped.
        count: Fill ``total`` / ``total_passages`` (implied by a date sort or facets).
        syntax: False reads the query as plain text (quotes, signs, ``OR`` mean nothing).
        snippets: False leaves every hit's ``snippet`` empty; for callers that only rank,
            such as evaluation, which would otherwise spend much of its search time on
            windows and highlights it throws away.

    Raises:
        InputError: Unknown mode, sort or facet, bad paging, or a ``min_score`` that is
            not a finite number (NaN would drop nothing, as no comparison with it holds).
    """

    query: str
    mode: str = "hybrid"
    k: int = 10
    offset: int = 0
    filters: Filters | None = None
    collapse: bool = False
    min_score: float | None = None
    snippet_style: SnippetStyle | None = None
    fusion: FusionParams = DEFAULT_FUSION
    sort: str = "relevance"
    facets: tuple[str, ...] = field(default=())
    count: bool = False
    syntax: bool = True
    snippets: bool = True

    def __post_init__(self) -> None:
        if self.mode not in SEARCH_MODES:
            raise InputError(
                f"unknown search mode {self.mode!r}; choose one of {', '.join(SEARCH_MODES)}"
            )
        if self.sort not in SORTS:
            raise InputError(f"unknown sort {self.sort!r}; choose one of {', '.join(SORTS)}")
        if self.k < 1 or self.offset < 0:
            raise InputError("k must be >= 1 and offset >= 0")
        if self.min_score is not None and not math.isfinite(self.min_score):
            raise InputError(f"min_score must be a finite number, got {self.min_score!r}")
        # Frozen: the checked, de-duplicated names replace what the caller gave.
        object.__setattr__(self, "facets", tuple(check_facets(self.facets)))

    @property
    def counting(self) -> bool:
        """Whether the match set is needed (counts, facets or a date order)."""
        return self.count or bool(self.facets) or self.sort != "relevance"
