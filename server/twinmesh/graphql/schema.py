"""The strawberry schema: root fields delegate to services; the tenant comes from the context."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from twinmesh import domain
from twinmesh.graphql.context import Info
from twinmesh.graphql.errors import ErrorCodes
from twinmesh.graphql.types import (
    CreateRelationshipInput,
    CreateTwinInput,
    Model,
    Relationship,
    Twin,
    json_object,
)


async def resolve_twin(info: Info, id: strawberry.ID) -> Twin | None:
    context = info.context
    found = await context.services.twins.get_twin(context.tenant, str(id))
    return Twin.of(found) if found else None


async def resolve_models(info: Info) -> list[Model]:
    views = await info.context.services.models.list(info.context.tenant)
    return [Model.of(view) for view in views]


async def resolve_model(info: Info, id: str) -> Model | None:
    view = await info.context.services.models.get(info.context.tenant, id)
    return Model.of(view) if view else None


@strawberry.type
class Query:
    twin: Twin | None = strawberry.field(
        resolver=resolve_twin, description="The twin with this id in your tenant, or null."
    )
    models: list[Model] = strawberry.field(
        resolver=resolve_models, description="Every model uploaded to your tenant."
    )
    model: Model | None = strawberry.field(
        resolver=resolve_model, description="One uploaded model by DTMI, or null."
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Upload DTDL interfaces as one batch: all are stored, or none."
    )
    async def upload_models(self, info: Info, models: list[JSON]) -> list[Model]:
        views = await info.context.services.models.upload(info.context.tenant, models)
        return [Model.of(view) for view in views]

    @strawberry.mutation(description="Stop new twins of a model; existing twins stay.")
    async def decommission_model(self, info: Info, id: str) -> Model:
        return Model.of(await info.context.services.models.decommission(info.context.tenant, id))

    @strawberry.mutation(description="Delete a model that no twin uses; returns its DTMI.")
    async def delete_model(self, info: Info, id: str) -> str:
        await info.context.services.models.delete(info.context.tenant, id)
        return id

    @strawberry.mutation(description="Create a twin, validated against its model.")
    async def create_twin(self, info: Info, input: CreateTwinInput) -> Twin:
        twin = domain.NewTwin(
            id=str(input.id),
            model=input.model,
            properties=json_object(input.properties, "properties"),
            components=json_object(input.components, "components"),
        )
        return Twin.of(await info.context.services.twins.create_twin(info.context.tenant, twin))

    @strawberry.mutation(description="Create a relationship declared by the source's model.")
    async def create_relationship(self, info: Info, input: CreateRelationshipInput) -> Relationship:
        rel = domain.NewRelationship(
            source_id=str(input.source_id),
            id=str(input.id) if input.id is not None else "",
            name=input.name,
            target=input.target_id,
            properties=json_object(input.properties, "properties"),
        )
        created = await info.context.services.twins.create_relationship(info.context.tenant, rel)
        return Relationship.of(created)


schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[ErrorCodes])
