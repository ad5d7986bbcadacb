"""The API docs pages, ``/docs`` (Swagger UI) and ``/redoc``, served without a CDN.

Private: :func:`service.app.create_app` calls :func:`add_routes`. FastAPI's own pages load
Swagger UI and ReDoc from a CDN (blank on an intranet) through an inline script (blocked
by the page's Content-Security-Policy); these load the copies the ``fastapi-offline``
package ships, started by a script file. The handlers have no docstrings because FastAPI
would publish them as OpenAPI descriptions.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs-assets"


def add_routes(api: APIRouter) -> None:
    """Add ``/docs``, ``/redoc`` and their assets (none of them in OpenAPI).

    Args:
        api: The app's router.
    """
    api.add_api_route("/docs", swagger_page, methods=["GET"], include_in_schema=False)
    api.add_api_route("/redoc", redoc_page, methods=["GET"], include_in_schema=False)
    api.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")


async def swagger_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "docs.html", media_type="text/html; charset=utf-8")


async def redoc_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "redoc.html", media_type="text/html; charset=utf-8")
