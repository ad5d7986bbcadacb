"""Engine queries of a search: restrictions, BM25 top-k, the match set, facets, date order.

Private: :meth:`index.collection.Collection.search` and :mod:`index._ranking` call these
inside a read snapshot, on its engine searcher (:class:`~index._snapshot.ReadView`).

**Restriction.** Filters, the query's phrases and ``+must`` parts, and its exclusions
become one non-scoring engine query. A text *holds* in a passage when its
:func:`~index.lexical.exact_tokens` occur in a row in the passage or in its article's
title: across OCR spaces and either Chinese script, whatever the segmenter made of it.

**The match set** is what ``total`` counts, facets tally and date order lists, always
inside the restriction:

- ``lexical``: passages holding every keyword of the plain words (jieba's words of them,
  stopwords left out), as keyword search in Elasticsearch or Chronicling America;
- ``dense``: passages whose cosine with the query reaches :attr:`MatchConfig.dense_floor`
  or comes within :attr:`MatchConfig.dense_margin` of the best hit's, among the dense
  candidates the ranking fetched (when the last of them still reaches that edge the count
  is a lower bound: ``total_relation`` ``gte``);
- ``hybrid``: the union of the two.

A query made only of required parts (``"项目为王"``) matches exactly the passages that
satisfy them, in every mode. Up to :attr:`MatchConfig.count_limit` matching passages the
counts are exact (the engine hands over every match's columns); beyond it ``total`` and
facets are the engine's HyperLogLog estimates (``total_relation`` ``approx``) and date
order comes straight from the engine's date column.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import tantivy
from tantivy import Occur, Query

from semsearch.index import lexical
from semsearch.index._engine import ENTITY_FIELDS, SCHEMA, date_key, pair_term, value_hash
from semsearch.index.errors import InputError
from semsearch.index.filters import Filters, is_metadata_key
from semsearch.index.fusion import Fused
from semsearch.index.query import ParsedQuery

SORTS = ("relevance", "date-desc", "date-asc")
FACET_FIELDS = ("source", "section", "year", "month", *ENTITY_FIELDS)
DATE_FACETS = ("year", "month")
Ranked = list[tuple[int, float]]


class DenseCandidates(NamedTuple):
    """The dense side of a ranking: candidates best first, and whether they are all the
    passages the restriction lets through (then every passage above a floor is there)."""

    ranked: Ranked
    complete: bool
# Tantivy refuses a search with limit 0; counting asks for one hit.
_COUNT_ONLY = 1


@dataclass(frozen=True)
class MatchConfig:
    """The edges of the match set and how far counting goes.

    Attributes:
        dense_floor: Cosine a passage needs to match densely (multilingual-e5-small;
            chosen for the best F1 on the tuning half of ``bench/matchset.py``'s sets).
        dense_margin: A passage this close to the query's best cosine matches too, however
            low that best is: short queries reach lower cosines than the sentences the
            floor was tuned on, and the best hit of a dense search is always a match
            (chosen like the floor).
        count_limit: Matching passages counted exactly; above, estimates (as
            Elasticsearch's ``track_total_hits``).
        facet_values: Values listed per non-date facet (most frequent first).
        text_boost: BM25 weight of the passage text.
        title_boost: BM25 weight of the article title (every passage of an article
            shares it, so it counts less, as FTS5's column weights did).
    """

    dense_floor: float = 0.9
    dense_margin: float = 0.005
    count_limit: int = 10_000
    facet_values: int = 100
    text_boost: float = 1.0
    title_boost: float = 0.3


DEFAULT_MATCH = MatchConfig()


def check_facets(facets: Sequence[str]) -> list[str]:
    """Validate facet names (``source``, ``section``, ``year``, ``month``, ``person``,
    ``place``, ``org`` or ``meta.KEY``).

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


# ---------------------------------------------------------------------- query building


def _must(*queries: Query | None) -> Query | None:
    present = [q for q in queries if q is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return Query.boolean_query([(Occur.Must, q) for q in present])


def _any(queries: Sequence[Query]) -> Query:
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Should, q) for q in queries])


def _tokens_query(tokens: list[str], analyzer: lexical.Analyzer, *, title: bool) -> Query:
    """``tokens`` in a row in the passage (or title): a term, a pair, or pairs then positions."""
    field = "title_exact" if title else "exact"
    if len(tokens) == 1:
        return Query.term_query(SCHEMA, field, tokens[0])
    pairs = dict.fromkeys(
        pair_term(a, b, analyzer, title=title) for a, b in itertools.pairwise(tokens)
    )
    terms = [Query.term_query(SCHEMA, f, t) for f, t in pairs]
    if len(tokens) == 2:
        return terms[0]
    # Every pair must occur before positions are read: pairs are rare where single
    # characters are not, so the phrase is checked on few passages.
    phrase = Query.phrase_query(SCHEMA, field, list(enumerate(tokens)))
    return Query.boolean_query([(Occur.Must, q) for q in [*terms, phrase]])


def holds(text: str, analyzer: lexical.Analyzer) -> Query:
    """Passages whose text or title holds ``text`` (its exact tokens in a row).

    ``analyzer`` is the one the engine was written with (it decides where pairs live).
    """
    tokens = lexical.exact_tokens(text)
    if not tokens:
        return Query.empty_query()
    return _any(
        [_tokens_query(tokens, analyzer, title=False), _tokens_query(tokens, analyzer, title=True)]
    )


def all_passages() -> Query:
    """Every passage (not the engine's marker document)."""
    return Query.exists_query("pid")


def filter_query(filters: Filters | None) -> Query | None:
    """The filters as an engine query (None: no filter)."""
    if filters is None or filters.is_empty():
        return None
    parts: list[Query] = []
    low = date_key(filters.date_from) if filters.date_from else None
    if filters.date_to:
        # A bare date includes its whole day, as the stored dates may carry a time.
        high = date_key(filters.date_to)
        if high is not None and len(filters.date_to) == 10:
            high += 235959
    else:
        high = None
    if filters.date_from or filters.date_to:
        parts.append(
            Query.range_query(
                SCHEMA, "day", tantivy.FieldType.Integer,
                lower_bound=low if low is not None else -(2**62),
                upper_bound=high if high is not None else 2**62,
            )
        )
    for field, values in (
        ("source", filters.sources),
        ("section", filters.sections),
        ("article", filters.article_ids),
    ):
        if values is not None:
            parts.append(Query.term_set_query(SCHEMA, field, [str(v) for v in values]))
    # Entity fields hold the article's names on each of its passages: a term per name.
    parts.extend(Query.term_query(SCHEMA, kind, name) for kind, name in filters.entities)
    for key, value in filters.metadata.items():
        if not is_metadata_key(key):
            raise InputError(f"invalid metadata filter key: {key!r}")
        values = list(value) if isinstance(value, list | tuple | set) else [value]
        path = meta_path(key)
        parts.append(_any([Query.term_query(SCHEMA, path, v) for v in values]) if values else Query.empty_query())
    query = _must(*parts) if parts else all_passages()
    if filters.exclude_article_ids:
        assert query is not None
        query = Query.boolean_query(
            [
                (Occur.Must, query),
                (Occur.MustNot, Query.term_set_query(SCHEMA, "article", list(filters.exclude_article_ids))),
            ]
        )
    return query


def meta_path(key: str) -> str:
    """The engine path of an extra field (dots in a key are part of its name)."""
    return "meta." + key.replace(".", "\\.")


def constraint_query(
    searcher: tantivy.Searcher, parsed: ParsedQuery, analyzer: lexical.Analyzer
) -> Query | None:
    """The query's required clauses and exclusions (None: it has none)."""
    if not parsed.constrained:
        return None
    required = [_any([holds(t, analyzer) for t in clause]) for clause in parsed.required]
    query = _must(*required) or all_passages()
    if parsed.excluded:
        excluded = _any([holds(t, analyzer) for t in parsed.excluded])
        articles = _articles_holding(searcher, excluded)
        if len(articles):
            query = Query.boolean_query(
                [
                    (Occur.Must, query),
                    (Occur.MustNot, Query.term_set_query(SCHEMA, "article_no", articles.tolist())),
                ]
            )
    return query


def _articles_holding(searcher: tantivy.Searcher, query: Query) -> np.ndarray:
    """Article numbers of every passage ``query`` matches."""
    return np.unique(column(searcher, "article_no", _addresses(searcher, query)))


def restriction(
    searcher: tantivy.Searcher,
    parsed: ParsedQuery | None,
    filters: Filters | None,
    analyzer: lexical.Analyzer,
    exclude_ids: Sequence[int] = (),
) -> Query | None:
    """Filters, constraints and excluded passages as one query (None: every passage)."""
    constraints = constraint_query(searcher, parsed, analyzer) if parsed else None
    query = _must(filter_query(filters), constraints)
    if exclude_ids:
        query = Query.boolean_query(
            [
                (Occur.Must, query or all_passages()),
                (Occur.MustNot, _pid_set(exclude_ids)),
            ]
        )
    return query


def words_query(parsed: ParsedQuery, analyzer: lexical.Analyzer) -> Query | None:
    """Passages holding every keyword of the plain words (None: no plain words)."""
    if not parsed.words:
        return None
    keywords = lexical.query_terms(" ".join(parsed.words))
    if not keywords:
        return Query.empty_query()  # only stopwords: nothing to hold
    return _must(*[holds(k, analyzer) for k in keywords])


def bm25_query(terms: Sequence[str], config: MatchConfig = DEFAULT_MATCH) -> Query | None:
    """BM25 over the analyzer's terms in the passage text and (weighted) title."""
    if not terms:
        return None
    parts: list[Query] = []
    for term in terms:
        parts.append(Query.boost_query(Query.term_query(SCHEMA, "text", term), config.text_boost))
        parts.append(Query.boost_query(Query.term_query(SCHEMA, "title", term), config.title_boost))
    return _any(parts)


def _scored_within(scoring: Query | None, within: Query | None, *, require: bool) -> Query:
    """``scoring``'s BM25 on the passages ``within`` lets through.

    With ``require`` only passages ``scoring`` matches are returned (a ranking); without,
    every passage of ``within``, scoring 0 where it holds no term (a set).
    """
    if within is None:
        within = all_passages()
        if require and scoring is not None:
            return scoring
    if scoring is None:
        return Query.const_score_query(within, 0.0)
    return Query.boolean_query(
        [
            (Occur.Must, Query.const_score_query(within, 0.0)),
            (Occur.Must if require else Occur.Should, scoring),
        ]
    )


def _pid_set(ids: Sequence[int]) -> Query:
    return Query.term_set_query(SCHEMA, "pid", [int(i) for i in ids])


# ---------------------------------------------------------------------- reading hits


def _count(result: tantivy.SearchResult) -> int:
    """How many documents a search matched (the binding's stub leaves ``count`` out)."""
    return int(result.count)  # type: ignore[attr-defined]


def _addresses(searcher: tantivy.Searcher, query: Query) -> list[tantivy.DocAddress]:
    """Every document ``query`` matches (counted first: the binding needs a limit)."""
    count = _count(searcher.search(query, _COUNT_ONLY))
    if not count:
        return []
    return [address for _, address in searcher.search(query, count, count=False).hits]


def column(
    searcher: tantivy.Searcher, field: str, addresses: list[tantivy.DocAddress]
) -> np.ndarray:
    """An integer fast field of the given documents (missing values as -1)."""
    if not addresses:
        return np.zeros(0, dtype=np.int64)
    values = searcher.fast_field_values(field, addresses)
    try:
        return np.array(values, dtype=np.int64)
    except TypeError:  # some missing (an undated passage's day)
        return np.fromiter((-1 if v is None else v for v in values), dtype=np.int64, count=len(values))


def passage_ids(searcher: tantivy.Searcher, query: Query | None) -> np.ndarray | None:
    """Sorted ids of every passage ``query`` matches (None: no restriction)."""
    if query is None:
        return None
    return np.sort(column(searcher, "pid", _addresses(searcher, query)))


def bm25_top(
    searcher: tantivy.Searcher,
    terms: Sequence[str],
    within: Query | None,
    depth: int,
    config: MatchConfig = DEFAULT_MATCH,
) -> Ranked:
    """The best ``depth`` passages by BM25 inside ``within``, best first."""
    scoring = bm25_query(terms, config)
    if scoring is None or depth < 1:
        return []
    hits = searcher.search(_scored_within(scoring, within, require=True), depth, count=False).hits
    pids = column(searcher, "pid", [a for _, a in hits])
    return [(int(p), float(s)) for p, (s, _) in zip(pids, hits, strict=True)]


def document_frequencies(searcher: tantivy.Searcher, terms: Sequence[str]) -> dict[str, int]:
    """Passages whose text holds each term."""
    return {t: int(searcher.doc_freq("text", t)) for t in terms}


# ---------------------------------------------------------------------- the match set


@dataclass(frozen=True)
class MatchSet:
    """The matching passages, each with its article, date key and score.

    ``scores`` are cosines where known, else BM25. ``relation`` is ``eq`` for exact
    counts, ``gte`` when dense counting stopped at the candidates it had, ``approx``
    when the set was larger than the exact-count limit (then only the counts are set).
    """

    pids: np.ndarray
    articles: np.ndarray
    days: np.ndarray
    scores: np.ndarray
    dense: dict[int, float]
    lexical: dict[int, float]
    total: int
    total_passages: int
    relation: str
    query: Query
    addresses: tuple[tantivy.DocAddress, ...] = ()


def match_set(
    searcher: tantivy.Searcher,
    parsed: ParsedQuery,
    analyzer: lexical.Analyzer,
    mode: str,
    within: Query | None,
    terms: Sequence[str],
    dense: DenseCandidates,
    config: MatchConfig = DEFAULT_MATCH,
    *,
    scored: bool = True,
) -> MatchSet:
    """The passages that match the query in this mode.

    Args:
        searcher: The snapshot's engine searcher.
        parsed: The parsed query.
        analyzer: The analyzer the engine was written with.
        mode: ``hybrid``, ``dense`` or ``lexical``.
        within: The restriction (filters and constraints; None: every passage).
        terms: Lexical terms of the ranking text (BM25 scores of the members).
        dense: The dense candidates the ranking fetched (inside the restriction), best first.
        config: Floor and counting limit.
        scored: Score the members (a date order needs scores; counts and facets do not,
            and BM25 over every member is a third of the set's cost).

    Returns:
        The match set (scores 0 and no lexical scores when not ``scored``).
    """
    relation = "eq"
    dense_members: Ranked = []
    if parsed.constrained and not parsed.words:
        lexical_part: Query | None = _must(within) or all_passages()
    else:
        lexical_part = _must(words_query(parsed, analyzer), within) if mode != "dense" else None
        if mode != "lexical":
            edge = dense_edge(dense.ranked, config)
            dense_members = [(p, s) for p, s in dense.ranked if s >= edge]
            if not dense.complete and dense.ranked and dense.ranked[-1][1] >= edge:
                relation = "gte"
    dense_ids = [p for p, _ in dense_members]
    parts = [q for q in (lexical_part, _pid_set(dense_ids) if dense_ids else None) if q is not None]
    if not parts:
        return _empty(relation)
    members = _any(parts)
    query = _scored_within(bm25_query(terms, config), members, require=False) if scored else members
    found = searcher.search(query, config.count_limit + 1, count=True)
    if _count(found) > config.count_limit:
        estimate = round(searcher.cardinality(members, "article_no"))
        return MatchSet(
            *(np.zeros(0, dtype=np.int64),) * 3, np.zeros(0), dict(dense_members), {},
            estimate, _count(found), "approx", members,
        )
    addresses = [a for _, a in found.hits]
    pids = column(searcher, "pid", addresses)
    cosine = dict(dense_members)
    scores = np.zeros(len(pids))
    lexical_scores: dict[int, float] = {}
    if scored:
        bm25 = np.fromiter((s for s, _ in found.hits), dtype=np.float64, count=len(addresses))
        scores = np.asarray(
            [cosine.get(int(p), float(b)) for p, b in zip(pids, bm25, strict=True)]
        )
        lexical_scores = {int(p): float(b) for p, b in zip(pids, bm25, strict=True) if b > 0}
    articles = column(searcher, "article_no", addresses)
    return MatchSet(
        pids=pids,
        articles=articles,
        days=column(searcher, "day", addresses),
        scores=scores,
        dense=cosine,
        lexical=lexical_scores,
        total=len(np.unique(articles)),
        total_passages=len(pids),
        relation=relation,
        query=members,
        addresses=tuple(addresses),
    )


def dense_edge(ranked: Ranked, config: MatchConfig = DEFAULT_MATCH) -> float:
    """The cosine a passage needs to match densely: the floor, or near the best hit."""
    if not ranked:
        return config.dense_floor
    return min(config.dense_floor, ranked[0][1] - config.dense_margin)


def _empty(relation: str) -> MatchSet:
    none = np.zeros(0, dtype=np.int64)
    return MatchSet(none, none, none, np.zeros(0), {}, {}, 0, 0, relation, Query.empty_query())


def with_cosines(matches: MatchSet, cosines: dict[int, float]) -> MatchSet:
    """The set with the members' cosines as their scores (hybrid and dense modes)."""
    if not cosines:
        return matches
    scores = np.asarray(
        [cosines.get(int(p), float(s)) for p, s in zip(matches.pids, matches.scores, strict=True)]
    )
    return replace(matches, scores=scores, dense={**cosines, **matches.dense})


# ---------------------------------------------------------------------- facets


def facet_counts(
    searcher: tantivy.Searcher,
    matches: MatchSet,
    facets: Sequence[str],
    config: MatchConfig = DEFAULT_MATCH,
) -> dict[str, list[dict[str, Any]]]:
    """Distinct matching articles per value of each facet.

    Returns:
        ``{facet: [{"value", "count"}, ...]}``; years and months in date order, other
        facets most frequent first (at most :attr:`MatchConfig.facet_values`); articles
        without a value are not counted.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    # The entity facets share one pass of the engine (one query, one aggregation).
    entity_counts = (
        _entity_counts(searcher, matches, [f for f in facets if f in ENTITY_FIELDS], config)
        if matches.relation != "approx"
        else {}
    )
    for name in facets:
        if matches.relation == "approx":
            counts = _estimated_counts(searcher, matches.query, name)
        elif name.startswith("meta."):
            counts = _meta_counts(searcher, matches, name.removeprefix("meta."))
        elif name in ENTITY_FIELDS:
            counts = entity_counts[name]
        else:
            counts = _exact_counts(searcher, matches, name)
        out[name] = listed_values(name, counts, config.facet_values)
    return out


def listed_values(name: str, counts: list[tuple[Any, int]], limit: int) -> list[dict[str, Any]]:
    """A facet's ``(value, count)`` pairs as a response lists them: years and months in
    date order, other facets most frequent first, at most ``limit`` of them."""
    if name in DATE_FACETS:
        ordered = sorted(counts, key=lambda vc: str(vc[0]))
    else:
        ordered = sorted(counts, key=lambda vc: (-vc[1], str(vc[0])))[:limit]
    return [{"value": value, "count": count} for value, count in ordered]


def _exact_counts(
    searcher: tantivy.Searcher, matches: MatchSet, name: str
) -> list[tuple[Any, int]]:
    addresses = list(matches.addresses)
    articles = matches.articles
    if name in DATE_FACETS:
        values = matches.days
        divisor = 10_000_000_000 if name == "year" else 100_000_000
        values = np.where(values >= 0, values // divisor, -1)
        labels = {int(v): _date_label(int(v), name) for v in np.unique(values) if v >= 0}
    else:
        values = column(searcher, f"{name}_no", addresses)
        labels = {value_hash(term): term for term, _ in searcher.terms_with_prefix(name, "")}
    keep = values >= 0
    if not keep.any():
        return []
    found, counts = np.unique(_first_of_pairs(values[keep], articles[keep]), return_counts=True)
    return [(labels.get(int(v), str(v)), int(c)) for v, c in zip(found, counts, strict=True)]


def _first_of_pairs(values: np.ndarray, articles: np.ndarray) -> np.ndarray:
    """``values`` once per distinct (value, article) pair.

    Sorted by both, a pair is new where either changes (``np.unique(axis=1)`` costs
    several times this: it sorts a structured copy).
    """
    order = np.lexsort((articles, values))
    v, a = values[order], articles[order]
    new = np.ones(len(v), dtype=bool)
    new[1:] = (v[1:] != v[:-1]) | (a[1:] != a[:-1])
    return np.asarray(v[new])


def _date_label(value: int, name: str) -> str:
    text = str(value)
    return text if name == "year" else f"{text[:4]}-{text[4:6]}"


def _meta_counts(searcher: tantivy.Searcher, matches: MatchSet, key: str) -> list[tuple[Any, int]]:
    size = max(matches.total_passages, 1)
    try:
        result = searcher.aggregate(
            matches.query,
            {
                "f": {
                    "terms": {"field": meta_path(key), "size": size},
                    "aggs": {"a": {"terms": {"field": "article_no", "size": size}}},
                }
            },
        )
    except ValueError:
        # More (value, article) pairs than the engine lists at once (long lists of values):
        # its estimates instead.
        return _estimated_counts(searcher, matches.query, f"meta.{key}")
    return [(b["key"], len(b["a"]["buckets"])) for b in result["f"]["buckets"]]


def _entity_counts(
    searcher: tantivy.Searcher, matches: MatchSet, names: Sequence[str], config: MatchConfig
) -> dict[str, list[tuple[Any, int]]]:
    """Matching articles per name of each entity field, exact: terms aggregations over one
    matching passage per article, since every passage of an article holds the same names."""
    if not names:
        return {}
    if not len(matches.pids):
        return {name: [] for name in names}
    _, first = np.unique(matches.articles, return_index=True)
    # One matching passage per article already (short articles, or collapsed sets): the
    # set itself; else its first passage of each article (a term set of a few hundred pids
    # costs milliseconds, so it is built only when needed).
    one_each = (
        matches.query if len(first) == len(matches.pids) else _pid_set(matches.pids[first].tolist())
    )
    # Every name in each segment is counted before the top values are kept, so a
    # value's count is exact whatever the number of segments.
    result = searcher.aggregate(
        one_each,
        {
            name: {"terms": {"field": name, "size": config.facet_values, "segment_size": 1 << 20}}
            for name in names
        },
    )
    return {
        name: [(b["key"], int(b["doc_count"])) for b in result[name]["buckets"]] for name in names
    }


def _estimated_counts(searcher: tantivy.Searcher, query: Query, name: str) -> list[tuple[Any, int]]:
    field = {"year": "year", "month": "month"}.get(name, meta_path(name[5:]) if name.startswith("meta.") else name)
    result = searcher.aggregate(
        query,
        {
            "f": {
                "terms": {"field": field, "size": 10_000},
                "aggs": {"a": {"cardinality": {"field": "article_no"}}},
            }
        },
    )
    counts = [(b["key"], round(b["a"]["value"])) for b in result["f"]["buckets"]]
    if name in DATE_FACETS:
        counts = [(_date_label(int(k), name), c) for k, c in counts]
    return counts


# ---------------------------------------------------------------------- date order


def date_page(
    searcher: tantivy.Searcher,
    matches: MatchSet,
    sort: str,
    *,
    collapse: bool,
    min_score: float | None,
    need: int,
) -> list[tuple[Fused, int]]:
    """The first ``need`` matches in date order (undated last), with their other passages.

    Within a date the better score comes first. Collapsed: one entry per article (its
    best-scoring matching passage) and how many other passages of it matched.
    """
    if matches.relation == "approx":
        return _engine_date_page(searcher, matches, sort, collapse=collapse, need=need)
    keep = np.ones(len(matches.pids), dtype=bool)
    if min_score is not None:
        keep = matches.scores >= min_score
    pids, articles = matches.pids[keep], matches.articles[keep]
    days, scores = matches.days[keep], matches.scores[keep]
    order = np.lexsort((pids, -scores))
    others = np.zeros(len(pids), dtype=np.int64)
    if collapse:
        _, first, counts = np.unique(articles[order], return_index=True, return_counts=True)
        chosen = order[first]
        others[chosen] = counts - 1
    else:
        chosen = order
    # Stable sorts: the score order breaks ties within a date; undated go last.
    ranked = chosen[np.argsort(-scores[chosen], kind="stable")]
    dated = days[ranked] >= 0
    key = -days[ranked] if sort == "date-desc" else days[ranked]
    ranked = ranked[np.lexsort((key, ~dated))]
    return [_entry(matches, int(pids[i]), float(scores[i]), int(others[i])) for i in ranked[:need]]


def _entry(matches: MatchSet, pid: int, score: float, others: int) -> tuple[Fused, int]:
    return Fused(pid, score, matches.dense.get(pid), matches.lexical.get(pid)), others


def _engine_date_page(
    searcher: tantivy.Searcher, matches: MatchSet, sort: str, *, collapse: bool, need: int
) -> list[tuple[Fused, int]]:
    """Date order straight from the engine's date column (sets above the counting limit)."""
    order = tantivy.Order.Desc if sort == "date-desc" else tantivy.Order.Asc
    dated = _must(matches.query, Query.exists_query("day"))
    undated = Query.boolean_query(
        [(Occur.Must, matches.query), (Occur.MustNot, Query.exists_query("day"))]
    )
    depth = need * (4 if collapse else 1)
    entries: list[tuple[Fused, int]] = []
    seen: set[int] = set()
    for query, ordered in ((dated, True), (undated, False)):
        assert query is not None
        hits = (
            searcher.search(query, depth, count=False, order_by_field="day", order=order).hits
            if ordered
            else searcher.search(query, depth, count=False).hits
        )
        addresses = [a for _, a in hits]
        for pid, article in zip(
            column(searcher, "pid", addresses), column(searcher, "article_no", addresses), strict=True
        ):
            if collapse and int(article) in seen:
                continue
            seen.add(int(article))
            entries.append(_entry(matches, int(pid), matches.dense.get(int(pid), 0.0), 0))
            if len(entries) >= need:
                return entries
    return entries
