"""Search internals: candidates from both sides, fusion, collapsing and the page of hits.

Private: :meth:`~index.collection.Collection.search` and
:meth:`~index.collection.Collection.similar` call these inside a read snapshot, passing
its connection and :class:`~index._snapshot.ReadView`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import tantivy

from semsearch.embedder.base import TextEmbedder
from semsearch.index import _search, lexical, store
from semsearch.index._snapshot import ReadView
from semsearch.index.errors import InputError
from semsearch.index.filters import Filters
from semsearch.index.fusion import Fused, FusionParams, fuse, lexical_weight
from semsearch.index.requests import SearchRequest
from semsearch.index.results import SearchHit
from semsearch.index.segments import SegmentedVectors
from semsearch.index.snippets import make_snippet
from semsearch.index.store import Connection

# Candidates fetched from each side before fusion / collapsing; doubled until a page fills.
MIN_CANDIDATES = 100
OVERFETCH = 2
COLLAPSE_OVERFETCH = 4
# Restrictions (filters, phrases) of at most this many passages skip the graph walk.
EXACT_SUBSET_MAX = 5000
# Floor of a vector's norm when an article's mean passage vector is normalised.
MIN_NORM = 1e-12

Ranked = list[tuple[int, float]]


class Example(NamedTuple):
    """A query by example: its vector, what it leaves out, and how a response names it."""

    vector: np.ndarray
    exclude_ids: tuple[int, ...]
    filters: Filters | None
    label: str


def query_weight(
    conn: Connection, view: ReadView, query: str, terms: list[str], fusion: FusionParams
) -> float:
    """The lexical side's weight in hybrid fusion for this query.

    Args:
        conn: Connection of the read snapshot.
        view: The snapshot (its size and engine).
        query: The query text.
        terms: Its lexical terms.
        fusion: Fusion parameters.

    Returns:
        The weight.
    """
    dfs = _search.document_frequencies(view.engine, terms)
    corpus = store.read_meta(conn).script_profile
    profile = lexical.script_profile(query)
    return lexical_weight(terms, dfs, view.passages, profile, corpus, params=fusion).weight


def example_query(
    conn: Connection,
    embedder: TextEmbedder,
    *,
    passage_id: int | None,
    article_id: str | None,
    text: str | None,
    filters: Filters | None,
) -> Example:
    """The query vector of a stored passage, a stored article (mean vector) or a text.

    Args:
        conn: Connection of the read snapshot.
        embedder: Embeds the example as a passage.
        passage_id: A stored passage (left out of the results).
        article_id: A stored article (left out of the results).
        text: Free text.
        filters: The caller's metadata restrictions.

    Returns:
        The example.
    """
    if passage_id is not None:
        found = store.fetch_passages(conn, [passage_id]).get(passage_id)
        if found is None:
            raise InputError(f"no passage {passage_id}")
        vector = embedder.embed_passages([found.text], progress=False)
        return Example(vector, (passage_id,), filters, f"passage:{passage_id}")
    if article_id is not None:
        ids = store.passage_ids_of(conn, [article_id])
        if not ids:
            raise InputError(f"no article {article_id!r} (or it has no passages)")
        texts = [p.text for p in store.fetch_passages(conn, ids).values()]
        mean = embedder.embed_passages(texts, progress=False).mean(axis=0, keepdims=True)
        vector = (mean / max(float(np.linalg.norm(mean)), MIN_NORM)).astype(np.float32)
        return Example(vector, (), _without_article(filters, article_id), f"article:{article_id}")
    vector = embedder.embed_passages([text or ""], progress=False)
    return Example(vector, (), filters, text or "")


def _without_article(filters: Filters | None, article_id: str) -> Filters:
    base = filters or Filters()
    return replace(base, exclude_article_ids=[*(base.exclude_article_ids or ()), article_id])


class RankPlan(NamedTuple):
    """What a search ranks with, worked out in the read snapshot before ranking.

    Attributes:
        query_vector: The embedded query (None: lexical only).
        terms: Lexical terms (empty: dense only).
        weight: The lexical side's weight in hybrid fusion.
        within: The engine restriction (filters, constraints, excluded passages).
        allowed: The passages ``within`` lets through, for the vector search (None: all).
        exclude_ids: Passages never returned (a query by example leaves itself out).
        marks: Terms the snippets highlight.
        match: BM25 field weights.
        analyzer: The collection's analyzer (which engine fields hold token pairs).
    """

    query_vector: np.ndarray | None
    terms: list[str]
    weight: float
    within: tantivy.Query | None
    allowed: np.ndarray | None
    exclude_ids: tuple[int, ...]
    marks: list[str]
    match: _search.MatchConfig
    analyzer: lexical.Analyzer


def collect(
    conn: Connection, view: ReadView, request: SearchRequest, plan: RankPlan
) -> tuple[list[SearchHit], _search.DenseCandidates]:
    """Rank candidates, deepening the candidate lists until the page can be filled.

    Args:
        conn: Connection of the read snapshot.
        view: The snapshot's vectors, tombstones, size and engine.
        request: Mode, page, collapsing, score floor, snippets and fusion.
        plan: What to rank with.

    Returns:
        The hits of the page, and the dense candidates of the deepest round (best first).
    """
    mode, k, offset, collapse = request.mode, request.k, request.offset, request.collapse
    query_vector, terms, weight, allowed = plan.query_vector, plan.terms, plan.weight, plan.allowed
    vectors = view.vectors
    excluded = view.tombstones
    if plan.exclude_ids:
        excluded = np.union1d(excluded, np.asarray(plan.exclude_ids, dtype=np.int64))
    limit = view.passages if allowed is None else len(allowed)
    need = offset + k
    depth = max(MIN_CANDIDATES, need * (COLLAPSE_OVERFETCH if collapse else OVERFETCH))
    lexical_side = bool(terms) and (mode == "lexical" or (mode == "hybrid" and weight > 0))
    while True:
        depth = min(depth, max(limit, 1))
        dense: Ranked = []
        if mode in ("dense", "hybrid") and query_vector is not None and limit > 0:
            dense = _dense(vectors, query_vector, depth, allowed, excluded)
        lexical_hits: Ranked = []
        if lexical_side and limit > 0:
            lexical_hits = _search.bm25_top(view.engine, terms, plan.within, depth, plan.match)
        # One look-up serves fusing by article and collapsing the page.
        article_of = _articles_of(conn, dense, lexical_hits) if collapse else None
        if mode == "lexical":
            ranked = [Fused(pid, score, None, score) for pid, score in lexical_hits]
        elif mode == "dense":
            ranked = [Fused(pid, score, score, None) for pid, score in dense]
        else:
            ranked = _hybrid(
                conn, vectors, query_vector, dense, lexical_hits, weight, article_of, request.fusion
            )
        page, exhausted = _page(ranked, article_of, request.min_score)
        lists_full = len(dense) >= depth or len(lexical_hits) >= depth
        if len(page) >= need or exhausted or not lists_full or depth >= limit:
            break
        depth *= 2
    complete = len(dense) < depth or depth >= limit
    # A date order pages through the match set instead: its caller builds those hits.
    hits = (
        hits_of(conn, page[offset:need], offset, plan.marks, request)
        if request.sort == "relevance"
        else []
    )
    return hits, _search.DenseCandidates(dense, complete)


def _hybrid(
    conn: Connection,
    vectors: SegmentedVectors,
    query_vector: np.ndarray | None,
    dense: Ranked,
    lexical_hits: Ranked,
    weight: float,
    article_of: dict[int, str] | None,
    fusion: FusionParams,
) -> list[Fused]:
    """Fuse the two candidate lists (by article, with lead passages, when collapsing)."""
    lead = None
    if article_of is not None and query_vector is not None and weight > 0 and fusion.uses_lead:
        lead = lead_scores(
            conn, vectors, query_vector, {article_of[pid] for pid, _ in dense if pid in article_of}
        )
    return fuse(dense, lexical_hits, weight, params=fusion, article_of=article_of, lead=lead)


def hits_of(
    conn: Connection,
    shown: list[tuple[Fused, int]],
    offset: int,
    snippet_terms: list[str],
    request: SearchRequest,
) -> list[SearchHit]:
    """The page's entries as hits, with their stored passage and (if asked for) snippet."""
    passages = store.fetch_passages(conn, [f.id for f, _ in shown])
    hits: list[SearchHit] = []
    for fused, others in shown:
        stored = passages.get(fused.id)
        if stored is None:  # vanished row: never show a passage the database lacks
            continue
        hits.append(
            SearchHit(
                rank=offset + len(hits) + 1,
                score=float(fused.score),
                passage_id=stored.id,
                article_id=stored.article_id,
                title=stored.title,
                text=stored.text,
                snippet=(
                    make_snippet(stored.text, snippet_terms, request.snippet_style)
                    if request.snippets
                    else ""
                ),
                date=stored.date,
                source=stored.source,
                section=stored.section,
                url=stored.url,
                ordinal=stored.ordinal,
                paragraph_index=stored.paragraph_index,
                start=stored.start,
                end=stored.end,
                matched_passages=others,
                dense_score=fused.dense,
                lexical_score=fused.lexical,
                layout=stored.layout,
            )
        )
    return hits


def _dense(
    vectors: SegmentedVectors,
    query_vector: np.ndarray,
    depth: int,
    allowed: np.ndarray | None,
    excluded: np.ndarray,
) -> Ranked:
    # A restriction this small is scored exactly at once: a graph walk confined to it
    # mostly dead-ends and comes back short, and the exact pass would follow anyway.
    exact = (
        allowed is not None
        and len(allowed) <= EXACT_SUBSET_MAX
        and vectors.kind.startswith("hnsw")
    )
    scores, ids = vectors.search(
        query_vector, depth, allowed=allowed, excluded=excluded, exhaustive=exact
    )
    found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
    reachable = vectors.ntotal - len(excluded) if allowed is None else len(allowed)
    if not exact and len(found) < min(depth, reachable) and vectors.kind != "flat":
        # Approximate search with a selective filter can come back short: look wider.
        scores, ids = vectors.search(
            query_vector, depth, allowed=allowed, excluded=excluded, exhaustive=True
        )
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
    return found


def _articles_of(conn: Connection, dense: Ranked, lexical_hits: Ranked) -> dict[int, str]:
    """Article id of every candidate: collapsed search fuses and collapses by article."""
    ids = {pid for pid, _ in dense} | {pid for pid, _ in lexical_hits}
    return store.article_ids_of(conn, ids)


def lead_scores(
    conn: Connection, vectors: SegmentedVectors, query_vector: np.ndarray, article_ids: set[str]
) -> dict[str, float] | None:
    """Cosine of the query with each article's first passage (None: the kind cannot say).

    Args:
        conn: Connection of the read snapshot.
        vectors: The snapshot's vectors.
        query_vector: The embedded query, shape ``(1, d)``.
        article_ids: Articles (unknown ones are left out).

    Returns:
        Cosine by article id, or None when the index kind cannot look vectors up by id.
    """
    leads = store.lead_passages(conn, sorted(article_ids))
    if not leads:
        return {}
    scores = vectors.similarities(query_vector[0], np.fromiter(leads.values(), dtype=np.int64))
    if scores is None:
        return None
    return {article: float(score) for article, score in zip(leads, scores, strict=True)}


def _page(
    ranked: list[Fused], article_of: dict[int, str] | None, min_score: float | None
) -> tuple[list[tuple[Fused, int]], bool]:
    """Apply the score floor and, given the candidates' articles, per-article collapsing.

    Returns:
        ``(entries, exhausted)``: entries pair a hit with how many other passages of
        its article matched; ``exhausted`` is True when the floor cut the list (deeper
        candidates cannot score higher).
    """
    exhausted = False
    kept: list[Fused] = []
    for fused in ranked:
        if min_score is not None and fused.score < min_score:
            exhausted = True
            break
        kept.append(fused)
    if article_of is None:
        return [(f, 0) for f in kept], exhausted
    best: dict[str, int] = {}
    entries: list[list[Any]] = []
    for fused in kept:
        article_id = article_of.get(fused.id)
        if article_id is None:
            continue
        slot = best.get(article_id)
        if slot is None:
            best[article_id] = len(entries)
            entries.append([fused, 0])
        else:
            entries[slot][1] += 1
    return [(e[0], e[1]) for e in entries], exhausted
