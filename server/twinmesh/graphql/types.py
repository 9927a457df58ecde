"""GraphQL object and input types; they mirror the domain and stay free of logic."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from twinmesh import domain
from twinmesh.errors import ValidationFailed
from twinmesh.graphql.context import Info
from twinmesh.ontology.describe import describe_contents
from twinmesh.services.models import ModelView


def json_object(value: Any, field: str) -> domain.JSONObject:
    """A JSON argument that must be an object (a property bag), or empty when omitted."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be a JSON object.", details={"field": field})
    return cast(domain.JSONObject, value)


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


@strawberry.type(description="A directed, named edge from a source twin to a target twin.")
class Relationship:
    id: strawberry.ID
    name: str
    target_ref: str = strawberry.field(
        description="The target twin's id, or twin://<org>/<tenant>/<id> for a partner's twin."
    )
    properties: JSON | None
    etag: str
    source_id: strawberry.Private[str]

    @strawberry.field(description="The twin the relationship starts from.")
    async def source(self, info: Info) -> Twin | None:
        found = await info.context.services.twins.get_twin(info.context.tenant, self.source_id)
        return Twin.of(found) if found else None

    @strawberry.field(description="The local target twin; null for a remote reference.")
    async def target(self, info: Info) -> Twin | None:
        if domain.is_remote_ref(self.target_ref):
            return None
        found = await info.context.services.twins.get_twin(info.context.tenant, self.target_ref)
        return Twin.of(found) if found else None

    @classmethod
    def of(cls, rel: domain.Relationship) -> Relationship:
        return cls(
            id=strawberry.ID(rel.id),
            name=rel.name,
            target_ref=rel.target,
            properties=cast(JSON, rel.properties),
            etag=rel.etag,
            source_id=rel.source_id,
        )


@strawberry.type(description="An uploaded DTDL interface of the tenant.")
class Model:
    id: str = strawberry.field(description="The interface's DTMI.")
    decommissioned: bool = strawberry.field(description="Decommissioned models take no new twins.")
    uploaded_at: datetime
    document: JSON = strawberry.field(description="The DTDL document as uploaded.")
    contents: JSON = strawberry.field(
        description="Own and inherited contents, resolved through extends."
    )
    display_name: JSON | None

    @classmethod
    def of(cls, view: ModelView) -> Model:
        return cls(
            id=view.stored.id,
            decommissioned=view.stored.decommissioned,
            uploaded_at=view.stored.uploaded_at,
            document=cast(JSON, view.stored.document),
            contents=cast(JSON, describe_contents(view.interface)),
            display_name=cast(JSON, view.interface.display_name or None),
        )


@strawberry.input
class CreateTwinInput:
    id: strawberry.ID
    model: str
    properties: JSON | None = None
    components: JSON | None = None


@strawberry.input
class CreateRelationshipInput:
    source_id: strawberry.ID
    name: str
    target_id: str = strawberry.field(
        description="A local twin id, or twin://<org>/<tenant>/<id> for a partner's twin."
    )
    id: strawberry.ID | None = None
    properties: JSON | None = None
