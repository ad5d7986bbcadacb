"""The match set of a query: what ``total`` counts, facets tally and date order lists.

Private: :meth:`index.collection.Collection.search` calls :func:`match_set` inside a read
snapshot. Relevance order ranks every candidate, however weak; counting and date order
need a set with an edge, defined per mode (always inside the filters and the query's
phrase / ``+must`` / exclusion constraints):

- ``lexical``: passages whose BM25 reaches :data:`LEXICAL_SHARE` of the query's best
  BM25 score (every passage sharing one bigram with a sentence would be mostly junk);
- ``dense``: passages whose cosine with the query reaches :data:`DENSE_FLOOR`;
- ``hybrid``: those dense passages, plus the lexical ones when the query's script lets
  the lexical side count (its fusion weight is above 0), plus passages holding every
  plain word of the query as typed (each word is checked like a ``+must`` part).

A query made only of required parts (``"项目为王"``) matches exactly the passages that
satisfy them. ``bench/matchset.py`` calibrated the floor and measures the set's precision
and recall on the evaluation sets (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from semsearch.index import lexical, store
from semsearch.index._constraints import constrained_ids
from semsearch.index._snapshot import ReadView
from semsearch.index.errors import InputError
from semsearch.index.filters import is_metadata_key
from semsearch.index.fusion import Fused
from semsearch.index.query import ParsedQuery

# Cosine floor of the dense side of the match set (multilingual-e5-small). Chosen for the
# best F1 of the set on the tuning half of the queries of bench/matchset.py's sets.
DENSE_FLOOR = 0.9
# Share of the best BM25 score of a query a passage needs to be a lexical match; chosen
# like the floor (bench/matchset.py).
LEXICAL_SHARE = 0.9
# Vectors fetched by the first dense range step; doubled until the floor is crossed.
RANGE_START = 1000
SORTS = ("relevance", "date-desc", "date-asc")
DATE_FACETS = {"year": 4, "month": 7}
FACET_FIELDS = ("source", "section", "year", "month")
# Values listed per non-date facet (most frequent first); years and months list them all.
FACET_VALUES = 100


@dataclass(frozen=True)
class MatchSet:
    """The matching passages with a score each (cosine, else BM25) and their articles.

    ``lexical_ranking`` is the query's whole BM25 ranking inside the filters and
    constraints, best first, when the set needed it (None otherwise): relevance ranking
    reads its candidates from it instead of asking FTS5 a second time.
    """

    scores: dict[int, float]
    dense: dict[int, float]
    lexical: dict[int, float]
    article_of: dict[int, str]
    lexical_ranking: list[tuple[int, float]] | None = None

    @property
    def articles(self) -> int:
        """Distinct matching articles."""
        return len(set(self.article_of.values()))


def check_facets(facets: Sequence[str]) -> list[str]:
    """Validate facet names.

    Args:
        facets: ``source``, ``section``, ``year``, ``month`` or ``meta.KEY``.

    Returns:
        The names, duplicates dropped.

    Raises:
        InputError: An unknown name or an invalid metadata key.
    """
    names = list(dict.fromkeys(f.strip() for f in facets if f.strip()))
    for name in names:
        if name in FACET_FIELDS:
            continue
        key = name.removeprefix("meta.")
        if not name.startswith("meta.") or not is_metadata_key(key):
            raise InputError(
                f"unknown facet {name!r}; choose from {', '.join(FACET_FIELDS)} or meta.KEY"
            )
    return names


def match_set(
    conn: Any,
    view: ReadView,
    parsed: ParsedQuery,
    query_vector: np.ndarray | None,
    terms: list[str],
    mode: str,
    allowed: np.ndarray | None,
    *,
    lexical_side: bool = True,
    floor: float | None = None,
    share: float | None = None,
) -> MatchSet:
    """The passages that match the query in this mode.

    Args:
        conn: Connection of the read snapshot.
        view: The snapshot's vectors, tombstones and size.
        parsed: The parsed query.
        query_vector: The embedded query (None: lexical mode).
        terms: Lexical terms of the ranking text.
        mode: ``hybrid``, ``dense`` or ``lexical``.
        allowed: Passages the filters and constraints let through (None: all).
        lexical_side: Hybrid only: add the lexical matches (False when fusion gives the
            lexical side no weight, e.g. an English query over Chinese text).
        floor: Dense cosine floor (default :data:`DENSE_FLOOR`).
        share: Lexical share of the best BM25 (default :data:`LEXICAL_SHARE`).

    Returns:
        The match set.
    """
    floor = DENSE_FLOOR if floor is None else floor
    share = LEXICAL_SHARE if share is None else share
    only = None if allowed is None else allowed.tolist()
    dense: dict[int, float] = {}
    lex: dict[int, float] = {}
    match = lexical.fts_match(terms)
    # Computed at most once (FTS5 scores every passage holding any term, the main cost).
    ranking: list[tuple[int, float]] | None = None
    if parsed.constrained and not parsed.words and allowed is not None:
        members = set(only or ())
        ranking = store.bm25_search(conn, match, -1, only=only) if match and members else []
        lex = dict(ranking)
    elif mode == "lexical":
        ranking = store.bm25_search(conn, match, -1, only=only) if match else []
        lex = _best_share(dict(ranking), share)
        members = set(lex)
    else:
        if query_vector is not None:
            dense = _dense_range(view, query_vector, allowed, floor)
        members = set(dense)
        if mode == "hybrid" and lexical_side and match is not None:
            ranking = store.bm25_search(conn, match, -1, only=only)
            lex = _best_share(dict(ranking), share)
            members |= set(lex)
        if mode == "hybrid" and parsed.words:
            every_word = replace(parsed, required=tuple((w,) for w in parsed.words), excluded=())
            holding = constrained_ids(conn, every_word, view.tombstones)
            if holding is not None and allowed is not None:
                holding = np.intersect1d(holding, allowed)
            if holding is not None and len(holding):
                members |= set(holding.tolist())
                if ranking is not None:
                    # BM25 uses collection-wide statistics: a passage scores the same in
                    # the whole ranking as in one restricted to these passages.
                    scored = dict(ranking)
                    lex |= {pid: scored[pid] for pid in holding.tolist() if pid in scored}
                elif match is not None:
                    lex |= dict(store.bm25_search(conn, match, -1, only=holding.tolist()))
    members -= set(view.tombstones.tolist())
    missing = [pid for pid in members if pid not in dense]
    if query_vector is not None and missing:
        sims = view.vectors.similarities(query_vector[0], np.asarray(missing, dtype=np.int64))
        if sims is not None:
            dense.update(zip(missing, (float(s) for s in sims), strict=True))
    scores = {pid: dense.get(pid, lex.get(pid, 0.0)) for pid in members}
    return MatchSet(scores, dense, lex, store.article_ids_of(conn, members), ranking)


def _best_share(scores: dict[int, float], share: float) -> dict[int, float]:
    """The scores reaching ``share`` of the best one."""
    if not scores:
        return {}
    cut = share * max(scores.values())
    return {pid: score for pid, score in scores.items() if score >= cut}


def _dense_range(
    view: ReadView, query_vector: np.ndarray, allowed: np.ndarray | None, floor: float
) -> dict[int, float]:
    """Passages whose cosine with the query reaches ``floor`` (deepening until it is crossed)."""
    reachable = view.passages if allowed is None else len(allowed)
    if reachable == 0:
        return {}
    depth = min(RANGE_START, reachable)
    while True:
        scores, ids = view.vectors.search(
            query_vector, depth, allowed=allowed, excluded=view.tombstones
        )
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if len(found) < depth or (found and found[-1][1] < floor) or depth >= reachable:
            return {pid: score for pid, score in found if score >= floor}
        depth = min(depth * 2, reachable)


def date_page(
    conn: Any, matches: MatchSet, sort: str, *, collapse: bool, min_score: float | None
) -> list[tuple[Fused, int]]:
    """Every match in date order (undated last), as page entries with their other passages.

    Args:
        conn: Connection of the read snapshot.
        matches: The match set.
        sort: ``date-desc`` or ``date-asc``.
        collapse: One entry per article (its best-scoring matching passage).
        min_score: Drop matches scoring below this.

    Returns:
        ``(hit, other matching passages of its article)`` in order.
    """
    scores = {
        pid: s for pid, s in matches.scores.items() if min_score is None or s >= min_score
    }
    dates = store.article_dates(conn, set(matches.article_of.get(pid, "") for pid in scores))
    entries: dict[Any, list[Any]] = {}
    for pid in sorted(scores, key=lambda p: (-scores[p], p)):
        article = matches.article_of.get(pid)
        if article is None:
            continue
        key = article if collapse else pid
        if key in entries:
            entries[key][1] += 1
            continue
        fused = Fused(pid, scores[pid], matches.dense.get(pid), matches.lexical.get(pid))
        entries[key] = [fused, 0, dates.get(article) or "", article]
    rows = list(entries.values())
    # Stable sorts: score order (above) breaks ties within a date; undated go last.
    rows.sort(key=lambda r: r[2], reverse=sort == "date-desc")
    rows.sort(key=lambda r: not r[2])
    return [(r[0], r[1] if collapse else 0) for r in rows]


def facet_counts(
    conn: Any, matches: MatchSet, facets: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Distinct matching articles per value of each facet.

    Args:
        conn: Connection of the read snapshot.
        matches: The match set.
        facets: Names from :func:`check_facets`.

    Returns:
        ``{facet: [{"value", "count"}, ...]}``; years and months in date order, other
        facets most frequent first (at most :data:`FACET_VALUES`); articles without a
        value are not counted.
    """
    articles = sorted(set(matches.article_of.values()))
    out: dict[str, list[dict[str, Any]]] = {}
    for name in facets:
        by_date = name in DATE_FACETS
        counts = store.facet_counts(
            conn,
            articles,
            column=name if name in FACET_FIELDS and not by_date else None,
            date_prefix=DATE_FACETS.get(name),
            metadata_key=name.removeprefix("meta.") if name.startswith("meta.") else None,
        )
        if by_date:
            counts.sort(key=lambda vc: str(vc[0]))
        else:
            counts.sort(key=lambda vc: (-vc[1], str(vc[0])))
            counts = counts[:FACET_VALUES]
        out[name] = [{"value": value, "count": count} for value, count in counts]
    return out
