"""The API key that guards writes.

Private: the write routes depend on :func:`require_key`.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from semsearch.service._errors import ApiError
from semsearch.service._state import StateDep

API_KEY_HEADER = "X-API-Key"
# Declares the key in OpenAPI; ``Authorization: Bearer`` is accepted too (see require_key).
API_KEY_SCHEME = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def require_key(
    request: Request, key: Annotated[str | None, Depends(API_KEY_SCHEME)], state: StateDep
) -> None:
    """Let a request through only with the configured API key.

    Args:
        request: The request (for an ``Authorization: Bearer`` token).
        key: The ``X-API-Key`` header, if given.
        state: The app's state (for the settings).

    Raises:
        ApiError: 403 when writes are disabled, 401 for a missing or wrong key.
    """
    settings = state.settings
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
