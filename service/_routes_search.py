"""The search routes: ``GET``/``POST /search`` and ``GET /similar``.

Private: :func:`service.app.create_app` calls :func:`add_routes`. The handlers have no
docstrings because FastAPI would publish them as OpenAPI descriptions.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from semsearch.index import Filters, SearchRequest
from semsearch.service import api_models as m
from semsearch.service._convert import SNIPPET_STYLE, index_filters, metadata_filter, search_result
from semsearch.service._errors import ERRORS, ApiError
from semsearch.service._limits import MAX_ID, check_page, check_query, limit_note
from semsearch.service._state import AppState, StateDep
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import read_article


def add_routes(api: APIRouter, settings: ServiceSettings) -> None:
    """Add the search routes, with descriptions stating the configured limits.

    Args:
        api: The app's router.
        settings: The limits to document.
    """
    note = limit_note(settings)
    route = partial(
        api.add_api_route, response_model=m.SearchResult, responses=ERRORS, tags=["search"]
    )
    route(
        "/search",
        search_get,
        methods=["GET"],
        summary="Search passages",
        description="Hybrid (default), dense or lexical search. Filters narrow the articles "
        "before the top-k cut; repeat `source`, `section`, `article_id`, `meta` for several "
        "values, `entity` for articles naming several entities. Query syntax: "
        f"{m.QUERY_SYNTAX} `total` counts the matching articles; "
        f"`facets` counts them per value. {note}",
    )
    route(
        "/search",
        search_post,
        methods=["POST"],
        summary="Search passages (JSON body)",
        description=f"The same search as `GET /search`, filters as an object. {note}",
    )
    route(
        "/similar",
        similar,
        methods=["GET"],
        summary="More like this",
        description="Passages (or, with `collapse`, articles) like a stored passage, a stored "
        "article or free text; give exactly one of `article_id`, `passage_id`, `text`. The "
        "example itself is left out.",
    )


async def search_get(
    state: StateDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            json_schema_extra={"pattern": m.NOT_BLANK},
            description="The query.",
            examples=["数字经济 核心产业"],
        ),
    ],
    k: Annotated[int, Query(ge=1, description="Results per page.", examples=[10])] = 10,
    mode: Annotated[m.Mode, Query(description="Search mode.", examples=["hybrid"])] = "hybrid",
    offset: Annotated[int, Query(ge=0, description="Results to skip.", examples=[0])] = 0,
    collapse: Annotated[bool, Query(description="One hit per article.")] = False,
    min_score: Annotated[
        float | None, Query(allow_inf_nan=False, description="Score floor.")
    ] = None,
    date_from: Annotated[
        m.IsoDate | None,
        Query(description=f"Earliest date: {m.DATE_FORMS}.", examples=["2023-04-01"]),
    ] = None,
    date_to: Annotated[
        m.IsoDate | None,
        Query(description=f"Latest date (inclusive): {m.DATE_FORMS}.", examples=["2023-04-30"]),
    ] = None,
    source: Annotated[
        list[str] | None, Query(description="Source (repeatable).", examples=[["郑州晚报"]])
    ] = None,
    section: Annotated[list[str] | None, Query(description="Section (repeatable).")] = None,
    article_id: Annotated[list[str] | None, Query(description="Article id (repeatable).")] = None,
    meta: Annotated[
        list[m.MetaItem] | None,
        Query(description="KEY=VALUE on extra fields (repeatable).", examples=[["page=2"]]),
    ] = None,
    entity: Annotated[
        list[m.EntityItem] | None,
        Query(description=m.ENTITY_FILTER + " Repeatable.", examples=[["person:何雄"]]),
    ] = None,
    sort: Annotated[m.Sort, Query(description="Result order.")] = "relevance",
    facets: Annotated[
        list[m.FacetNames] | None,
        Query(
            description="Facets to count, comma-separated or repeated: source, section, "
            "year, month, person, place, org, meta.KEY.",
            examples=[["source,month"]],
        ),
    ] = None,
) -> m.SearchResult:
    request = m.SearchRequest(
        q=q,
        k=k,
        mode=mode,
        offset=offset,
        collapse=collapse,
        min_score=min_score,
        filters=m.SearchFilters(
            date_from=date_from,
            date_to=date_to,
            sources=source,
            sections=section,
            article_ids=article_id,
            metadata=metadata_filter(meta),
            entities=entity,
        ),
        sort=sort,
        facets=[name for value in facets or () for name in value.split(",") if name.strip()],
    )
    return await _search(state, request)


async def search_post(state: StateDep, request: m.SearchRequest) -> m.SearchResult:
    return await _search(state, request)


async def similar(
    state: StateDep,
    article_id: Annotated[
        str | None, Query(description="A stored article.", examples=["zzwb-2023-04-20-02"])
    ] = None,
    passage_id: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="A stored passage.", examples=[7])
    ] = None,
    text: Annotated[
        str | None,
        Query(
            min_length=1,
            json_schema_extra={"pattern": m.NOT_BLANK},
            description="Free text.",
            examples=["数字经济"],
        ),
    ] = None,
    k: Annotated[int, Query(ge=1, examples=[10])] = 10,
    offset: Annotated[int, Query(ge=0, examples=[0])] = 0,
    collapse: Annotated[bool, Query(description="One hit per article.")] = False,
    min_score: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    date_from: Annotated[
        m.IsoDate | None, Query(description=f"Earliest date: {m.DATE_FORMS}.")
    ] = None,
    date_to: Annotated[
        m.IsoDate | None, Query(description=f"Latest date (inclusive): {m.DATE_FORMS}.")
    ] = None,
    source: Annotated[list[str] | None, Query()] = None,
    section: Annotated[list[str] | None, Query()] = None,
) -> m.SearchResult:
    runtime = state.require()
    if sum(x is not None for x in (article_id, passage_id, text)) != 1:
        raise ApiError(422, "invalid_request", "give exactly one of article_id, passage_id or text")
    check_page(k, offset, state.settings)
    if text is not None:
        check_query(text, state.settings, "text")
    if article_id is not None:
        found = await run_in_threadpool(read_article, runtime.collection, article_id)
        if found is None or not found.passages:
            raise ApiError(404, "not_found", f"no article {article_id!r}")
    if (
        passage_id is not None
        and await run_in_threadpool(runtime.collection.passage, passage_id) is None
    ):
        raise ApiError(404, "not_found", f"no passage {passage_id}")
    started = time.perf_counter()
    response = await run_in_threadpool(
        runtime.collection.similar,
        passage_id=passage_id,
        article_id=article_id,
        text=text,
        k=k + 1,
        offset=offset,
        filters=Filters(date_from=date_from, date_to=date_to, sources=source, sections=section),
        collapse=collapse,
        min_score=min_score,
    )
    return search_result(response, k, started)


async def _search(state: AppState, request: m.SearchRequest) -> m.SearchResult:
    runtime = state.require()
    check_query(request.q, state.settings)
    check_page(request.k, request.offset, state.settings)
    started = time.perf_counter()
    search = SearchRequest(
        query=request.q,
        mode=request.mode,
        # One extra result tells whether there is a next page.
        k=request.k + 1,
        offset=request.offset,
        filters=index_filters(request.filters),
        collapse=request.collapse,
        min_score=request.min_score,
        snippet_style=SNIPPET_STYLE,
        sort=request.sort,
        facets=tuple(request.facets or ()),
        count=True,
    )
    response = await run_in_threadpool(runtime.collection.run, search)
    # One extra result was fetched only to tell whether there is a next page.
    return search_result(response, request.k, started)
