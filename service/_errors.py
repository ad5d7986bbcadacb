"""Error responses: the ``{"error": {"code", "message"}}`` body and every exception handler.

Private: :func:`service.app.create_app` installs the handlers; routes raise :class:`ApiError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from semsearch.embedder.errors import InputError, SemsearchError
from semsearch.index import CollectionLockedError
from semsearch.index.sharded import ShardUnavailableError
from semsearch.service import api_models as m

log = logging.getLogger("semsearch.service")

# The error responses every route documents in OpenAPI; writes add the key checks.
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


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON error body every failure answers with.

    Args:
        status: HTTP status code.
        code: Stable, machine-readable error code.
        message: Human-readable explanation.
        headers: Extra response headers (``Allow``, ``Retry-After``, ...).

    Returns:
        The response.
    """
    # A message may quote request text; a lone surrogate in it could not be encoded as JSON.
    safe = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse(
        {"error": {"code": code, "message": safe}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every exception the app can raise with a JSON error body.

    Args:
        app: The app to install the handlers on.
    """
    for exc_type, handler in _HANDLERS:
        app.add_exception_handler(exc_type, handler)


async def _on_api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 400:  # an unparseable body: as malformed as any other
        return error_response(422, "invalid_request", message)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette lists only the first matching route's methods; list every route's.
        headers["Allow"] = ", ".join(sorted(_allowed_methods(request.app, request.scope)))
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(
        exc.status_code, codes.get(exc.status_code, "http_error"), message, headers
    )


async def _on_locked(_: Request, exc: CollectionLockedError) -> JSONResponse:
    return error_response(503, "busy", str(exc), {"Retry-After": "5"})


async def _on_shard_down(_: Request, exc: ShardUnavailableError) -> JSONResponse:
    return error_response(503, "shard_unavailable", str(exc), {"Retry-After": "5"})


async def _on_input(_: Request, exc: InputError) -> JSONResponse:
    return error_response(422, "invalid_input", str(exc))


async def _on_semsearch(_: Request, exc: SemsearchError) -> JSONResponse:
    log.error("semsearch error: %s", exc)
    return error_response(500, "internal", str(exc))


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error")
    return error_response(500, "internal", "internal error; see the server log")


def _allowed_methods(app: FastAPI, scope: MutableMapping[str, Any]) -> set[str]:
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")  # HeadMiddleware answers HEAD wherever GET works
    return methods or {"GET", "HEAD"}


_HANDLERS: tuple[tuple[type[Exception], Callable[[Request, Any], Awaitable[JSONResponse]]], ...] = (
    (ApiError, _on_api_error),
    (RequestValidationError, _on_validation),
    (StarletteHTTPException, _on_http),
    (CollectionLockedError, _on_locked),
    (ShardUnavailableError, _on_shard_down),
    (InputError, _on_input),
    (SemsearchError, _on_semsearch),
    (Exception, _on_unexpected),
)
