"""The entity routes: ``GET /entities`` (most named) and ``GET /entities/{type}/{name}``.

Private: :func:`service.app.create_app` calls :func:`add_routes`. The handlers have no
docstrings because FastAPI would publish them as OpenAPI descriptions. The search page
shows an entity at ``/?entity_page=TYPE:NAME`` from the JSON of the second route.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from semsearch.index import Collection
from semsearch.index.sharded import ShardedCollection
from semsearch.service import api_models as m
from semsearch.service._errors import ERRORS, ApiError
from semsearch.service._state import AppState, StateDep

# Most entities ``GET /entities`` lists at once.
MAX_TOP = 500


def add_routes(api: APIRouter) -> None:
    """Add the entity routes.

    Args:
        api: The app's router.
    """
    read = partial(api.add_api_route, methods=["GET"], responses=ERRORS, tags=["entities"])
    read(
        "/entities",
        top_entities,
        response_model=list[m.EntityRefModel],
        summary="The people, places and organisations most articles name",
    )
    read(
        "/entities/{entity_type}/{name}",
        get_entity,
        response_model=m.EntityPageModel,
        summary="One entity: articles naming it, per month, named with it, latest",
        description="`name` as printed, in either script (it is folded as stored). "
        "`months` counts the articles naming it per month; `cooccurring` lists the entities "
        "named in most of those articles; `latest` the newest of them. 404 when no article "
        "names it.",
    )


async def top_entities(
    state: StateDep,
    entity_type: Annotated[
        m.EntityType | None, Query(alias="type", description="Only this type.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TOP, description="How many.")] = 20,
) -> list[m.EntityRefModel]:
    found = await run_in_threadpool(_entity_reader(state).top_entities, entity_type, limit)
    return [m.EntityRefModel(**e.as_json()) for e in found]


async def get_entity(
    state: StateDep,
    entity_type: Annotated[m.EntityType, PathParam(description="person, place or org.")],
    name: Annotated[m.EntityName, PathParam(description="The name as printed.", examples=["何雄"])],
) -> m.EntityPageModel:
    page = await run_in_threadpool(_entity_reader(state).entity, entity_type, name)
    if page is None:
        raise ApiError(404, "not_found", f"no article names {entity_type} {name[:100]!r}")
    return m.EntityPageModel(**page.as_json())


def _entity_reader(state: AppState) -> Collection | ShardedCollection:
    collection = state.require().collection
    if not isinstance(collection, Collection | ShardedCollection):
        raise ApiError(501, "not_implemented", "this collection serves no entity pages")
    return collection
