"""Root mutation fields: thin resolvers over the services; the tenant comes from the context."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from twinmesh import domain
from twinmesh.graphql.context import Info
from twinmesh.graphql.types import (
    CreateRelationshipInput,
    CreateTwinInput,
    JSONPatchOperation,
    Model,
    Relationship,
    Twin,
    json_object,
)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Upload DTDL interfaces as one batch: all are stored, or none."
    )
    async def upload_models(self, info: Info, models: list[JSON]) -> list[Model]:
        views = await info.context.access.upload_models(models)
        return [Model.of(view) for view in views]

    @strawberry.mutation(description="Stop new twins of a model; existing twins stay.")
    async def decommission_model(self, info: Info, id: str) -> Model:
        return Model.of(await info.context.access.decommission_model(id))

    @strawberry.mutation(description="Delete a model that no twin uses; returns its DTMI.")
    async def delete_model(self, info: Info, id: str) -> str:
        await info.context.access.delete_model(id)
        return id

    @strawberry.mutation(description="Create a twin, validated against its model.")
    async def create_twin(self, info: Info, input: CreateTwinInput) -> Twin:
        twin = domain.NewTwin(
            id=str(input.id),
            model=input.model,
            properties=json_object(input.properties, "properties"),
            components=json_object(input.components, "components"),
        )
        return Twin.of(await info.context.access.create_twin(twin))

    @strawberry.mutation(description="Create a relationship declared by the source's model.")
    async def create_relationship(self, info: Info, input: CreateRelationshipInput) -> Relationship:
        rel = domain.NewRelationship(
            source_id=str(input.source_id),
            id=str(input.id) if input.id is not None else "",
            name=input.name,
            target=input.target_id,
            properties=json_object(input.properties, "properties"),
        )
        created = await info.context.access.create_relationship(rel)
        return Relationship.of(created)

    @strawberry.mutation(
        description="Apply a JSON Patch (RFC 6902) to the twin's property document, where a "
        "component is a nested object under its name. All operations apply, or none; pass "
        "ifMatch (the twin's etag) to update only that version."
    )
    async def update_twin(
        self,
        info: Info,
        id: strawberry.ID,
        patch: list[JSONPatchOperation],
        if_match: str | None = None,
    ) -> Twin:
        updated = await info.context.access.update_twin(
            str(id), [op.as_dict() for op in patch], if_match=if_match
        )
        return Twin.of(updated)

    @strawberry.mutation(
        description="Delete a twin; returns its id. Refused (CONFLICT) while relationships "
        "start or end at it, unless cascade is true, which deletes them with it."
    )
    async def delete_twin(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: str | None = None,
        cascade: bool | None = False,
    ) -> strawberry.ID:
        await info.context.access.delete_twin(str(id), if_match=if_match, cascade=bool(cascade))
        return id

    @strawberry.mutation(description="Delete one relationship of a source twin; returns its id.")
    async def delete_relationship(
        self,
        info: Info,
        source_id: strawberry.ID,
        id: strawberry.ID,
        if_match: str | None = None,
    ) -> strawberry.ID:
        await info.context.access.delete_relationship(str(source_id), str(id), if_match=if_match)
        return id

    @strawberry.mutation(
        description="Apply a JSON Patch (RFC 6902) to a relationship's properties, validated "
        "against the properties its declaration gives it."
    )
    async def update_relationship(
        self,
        info: Info,
        source_id: strawberry.ID,
        id: strawberry.ID,
        patch: list[JSONPatchOperation],
        if_match: str | None = None,
    ) -> Relationship:
        updated = await info.context.access.update_relationship(
            str(source_id),
            str(id),
            [op.as_dict() for op in patch],
            if_match=if_match,
        )
        return Relationship.of(updated)
