"""The per-app request limits: checking them, and writing them into the OpenAPI document.

Private: the search routes check; :func:`service.app.create_app` documents.
"""

from __future__ import annotations

from typing import Any

from semsearch.service._errors import ApiError
from semsearch.service.config import ServiceSettings

# Passage ids are SQLite integers: larger numbers cannot name one (and overflow the driver).
MAX_ID = 2**63 - 1


def check_query(text: str, settings: ServiceSettings, name: str = "q") -> str:
    """Reject a blank query or one over the length limit.

    Args:
        text: The query.
        settings: The limits.
        name: The parameter's name, for the message.

    Returns:
        The query, unchanged.

    Raises:
        ApiError: 422 for a blank or too long query.
    """
    if not text.strip():
        raise ApiError(422, "invalid_request", f"{name} is empty")
    if len(text) > settings.max_query_chars:
        raise ApiError(422, "too_long", f"{name} is over {settings.max_query_chars} characters")
    return text


def check_page(k: int, offset: int, settings: ServiceSettings) -> None:
    """Reject a page size or start over the limits.

    Args:
        k: Results per page.
        offset: Results to skip.
        settings: The limits.

    Raises:
        ApiError: 422 when either is over its limit.
    """
    if k > settings.max_k:
        raise ApiError(422, "limit_exceeded", f"k is over the limit of {settings.max_k}")
    if offset > settings.max_offset:
        raise ApiError(422, "limit_exceeded", f"offset is over the limit of {settings.max_offset}")


def limit_note(settings: ServiceSettings) -> str:
    """The sentence that states the search limits in route descriptions.

    Args:
        settings: The limits.

    Returns:
        The sentence.
    """
    return (
        f"Limits: query up to {settings.max_query_chars} characters, k up to {settings.max_k}, "
        f"offset up to {settings.max_offset}."
    )


def document_limits(schema: dict[str, Any], settings: ServiceSettings) -> dict[str, Any]:
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
    title = schema["components"]["schemas"]["ArticleIn"]["properties"]["title"]
    for option in title.get("anyOf", [title]):
        if option.get("type") == "string":
            option["maxLength"] = settings.max_title_chars
    return schema
