"""The operations routes (health, readiness, metrics) and the search page.

Private: :func:`service.app.create_app` calls :func:`add_routes`. The handlers have no docstrings because FastAPI would publish them as
OpenAPI descriptions.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from semsearch.service import api_models as m
from semsearch.service._state import StateDep

STATIC_DIR = Path(__file__).resolve().parent / "static"
METRICS_EXAMPLE = 'semsearch_http_requests_total{method="GET",route="/search",status="200"} 3.0\n'


def add_routes(api: APIRouter) -> None:
    """Add the operations routes, and the page and its static files (not in OpenAPI).

    Args:
        api: The app's router.
    """
    route = partial(api.add_api_route, methods=["GET"], tags=["operations"])
    route("/healthz", healthz, response_model=m.Health, summary="Process is up")
    route(
        "/readyz",
        readyz,
        response_model=m.Ready,
        responses={503: {"model": m.ErrorResponse, "description": "Still loading, or failed"}},
        summary="Model and index are loaded",
    )
    route(
        "/metrics",
        metrics,
        response_class=PlainTextResponse,
        summary="Prometheus metrics",
        description="Request counts and latency histograms by route, index size, model time, "
        "query cache and batch sizes.",
        responses={200: {"content": {"text/plain": {"example": METRICS_EXAMPLE}}}},
    )
    api.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


async def healthz() -> m.Health:
    return m.Health(status="ok")


async def readyz(state: StateDep) -> m.Ready:
    runtime = state.require()
    articles, passages = await run_in_threadpool(runtime.collection.counts)
    return m.Ready(
        status="ready",
        articles=articles,
        passages=passages,
        model=runtime.encoder.model_name,
        writes_enabled=state.settings.writes_enabled,
    )


async def metrics(state: StateDep) -> Response:
    await run_in_threadpool(state.metrics.refresh, state.runtime)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")
