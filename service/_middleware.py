"""Pure ASGI middlewares: the request body limit, request metrics, HEAD, security headers.

Private: :func:`service.app.create_app` adds them all.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from semsearch.service._errors import error_response
from semsearch.service._metrics import Metrics

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# No inline script anywhere (a stored value can then never run as script, whatever a
# page does with it); scripts, styles, data and images only from this server.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc set inline styles and ReDoc starts a blob: worker; still no inline
# script, and nothing from another origin.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


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
        too_large = error_response(413, "too_large", f"request body over {self.limit} bytes")
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


class HeadMiddleware:
    """``HEAD`` wherever ``GET`` works: the GET response's status and headers, no body.

    FastAPI routes list only the methods they are declared with, so without this a HEAD
    (monitoring probes, link checkers) got 405 from every page and API route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Any) -> None:
            if message["type"] == "http.response.body":
                # Content-Length stays that of the GET body, as RFC 9110 allows for HEAD.
                message = {**message, "body": b""}
            await send(message)

        inner = {**scope, "method": "GET"}  # a copy: the server still knows it is HEAD
        try:
            await self.app(inner, receive, send_headers_only)
        finally:
            if "route" in inner:  # for the metrics' route label
                scope["route"] = inner["route"]


class SecurityHeadersMiddleware:
    """Adds ``Content-Security-Policy`` and ``X-Content-Type-Options: nosniff`` to every
    response (the API docs get :data:`DOCS_CSP`, everything else :data:`PAGE_CSP`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope["path"] in DOCS_PATHS else PAGE_CSP
        extra = [
            (b"content-security-policy", policy.encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
        ]

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {extra_name for extra_name, _ in extra}
                headers = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
