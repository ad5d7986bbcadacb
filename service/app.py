"""The HTTP service: a JSON search API and a search page, on FastAPI.

Build it with :func:`create_app` (tests inject a ready :class:`~service.runtime.Runtime`;
``semsearch serve`` passes a loader that runs in the background, so ``/healthz`` answers
at once and ``/readyz`` turns ready when model and index are loaded).

Every error is ``{"error": {"code", "message"}}`` with a fitting status code. Blocking
work (model, FAISS, SQLite) runs in worker threads, never on the event loop.

The pieces live in private modules: ``_routes_*`` (the routes), ``_errors`` (error bodies
and handlers), ``_middleware``, ``_metrics``, ``_state``, ``_auth``, ``_limits`` and
``_convert`` (index results to API models), ``_docs`` (the API docs pages, no CDN).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from semsearch.service import (
    _docs,
    _routes_articles,
    _routes_entities,
    _routes_ops,
    _routes_search,
)
from semsearch.service._auth import API_KEY_HEADER
from semsearch.service._convert import MARK_POST, MARK_PRE
from semsearch.service._errors import ApiError, install_error_handlers
from semsearch.service._limits import document_limits
from semsearch.service._middleware import (
    BodyLimitMiddleware,
    HeadMiddleware,
    MetricsMiddleware,
    SecurityHeadersMiddleware,
)
from semsearch.service._params import single_values
from semsearch.service._state import AppState
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime

__all__ = ["API_KEY_HEADER", "MARK_POST", "MARK_PRE", "ApiError", "AppState", "create_app"]

log = logging.getLogger("semsearch.service")


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
    app = FastAPI(
        title="semsearch",
        version="0.1.0",
        summary="Semantic search for news archives.",
        description="Hybrid (dense + lexical) search over a news archive, article and passage "
        f"look-ups, query by example, and writes guarded by an API key (`{API_KEY_HEADER}` "
        'header or `Authorization: Bearer`). Errors are `{"error": {"code", "message"}}`.',
        lifespan=_lifespan(state, loader),
        docs_url=None,  # served by _docs without a CDN
        redoc_url=None,
        dependencies=[Depends(single_values)],
    )
    app.state.semsearch = state
    # Innermost first: metrics see HEAD as HEAD, and every response (errors, 413s, static
    # files) gets the security headers.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_handlers(app)
    # Onto the app's own router, not include_router: FastAPI 0.165 nests included routers,
    # which hides their routes (and methods) from the 405 handler's ``Allow`` list.
    _routes_search.add_routes(app.router, settings)
    _routes_articles.add_routes(app.router, settings)
    _routes_entities.add_routes(app.router)
    _routes_ops.add_routes(app.router)
    _docs.add_routes(app.router)
    app.openapi = _openapi(app, settings)  # type: ignore[method-assign]
    return app


def _lifespan(
    state: AppState, loader: Callable[[], Runtime] | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Load in the background at startup (if there is a loader); close what was loaded."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if loader is not None and state.runtime is None:
            threading.Thread(
                target=_load, args=(state, loader), name="semsearch-load", daemon=True
            ).start()
        yield
        if loader is not None and state.runtime is not None:
            state.runtime.close()

    return lifespan


def _load(state: AppState, loader: Callable[[], Runtime]) -> None:
    try:
        state.runtime = loader()
        log.info("semsearch: model and index loaded")
    except Exception as exc:  # reported by /readyz and 503s
        log.exception("semsearch: loading failed")
        state.load_error = str(exc) or type(exc).__name__


def _openapi(app: FastAPI, settings: ServiceSettings) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI builder: FastAPI's document plus the configured limits, cached."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_limits(_without_null_parameters(schema), settings)
        return app.openapi_schema

    return openapi


def _without_null_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop ``null`` from the schemas of query and path parameters.

    FastAPI writes an optional parameter (``str | None = None``) as ``anyOf: [string,
    null]``, but a URL cannot carry a JSON null: leaving the parameter out is how to send
    nothing. Without the ``null`` branch, a client (or schemathesis) sees the one type the
    server reads, e.g. that ``source=false`` is the one-item list ``["false"]``.
    """
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                target = parameter.get("schema", {})
                options = target.get("anyOf")
                if not options or {"type": "null"} not in options:
                    continue
                kept = [option for option in options if option != {"type": "null"}]
                del target["anyOf"]
                if len(kept) == 1:
                    target.update(kept[0])
                else:
                    target["anyOf"] = kept
    return schema
