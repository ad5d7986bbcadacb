"""One value per single-valued query parameter.

Starlette keeps every repeat of a query parameter and FastAPI validates only the last one
of a parameter that takes a single value, so ``?min_score=abc&min_score=0.5`` was answered
as if the first were not there. A parameter the API documents as one value (a number, a
mode, a flag) given twice is a malformed request: 422 ``invalid_request`` naming it.
Parameters that repeat by design (``source``, ``meta``, ``entity``, ``facets``...) are
lists in their routes' signatures and are left alone.

Private: :func:`service.app.create_app` installs :func:`single_values` on every route.
"""

from __future__ import annotations

import types
import typing

from fastapi import Request
from fastapi.routing import APIRoute

from semsearch.service._errors import ApiError

# By route identity (routes compare by value and cannot be hashed); each entry holds its
# route, so an id is never reused while it is here.
_SINGLE: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _single_valued(route: APIRoute) -> frozenset[str]:
    """Names of the route's query parameters that take one value."""
    known = _SINGLE.get(id(route))
    if known is None:
        known = _SINGLE[id(route)] = (route, _names(route))
    return known[1]


def _names(route: APIRoute) -> frozenset[str]:
    return frozenset(
        field.alias
        for field in route.dependant.query_params
        if not _repeats(field.field_info.annotation)
    )


def _repeats(annotation: object) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_repeats(arm) for arm in typing.get_args(annotation))
    return typing.get_origin(annotation) in (list, tuple, set, frozenset) or annotation in (
        list,
        tuple,
    )


async def single_values(request: Request) -> None:
    """Refuse a single-valued query parameter given more than once (422)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names = _single_valued(route)
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in names:
            if key in seen:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"query parameter {key!r} takes one value; it was given more than once",
                )
            seen.add(key)
