"""The HTTP service: a JSON search API and a search page, on FastAPI.

Build it with :func:`create_app` (tests inject a ready :class:`~service.runtime.Runtime`;
``semsearch serve`` passes a loader that runs in the background, so ``/healthz`` answers
at once and ``/readyz`` turns ready when model and index are loaded).

Every error is ``{"error": {"code", "message"}}`` with a fitting status code. Blocking
work (model, FAISS, SQLite) runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import html
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from embedder.errors import InputError, SemsearchError
from index import CollectionLockedError, Filters, SearchResponse, SnippetStyle
from index import SearchHit as IndexHit
from service import api_models as m
from service.config import ServiceSettings
from service.runtime import PassageRecord, Runtime, prepare_records

log = logging.getLogger("semsearch.service")

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_KEY_HEADER = "X-API-Key"
# Unicode noncharacters never occur in interchange text, so they cannot collide with a
# passage's own characters; the API turns them into offsets and escaped <mark> HTML.
MARK_PRE = "\ufdd0"
MARK_POST = "\ufdd1"
SNIPPET_STYLE = SnippetStyle(pre=MARK_PRE, post=MARK_POST)
# Declares the key in OpenAPI; ``Authorization: Bearer`` is accepted too (see require_key).
API_KEY_SCHEME = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
# Passage ids are SQLite integers: larger numbers cannot name one (and overflow the driver).
MAX_ID = 2**63 - 1
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

T = TypeVar("T")


class ApiError(Exception):
    """An error response: status, stable code, human message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": m.ErrorResponse, "description": text}
    for status, text in (
        (404, "Unknown id"),
        (413, "Request body too large"),
        (422, "Malformed request or over a limit"),
        (503, "Model or index not loaded yet"),
    )
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = ERRORS | {
    401: {"model": m.ErrorResponse, "description": "Missing or wrong API key"},
    403: {"model": m.ErrorResponse, "description": "Writes disabled (no key configured)"},
}


class Metrics:
    """Prometheus metrics of one app (own registry, so several apps can coexist in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "semsearch_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "semsearch_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.articles = Gauge(
            "semsearch_index_articles", "Articles in the index.", registry=self.registry
        )
        self.passages = Gauge(
            "semsearch_index_passages", "Passages in the index.", registry=self.registry
        )
        self.model_seconds = Gauge(
            "semsearch_model_seconds_total",
            "Cumulative seconds spent in the embedding model.",
            registry=self.registry,
        )
        self.cache_hits = Gauge(
            "semsearch_query_cache_hits_total",
            "Query embedding cache hits.",
            registry=self.registry,
        )
        self.cache_misses = Gauge(
            "semsearch_query_cache_misses_total",
            "Query embedding cache misses.",
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "semsearch_query_batch_size",
            "Queries per model call (micro-batching).",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )

    def refresh(self, runtime: Runtime | None) -> None:
        """Update the gauges that are read from the runtime at scrape time."""
        if runtime is None:
            return
        articles, passages = runtime.reader.counts()
        self.articles.set(articles)
        self.passages.set(passages)
        encoder = runtime.encoder
        self.model_seconds.set(encoder.model_seconds())
        self.cache_hits.set(encoder.hits)
        self.cache_misses.set(encoder.misses)
        for size in encoder.drain_batches():
            self.batch_size.observe(size)


class AppState:
    """Mutable state of one app: the runtime once loaded, or why loading failed."""

    def __init__(self, settings: ServiceSettings, runtime: Runtime | None) -> None:
        self.settings = settings
        self.runtime = runtime
        self.load_error: str | None = None
        self.metrics = Metrics()

    def require(self) -> Runtime:
        """The runtime, or a 503 while it loads (or after loading failed)."""
        if self.runtime is None:
            detail = f": {self.load_error}" if self.load_error else ""
            raise ApiError(503, "not_ready", f"the model and index are not loaded{detail}")
        return self.runtime


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class BodyLimitMiddleware:
    """413 for bodies over the limit, whether announced by Content-Length or streamed.

    Bodies are read here (at most the limit) and replayed to the app, so the check does
    not depend on how the route reads them.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        too_large = _error(413, "too_large", f"request body over {self.limit} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)


class MetricsMiddleware:
    """Counts requests and observes latency by route template (bounded label values)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if route.startswith("/static"):
                route = "/static"
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _parse_snippet(marked: str) -> tuple[str, list[tuple[int, int]], str]:
    """Split a marker-highlighted snippet into plain text, highlight ranges and safe HTML."""
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
    out: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in (MARK_PRE, MARK_POST):
            if current:
                out.append("".join(current))
                current = []
            out.append(ch)
        else:
            current.append(ch)
    if current:
        out.append("".join(current))
    return out


def _hit(hit: IndexHit) -> m.SearchHit:
    snippet_text, ranges, snippet_html = _parse_snippet(hit.snippet)
    return m.SearchHit(
        rank=hit.rank,
        score=hit.score,
        passage=_passage_ref(hit.passage_id, hit),
        article=_article_ref_of(hit),
        snippet=snippet_html,
        snippet_text=snippet_text,
        highlights=ranges,
        matched_passages=hit.matched_passages,
        dense_score=hit.dense_score,
        lexical_score=hit.lexical_score,
    )


def _page(response: SearchResponse, k: int, started: float) -> m.SearchResult:
    """Shape a page fetched with k + 1 results (the extra one only says there is more)."""
    hits = response.results[:k]
    return m.SearchResult(
        query=response.query,
        mode=response.mode,
        took_ms=round((time.perf_counter() - started) * 1000.0, 3),
        total=len(hits),
        has_more=len(response.results) > k,
        k=k,
        offset=response.offset,
        collapsed=response.collapsed,
        lexical_weight=response.lexical_weight,
        results=[_hit(h) for h in hits],
    )


def _filters(spec: m.SearchFilters) -> Filters:
    return Filters(
        date_from=spec.date_from,
        date_to=spec.date_to,
        sources=spec.sources,
        sections=spec.sections,
        article_ids=spec.article_ids,
        metadata=dict(spec.metadata),
    )


def _meta_pairs(items: list[str] | None) -> dict[str, m.MetadataValue]:
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


def _article_ref(fields: dict[str, Any]) -> m.ArticleRef:
    return m.ArticleRef(
        id=str(fields["id"]),
        title=str(fields.get("title") or ""),
        date=fields.get("date"),
        source=fields.get("source"),
        section=fields.get("section"),
        url=fields.get("url"),
    )


def _passage_ref(passage_id: int, item: IndexHit | PassageRecord) -> m.PassageRef:
    """The passage fields a search hit or a stored passage carries."""
    return m.PassageRef(
        id=passage_id,
        text=item.text,
        ordinal=item.ordinal,
        paragraph_index=item.paragraph_index,
        start=item.start,
        end=item.end,
    )


def _article_ref_of(item: IndexHit | PassageRecord) -> m.ArticleRef:
    """The article fields a search hit or a stored passage carries."""
    fields = {name: getattr(item, name) for name in ("title", "date", "source", "section", "url")}
    return _article_ref({"id": item.article_id, **fields})


def _allowed_methods(app: FastAPI, scope: MutableMapping[str, Any]) -> set[str]:
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return methods or {"GET"}


def create_app(
    runtime: Runtime | None = None,
    *,
    settings: ServiceSettings | None = None,
    loader: Callable[[], Runtime] | None = None,
) -> FastAPI:
    """Build the app.

    Args:
        runtime: A loaded runtime (tests); the app is ready at once.
        settings: Limits and API key; ``runtime.settings`` or the environment by default.
        loader: Builds the runtime in a background thread at startup (``semsearch serve``).

    Returns:
        The ASGI app.
    """
    settings = settings or (runtime.settings if runtime else ServiceSettings())
    state = AppState(settings, runtime)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if loader is not None and state.runtime is None:

            def load() -> None:
                try:
                    state.runtime = loader()
                    log.info("semsearch: model and index loaded")
                except Exception as exc:  # reported by /readyz and 503s
                    log.exception("semsearch: loading failed")
                    state.load_error = str(exc) or type(exc).__name__

            threading.Thread(target=load, name="semsearch-load", daemon=True).start()
        yield
        if loader is not None and state.runtime is not None:
            state.runtime.close()

    app = FastAPI(
        title="semsearch",
        version="0.1.0",
        summary="Semantic search for news archives.",
        description="Hybrid (dense + lexical) search over a news archive, article and passage "
        f"look-ups, query by example, and writes guarded by an API key (`{API_KEY_HEADER}` "
        'header or `Authorization: Bearer`). Errors are `{"error": {"code", "message"}}`.',
        lifespan=lifespan,
    )
    app.state.semsearch = state
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)

    # ------------------------------------------------------------------ errors

    @app.exception_handler(ApiError)
    async def on_api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return _error(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 400:  # an unparseable body: as malformed as any other
            return _error(422, "invalid_request", message)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette lists only the first matching route's methods; list every route's.
            headers["Allow"] = ", ".join(sorted(_allowed_methods(app, request.scope)))
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), message, headers)

    @app.exception_handler(CollectionLockedError)
    async def on_locked(_: Request, exc: CollectionLockedError) -> JSONResponse:
        return _error(503, "busy", str(exc), {"Retry-After": "5"})

    @app.exception_handler(InputError)
    async def on_input(_: Request, exc: InputError) -> JSONResponse:
        return _error(422, "invalid_input", str(exc))

    @app.exception_handler(SemsearchError)
    async def on_semsearch(_: Request, exc: SemsearchError) -> JSONResponse:
        log.error("semsearch error: %s", exc)
        return _error(500, "internal", str(exc))

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "internal", "internal error; see the server log")

    # ------------------------------------------------------------------ helpers

    def check_query(text: str, name: str = "q") -> str:
        if not text.strip():
            raise ApiError(422, "invalid_request", f"{name} is empty")
        if len(text) > settings.max_query_chars:
            raise ApiError(422, "too_long", f"{name} is over {settings.max_query_chars} characters")
        return text

    def check_page(k: int, offset: int) -> None:
        if k > settings.max_k:
            raise ApiError(422, "limit_exceeded", f"k is over the limit of {settings.max_k}")
        if offset > settings.max_offset:
            raise ApiError(
                422, "limit_exceeded", f"offset is over the limit of {settings.max_offset}"
            )

    async def search(request: m.SearchRequest) -> m.SearchResult:
        runtime = state.require()
        check_query(request.q)
        check_page(request.k, request.offset)
        started = time.perf_counter()
        response = await run_in_threadpool(
            runtime.collection.search,
            request.q,
            mode=request.mode,
            k=request.k + 1,
            offset=request.offset,
            filters=_filters(request.filters),
            collapse=request.collapse,
            min_score=request.min_score,
            snippet_style=SNIPPET_STYLE,
        )
        return _page(response, request.k, started)

    def require_key(request: Request, key: Annotated[str | None, Depends(API_KEY_SCHEME)]) -> None:
        if not settings.writes_enabled or settings.api_key is None:
            raise ApiError(403, "writes_disabled", "writes are disabled: no API key is configured")
        given = key
        if given is None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            given = token if scheme.lower() == "bearer" and token else None
        if given is None or not secrets.compare_digest(
            given.encode("utf-8"), settings.api_key.get_secret_value().encode("utf-8")
        ):
            raise ApiError(
                401,
                "unauthorized",
                f"a valid API key is required ({API_KEY_HEADER} header)",
                {"WWW-Authenticate": "Bearer"},
            )

    # ------------------------------------------------------------------ search

    limit_note = (
        f"Limits: query up to {settings.max_query_chars} characters, k up to {settings.max_k}, "
        f"offset up to {settings.max_offset}."
    )

    @app.get(
        "/search",
        response_model=m.SearchResult,
        responses=ERRORS,
        tags=["search"],
        summary="Search passages",
        description="Hybrid (default), dense or lexical search. Filters narrow the articles "
        "before the top-k cut; repeat `source`, `section`, `article_id`, `meta` for several "
        f"values. {limit_note}",
    )
    async def search_get(
        q: Annotated[
            str,
            Query(
                min_length=1,
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
            str | None, Query(description="YYYY-MM-DD", examples=["2023-04-01"])
        ] = None,
        date_to: Annotated[
            str | None, Query(description="YYYY-MM-DD", examples=["2023-04-30"])
        ] = None,
        source: Annotated[
            list[str] | None, Query(description="Source (repeatable).", examples=[["郑州晚报"]])
        ] = None,
        section: Annotated[list[str] | None, Query(description="Section (repeatable).")] = None,
        article_id: Annotated[
            list[str] | None, Query(description="Article id (repeatable).")
        ] = None,
        meta: Annotated[
            list[str] | None,
            Query(description="KEY=VALUE on extra fields (repeatable).", examples=[["page=2"]]),
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
                metadata=_meta_pairs(meta),
            ),
        )
        return await search(request)

    @app.post(
        "/search",
        response_model=m.SearchResult,
        responses=ERRORS,
        tags=["search"],
        summary="Search passages (JSON body)",
        description=f"The same search as `GET /search`, filters as an object. {limit_note}",
    )
    async def search_post(request: m.SearchRequest) -> m.SearchResult:
        return await search(request)

    @app.get(
        "/similar",
        response_model=m.SearchResult,
        responses=ERRORS,
        tags=["search"],
        summary="More like this",
        description="Passages (or, with `collapse`, articles) like a stored passage, a stored "
        "article or free text; give exactly one of `article_id`, `passage_id`, `text`. The "
        "example itself is left out.",
    )
    async def similar(
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
                description="Free text.",
                examples=["数字经济"],
            ),
        ] = None,
        k: Annotated[int, Query(ge=1, examples=[10])] = 10,
        offset: Annotated[int, Query(ge=0, examples=[0])] = 0,
        collapse: Annotated[bool, Query(description="One hit per article.")] = False,
        min_score: Annotated[float | None, Query(allow_inf_nan=False)] = None,
        date_from: Annotated[str | None, Query()] = None,
        date_to: Annotated[str | None, Query()] = None,
        source: Annotated[list[str] | None, Query()] = None,
        section: Annotated[list[str] | None, Query()] = None,
    ) -> m.SearchResult:
        runtime = state.require()
        if sum(x is not None for x in (article_id, passage_id, text)) != 1:
            raise ApiError(
                422, "invalid_request", "give exactly one of article_id, passage_id or text"
            )
        check_page(k, offset)
        if text is not None:
            check_query(text, "text")
        if article_id is not None:
            found = await run_in_threadpool(runtime.reader.article, article_id)
            if found is None or not found.passages:
                raise ApiError(404, "not_found", f"no article {article_id!r}")
        if (
            passage_id is not None
            and await run_in_threadpool(runtime.reader.passage, passage_id) is None
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
        return _page(response, k, started)

    # ------------------------------------------------------------------ reads

    @app.get(
        "/articles/{article_id}",
        response_model=m.ArticleResponse,
        responses=ERRORS,
        tags=["articles"],
        summary="An article with its paragraphs and passages",
    )
    async def get_article(
        article_id: Annotated[
            str, PathParam(description="Article id.", examples=["zzwb-2023-04-20-02"])
        ],
    ) -> m.ArticleResponse:
        runtime = state.require()
        found = await run_in_threadpool(runtime.reader.article, article_id)
        if found is None:
            raise ApiError(404, "not_found", f"no article {article_id!r}")
        fields = found.fields
        return m.ArticleResponse(
            **_article_ref(fields).model_dump(),
            author=fields.get("author"),
            metadata=fields.get("metadata") or {},
            text=str(fields["text"]),
            paragraphs=[m.Paragraph(**p) for p in found.paragraphs],
            passages=[_passage_ref(p.id, p) for p in found.passages],
        )

    @app.get(
        "/passages/{passage_id}",
        response_model=m.PassageResponse,
        responses=ERRORS,
        tags=["articles"],
        summary="A passage with its article",
    )
    async def get_passage(
        passage_id: Annotated[
            int, PathParam(ge=0, le=MAX_ID, description="Passage id.", examples=[7])
        ],
    ) -> m.PassageResponse:
        runtime = state.require()
        found = await run_in_threadpool(runtime.reader.passage, passage_id)
        if found is None:
            raise ApiError(404, "not_found", f"no passage {passage_id}")
        return m.PassageResponse(
            **_passage_ref(found.id, found).model_dump(), article=_article_ref_of(found)
        )

    # ------------------------------------------------------------------ writes

    @app.post(
        "/articles",
        response_model=m.WriteReport,
        responses=WRITE_ERRORS,
        tags=["articles"],
        summary="Add or replace articles",
        description="A batch of records with the fields of a JSONL ingest line, written all "
        "or nothing: one bad record (422) leaves the index unchanged. An unchanged article "
        "is not re-embedded; a changed one (same id) replaces its passages. At most "
        f"{settings.max_batch_articles} articles and {settings.max_body_bytes} bytes per request.",
        dependencies=[Depends(require_key)],
    )
    async def post_articles(batch: m.ArticlesIn) -> m.WriteReport:
        runtime = state.require()
        if len(batch.articles) > settings.max_batch_articles:
            raise ApiError(
                422,
                "limit_exceeded",
                f"{len(batch.articles)} articles; at most {settings.max_batch_articles} per request",
            )
        records = [a.model_dump(exclude_none=True) for a in batch.articles]
        # Clean and cut everything before writing, so a bad record costs no model time.
        items = await run_in_threadpool(prepare_records, records, runtime.encoder.inner)
        report = await run_in_threadpool(runtime.upsert, items)
        return m.WriteReport(
            added=report.added,
            replaced=report.replaced,
            unchanged=report.metadata_only + report.unchanged,
            passages_added=report.passages_added,
            passages_removed=report.passages_removed,
            generation=report.generation,
        )

    @app.delete(
        "/articles/{article_id}",
        response_model=m.DeleteReport,
        responses=WRITE_ERRORS,
        tags=["articles"],
        summary="Delete an article",
        dependencies=[Depends(require_key)],
    )
    async def delete_article(
        article_id: Annotated[
            str, PathParam(description="Article id.", examples=["zzwb-2023-04-20-02"])
        ],
    ) -> m.DeleteReport:
        runtime = state.require()
        deleted = await run_in_threadpool(runtime.delete, article_id)
        if not deleted:
            raise ApiError(404, "not_found", f"no article {article_id!r}")
        return m.DeleteReport(id=article_id, deleted=True)

    # ------------------------------------------------------------------ operations

    @app.get("/healthz", response_model=m.Health, tags=["operations"], summary="Process is up")
    async def healthz() -> m.Health:
        return m.Health(status="ok")

    @app.get(
        "/readyz",
        response_model=m.Ready,
        responses={503: {"model": m.ErrorResponse, "description": "Still loading, or failed"}},
        tags=["operations"],
        summary="Model and index are loaded",
    )
    async def readyz() -> m.Ready:
        runtime = state.require()
        articles, passages = await run_in_threadpool(runtime.reader.counts)
        return m.Ready(
            status="ready",
            articles=articles,
            passages=passages,
            model=runtime.encoder.model_name,
            writes_enabled=settings.writes_enabled,
        )

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        tags=["operations"],
        summary="Prometheus metrics",
        description="Request counts and latency histograms by route, index size, model time, "
        "query cache and batch sizes.",
        responses={
            200: {
                "content": {
                    "text/plain": {
                        "example": 'semsearch_http_requests_total{method="GET",route="/search",status="200"} 3.0\n'
                    }
                }
            }
        },
    )
    async def metrics() -> Response:
        await run_in_threadpool(state.metrics.refresh, state.runtime)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ------------------------------------------------------------------ page

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _document_limits(schema, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _document_limits(schema: dict[str, Any], settings: ServiceSettings) -> dict[str, Any]:
    """Write the configured limits into the schema (they are per app, so not in the types).

    Args:
        schema: The generated OpenAPI document.
        settings: The limits.

    Returns:
        The same document, with ``maximum``/``maxLength`` on limited parameters and fields.
    """
    limits: dict[str, dict[str, int]] = {
        "q": {"maxLength": settings.max_query_chars},
        "text": {"maxLength": settings.max_query_chars},
        "k": {"maximum": settings.max_k},
        "offset": {"maximum": settings.max_offset},
    }
    for path in ("/search", "/similar"):
        for operation in schema["paths"].get(path, {}).values():
            for parameter in operation.get("parameters", []):
                extra = limits.get(parameter["name"])
                if extra is None:
                    continue
                target = parameter["schema"]
                for option in target.get("anyOf", [target]):
                    if option.get("type") in ("string", "integer"):
                        option.update(extra)
    fields = schema["components"]["schemas"]["SearchRequest"]["properties"]
    for name in ("q", "k", "offset"):
        fields[name].update(limits[name])
    batch = schema["components"]["schemas"]["ArticlesIn"]["properties"]["articles"]
    batch["maxItems"] = settings.max_batch_articles
    return schema
