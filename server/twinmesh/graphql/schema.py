"""The strawberry schema: types mirror the domain; resolvers delegate to services."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from twinmesh import domain
from twinmesh.graphql.context import Info
from twinmesh.graphql.errors import ErrorCodes


@strawberry.type(description="A digital twin: an instance of a model in the tenant's graph.")
class Twin:
    id: strawberry.ID
    model: str = strawberry.field(description="The DTMI of the twin's model.")
    properties: JSON
    components: JSON | None
    etag: str = strawberry.field(description="Pass as ifMatch to update only this version.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, twin: domain.Twin) -> Twin:
        return cls(
            id=strawberry.ID(twin.id),
            model=twin.model,
            properties=cast(JSON, twin.properties),
            components=cast(JSON, twin.components),
            etag=twin.etag,
            created_at=twin.created_at,
            updated_at=twin.updated_at,
        )


async def resolve_twin(info: Info, id: strawberry.ID) -> Twin | None:
    context = info.context
    found = await context.services.twins.get_twin(context.tenant, str(id))
    return Twin.of(found) if found else None


@strawberry.type
class Query:
    twin: Twin | None = strawberry.field(
        resolver=resolve_twin, description="The twin with this id in your tenant, or null."
    )


schema = strawberry.Schema(query=Query, extensions=[ErrorCodes])
