"""Index results and stored records → API models (:mod:`service.api_models`), and back.

Private: the routes use these; ``MARK_PRE``/``MARK_POST`` are re-exported by :mod:`service.app`.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any, cast

from pydantic import TypeAdapter

from semsearch.index import Filters, SearchResponse, SnippetStyle, parse_entity
from semsearch.index import SearchHit as IndexHit
from semsearch.service import api_models as m
from semsearch.service._errors import ApiError
from semsearch.service.runtime import PassageRecord

# Unicode noncharacters never occur in interchange text, so they cannot collide with a
# passage's own characters; the API turns them into offsets and escaped <mark> HTML.
MARK_PRE = "\ufdd0"
MARK_POST = "\ufdd1"
SNIPPET_STYLE = SnippetStyle(pre=MARK_PRE, post=MARK_POST)
_MARKERS = re.compile(f"([{MARK_PRE}{MARK_POST}])")
_FACETS = TypeAdapter(dict[str, list[m.FacetValue]])


def search_result(response: SearchResponse, k: int, started: float) -> m.SearchResult:
    """Shape a page fetched with k + 1 results (the extra one only says there is more).

    Args:
        response: What the collection answered, up to ``k + 1`` results.
        k: The page size asked for.
        started: ``time.perf_counter()`` when the search began.

    Returns:
        The API page.
    """
    hits = response.results[:k]
    # Built without validation (``model_construct``): every value comes typed from the
    # index, so validating it again is work on every request for nothing (tests/test_api.py
    # validates pages through the model, test_api_schema.py against the OpenAPI schema).
    return m.SearchResult.model_construct(
        query=response.query,
        parsed=None
        if response.parsed is None
        else m.ParsedQuery.model_construct(**response.parsed.describe()),
        mode=response.mode,
        took_ms=round((time.perf_counter() - started) * 1000.0, 3),
        total=len(hits) if response.total is None else response.total,
        total_passages=response.total_passages,
        total_relation=cast(m.TotalRelation, response.total_relation or "eq"),
        sort=cast(m.Sort, response.sort),
        facets=_facets(response.facets),
        has_more=len(response.results) > k,
        k=k,
        offset=response.offset,
        collapsed=response.collapsed,
        lexical_weight=response.lexical_weight,
        partial=response.partial,
        missing_shards=list(response.missing_shards),
        results=[search_hit(h) for h in hits],
    )


def _facets(facets: dict[str, list[dict[str, Any]]] | None) -> dict[str, list[m.FacetValue]] | None:
    if facets is None:
        return None
    # One validation in pydantic-core for every value (a month facet lists hundreds).
    return _FACETS.validate_python(facets)


def search_hit(hit: IndexHit) -> m.SearchHit:
    """One index hit as the API shows it, its snippet as plain text, ranges and safe HTML.

    Args:
        hit: A hit whose snippet is highlighted with :data:`SNIPPET_STYLE`.

    Returns:
        The API hit.
    """
    snippet_text, ranges, snippet_html = parse_snippet(hit.snippet)
    # Unvalidated, as search_result: the hit's fields are typed by the index.
    return m.SearchHit.model_construct(
        rank=hit.rank,
        score=hit.score,
        passage=passage_ref(hit.passage_id, hit),
        article=article_ref_of(hit),
        snippet=snippet_html,
        snippet_text=snippet_text,
        highlights=ranges,
        matched_passages=hit.matched_passages,
        dense_score=hit.dense_score,
        lexical_score=hit.lexical_score,
    )


def parse_snippet(marked: str) -> tuple[str, list[tuple[int, int]], str]:
    """Split a marker-highlighted snippet into plain text, highlight ranges and safe HTML.

    Args:
        marked: Text with highlights between :data:`MARK_PRE` and :data:`MARK_POST`.

    Returns:
        The plain text, the ``(start, end)`` offsets of highlights in it, and the HTML.
    """
    plain: list[str] = []
    ranges: list[tuple[int, int]] = []
    markup: list[str] = []
    length = 0
    start: int | None = None
    for piece in _split_markers(marked):
        if piece == MARK_PRE:
            start = length
            markup.append("<mark>")
        elif piece == MARK_POST:
            if start is not None and length > start:
                ranges.append((start, length))
            start = None
            markup.append("</mark>")
        else:
            plain.append(piece)
            markup.append(html.escape(piece, quote=True))
            length += len(piece)
    if start is not None:  # unbalanced: close it so the HTML stays well-formed
        markup.append("</mark>")
    return "".join(plain), ranges, "".join(markup)


def _split_markers(text: str) -> list[str]:
    return [piece for piece in _MARKERS.split(text) if piece]


def index_filters(spec: m.SearchFilters) -> Filters:
    """The API's search filters as the index takes them.

    Args:
        spec: The filters of a search request.

    Returns:
        The index filters.
    """
    return Filters(
        date_from=spec.date_from,
        date_to=spec.date_to,
        sources=spec.sources,
        sections=spec.sections,
        article_ids=spec.article_ids,
        metadata=dict(spec.metadata),
        entities=[parse_entity(item) for item in spec.entities or ()],
    )


def metadata_filter(items: list[str] | None) -> dict[str, m.MetadataValue]:
    """Parse repeated ``meta=KEY=VALUE`` query parameters.

    Args:
        items: The ``KEY=VALUE`` strings, or ``None``.

    Returns:
        The accepted values by key; a numeric value is accepted as text and as a number.

    Raises:
        ApiError: 422 for an item without ``=`` or without a key.
    """
    metadata: dict[str, list[str | int | float | bool]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ApiError(422, "invalid_request", f"meta expects KEY=VALUE, got {item!r}")
        values = metadata.setdefault(key, [])
        values.append(value)
        # A query string cannot say 2 from "2": match either way the record stored it.
        number = _number(value)
        if number is not None:
            values.append(number)
    return dict(metadata)


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def article_ref(fields: dict[str, Any]) -> m.ArticleRef:
    """The article fields every response carries, from a stored article's fields.

    Args:
        fields: The stored record (``id`` required; the others optional).

    Returns:
        The article reference.
    """
    return m.ArticleRef(
        id=str(fields["id"]),
        title=str(fields.get("title") or ""),
        date=fields.get("date"),
        source=fields.get("source"),
        section=fields.get("section"),
        url=fields.get("url"),
    )


def passage_ref(passage_id: int, item: IndexHit | PassageRecord) -> m.PassageRef:
    """The passage fields a search hit or a stored passage carries.

    Args:
        passage_id: The passage's id.
        item: A search hit or a stored passage.

    Returns:
        The passage reference.
    """
    # Unvalidated: a hit's and a stored passage's fields are typed by the index.
    return m.PassageRef.model_construct(
        id=passage_id,
        text=item.text,
        ordinal=item.ordinal,
        paragraph_index=item.paragraph_index,
        start=item.start,
        end=item.end,
        # Validated: stored layout JSON may hold integer boxes, which the API gives as floats.
        layout=[m.PageRegion(**region) for region in item.layout] if item.layout else None,
    )


def article_ref_of(item: IndexHit | PassageRecord) -> m.ArticleRef:
    """The article fields a search hit or a stored passage carries.

    Args:
        item: A search hit or a stored passage.

    Returns:
        The reference to its article.
    """
    # Unvalidated, as passage_ref; article_ref validates the fields of a stored record.
    return m.ArticleRef.model_construct(
        id=str(item.article_id),
        title=str(item.title or ""),
        date=item.date,
        source=item.source,
        section=item.section,
        url=item.url,
    )
