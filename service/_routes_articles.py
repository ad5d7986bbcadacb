"""The article routes: reads by id, and the writes the API key guards.

Private: :func:`service.app.create_app` calls :func:`add_routes`. The handlers have no
docstrings because FastAPI would publish them as OpenAPI descriptions.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import IngestOptions
from semsearch.embedder.page_image import page_png
from semsearch.service import api_models as m
from semsearch.service._auth import require_key
from semsearch.service._convert import article_ref, article_ref_of, passage_ref
from semsearch.service._errors import ERRORS, WRITE_ERRORS, ApiError
from semsearch.service._limits import MAX_ID
from semsearch.service._state import StateDep
from semsearch.service.config import ServiceSettings
from semsearch.service.page_access import allowed_page_file
from semsearch.service.reuse_lookup import article_reuse
from semsearch.service.runtime import prepare_records, read_article
from semsearch.service.write_guard import WriteAbandoned

log = logging.getLogger(__name__)


def add_routes(api: APIRouter, settings: ServiceSettings) -> None:
    """Add the article routes; the writes require the API key.

    Args:
        api: The app's router.
        settings: The limits to document.
    """
    read = partial(api.add_api_route, methods=["GET"], responses=ERRORS, tags=["articles"])
    write = partial(
        api.add_api_route,
        responses=WRITE_ERRORS,
        tags=["articles"],
        dependencies=[Depends(require_key)],
    )
    read(
        "/articles/{article_id}",
        get_article,
        response_model=m.ArticleResponse,
        summary="An article with its paragraphs and passages",
    )
    read(
        "/articles/{article_id}/reuse",
        get_article_reuse,
        response_model=m.ReuseResponse,
        summary="An article's copies, text-reuse and translation links with the shared spans",
        description="Candidates are the articles of the passages most like each of this "
        "article's passages; each is aligned with it and kept as a copy (the same text "
        "edited), reuse (a shared span of at least 50 characters) or translation (an "
        "article in another script whose passages align with this one's, passage by "
        "passage; `cross_lingual` true, each span an aligned passage pair) by the rules of "
        "`semsearch report reuse`, which covers the whole collection.",
    )
    api.add_api_route(
        "/articles/{article_id}/pages/{page}",
        get_article_page,
        methods=["GET"],
        responses={
            **ERRORS,
            200: {
                "description": "The page as a PNG picture.",
                "content": {
                    "image/png": {
                        "schema": {"type": "string", "format": "binary"},
                        "example": "(PNG bytes: the page, the passage's lines boxed in red)",
                    }
                },
            },
        },
        response_class=Response,
        tags=["articles"],
        summary="A page an article was printed on, as a PNG picture",
        description="Drawn from the PDF or page image the article was ingested from, when "
        "that file is still at its ingest path on the server, inside a directory the "
        "operator allowed (`SEMSEARCH_PAGE_DIRS`), and within the size limits (404 "
        "otherwise); with `passage`, that passage's line boxes on the page are marked. Only "
        "articles read from a PDF or a page image have pages. At most "
        f"{settings.max_page_renders} pages are drawn at once (503 `busy` beyond); no side "
        f"of the picture is longer than {settings.max_page_side} pixels.",
    )
    read(
        "/passages/{passage_id}",
        get_passage,
        response_model=m.PassageResponse,
        summary="A passage with its article",
    )
    write(
        "/articles",
        post_articles,
        methods=["POST"],
        response_model=m.WriteReport,
        summary="Add or replace articles",
        description="A batch of records with the fields of a JSONL ingest line, written all "
        "or nothing: one bad record (422) leaves the index unchanged. An unchanged article "
        "is not re-embedded; a changed one (same id) replaces its passages. At most "
        f"{settings.max_batch_articles} articles and {settings.max_body_bytes} bytes per request; "
        f"a write whose embedding takes longer than {settings.max_write_seconds:g} s is rolled "
        "back (422 `limit_exceeded`), as is one under way when the server shuts down (503).",
    )
    write(
        "/articles/{article_id}",
        delete_article,
        methods=["DELETE"],
        response_model=m.DeleteReport,
        summary="Delete an article",
    )


ArticleId = Annotated[str, PathParam(description="Article id.", examples=["zzwb-2023-04-20-02"])]


async def get_article_page(
    state: StateDep,
    article_id: ArticleId,
    page: Annotated[int, PathParam(ge=1, le=100_000, description="1-based page number.")],
    passage: Annotated[
        int | None, Query(ge=0, description="Mark this passage's line boxes on the page.")
    ] = None,
) -> Response:
    runtime = state.require()
    found = await run_in_threadpool(read_article, runtime.collection, article_id)
    if found is None:
        raise ApiError(404, "not_found", f"no article {article_id!r}")
    pages = {region["page"] for p in found.passages for region in (p.layout or [])}
    # Only ingest's layout readers record a page file, apart from the record's metadata.
    stored = await run_in_threadpool(runtime.collection.page_file, article_id)
    if not pages or stored is None:
        raise ApiError(404, "not_found", f"article {article_id!r} was not read from a page")
    if page not in pages:
        raise ApiError(404, "not_found", f"article {article_id!r} is not on page {page}")
    marked = [p for p in found.passages if p.id == passage]
    if passage is not None and not marked:
        raise ApiError(404, "not_found", f"article {article_id!r} has no passage {passage}")
    boxes = [
        (box[0], box[1], box[2], box[3])
        for p in marked
        for region in (p.layout or [])
        if region["page"] == page
        for box in region["boxes"]
    ]
    unavailable = ApiError(
        404, "not_found", f"page {page} of article {article_id!r} is not available"
    )
    source = allowed_page_file(stored, state.settings.page_dirs)
    if source is None:
        log.info("page file of article %r is outside SEMSEARCH_PAGE_DIRS: %s", article_id, stored)
        raise unavailable
    if not state.page_renders.acquire(blocking=False):
        raise ApiError(503, "busy", "other pages are being drawn; try again", {"Retry-After": "1"})
    try:
        png = await run_in_threadpool(page_png, source, page, boxes, state.settings.page_bounds)
    except InputError as exc:
        # The reason names a server path: it goes to the log, not to the client.
        log.info("page %s of article %r not drawn: %s", page, article_id, exc)
        raise unavailable from None
    finally:
        state.page_renders.release()
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


async def get_article(state: StateDep, article_id: ArticleId) -> m.ArticleResponse:
    runtime = state.require()
    found = await run_in_threadpool(read_article, runtime.collection, article_id)
    if found is None:
        raise ApiError(404, "not_found", f"no article {article_id!r}")
    fields = found.fields
    stored = await run_in_threadpool(runtime.collection.page_file, article_id)
    drawable = stored is not None and allowed_page_file(stored, state.settings.page_dirs) is not None
    return m.ArticleResponse(
        **article_ref(fields).model_dump(),
        author=fields.get("author"),
        metadata=fields.get("metadata") or {},
        has_pages=drawable and any(p.layout for p in found.passages),
        text=str(fields["text"]),
        paragraphs=[m.Paragraph(**p) for p in found.paragraphs],
        passages=[passage_ref(p.id, p) for p in found.passages],
    )


async def get_article_reuse(state: StateDep, article_id: ArticleId) -> m.ReuseResponse:
    runtime = state.require()
    links = await run_in_threadpool(article_reuse, runtime.collection, article_id)
    if links is None:
        raise ApiError(404, "not_found", f"no article {article_id!r}")
    fields = await run_in_threadpool(runtime.collection.get_article, article_id)
    others = [
        (link, await run_in_threadpool(runtime.collection.get_article, link.other_id))
        for link in links
    ]
    return m.ReuseResponse(
        article=article_ref(fields or {"id": article_id}),
        links=[
            m.ReuseLinkOut(
                other=article_ref(other),
                level=link.level,  # type: ignore[arg-type]
                spans=[
                    m.ReuseSpan(start=a, end=b, other_start=c, other_end=d)
                    for a, b, c, d in link.spans
                ],
                share=link.share,
                other_share=link.other_share,
                longest_span=link.longest_span,
                score=link.score,
                cross_lingual=link.cross_lingual,
            )
            for link, other in others
            if other is not None
        ],
    )


async def get_passage(
    state: StateDep,
    passage_id: Annotated[int, PathParam(ge=0, le=MAX_ID, description="Passage id.", examples=[7])],
) -> m.PassageResponse:
    runtime = state.require()
    found = await run_in_threadpool(runtime.collection.passage, passage_id)
    if found is None:
        raise ApiError(404, "not_found", f"no passage {passage_id}")
    return m.PassageResponse(
        **passage_ref(found.id, found).model_dump(), article=article_ref_of(found)
    )


async def post_articles(state: StateDep, batch: m.ArticlesIn) -> m.WriteReport:
    runtime = state.require()
    limit = state.settings.max_batch_articles
    if len(batch.articles) > limit:
        raise ApiError(
            422, "limit_exceeded", f"{len(batch.articles)} articles; at most {limit} per request"
        )
    records = [a.model_dump(exclude_none=True) for a in batch.articles]
    # Clean and cut everything before writing, so a bad record costs no model time.
    limits = IngestOptions(
        max_record_bytes=state.settings.max_record_bytes,
        max_title_chars=state.settings.max_title_chars,
    )
    items = await run_in_threadpool(prepare_records, records, runtime.encoder.inner, limits)
    try:
        report = await run_in_threadpool(runtime.upsert, items)
    except WriteAbandoned as exc:
        if exc.stopping:
            raise ApiError(503, "shutting_down", str(exc), {"Retry-After": "30"}) from None
        raise ApiError(422, "limit_exceeded", str(exc)) from None
    return m.WriteReport(
        added=report.added,
        replaced=report.replaced,
        unchanged=report.metadata_only + report.unchanged,
        passages_added=report.passages_added,
        passages_removed=report.passages_removed,
        generation=report.generation,
    )


async def delete_article(state: StateDep, article_id: ArticleId) -> m.DeleteReport:
    runtime = state.require()
    deleted = await run_in_threadpool(runtime.delete, article_id)
    if not deleted:
        raise ApiError(404, "not_found", f"no article {article_id!r}")
    return m.DeleteReport(id=article_id, deleted=True)
