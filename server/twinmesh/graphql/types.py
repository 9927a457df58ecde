"""GraphQL object and input types; they mirror the domain and stay free of logic."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import strawberry
from strawberry.scalars import JSON

from twinmesh import domain
from twinmesh.errors import NotFound, ValidationFailed
from twinmesh.graphql.context import Info
from twinmesh.graphql.traversal import edge_cursor, fetch_on_demand
from twinmesh.ontology.describe import describe_contents
from twinmesh.services.models import ModelView
from twinmesh.store.plan import EdgePage, TwinRow

if TYPE_CHECKING:
    from twinmesh.graphql.federation import RemoteTwin


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
    metadata: JSON = strawberry.field(
        description='Per-property {"lastUpdateTime": ...}, shaped like the property document: '
        '{"<property>": {...}, "<component>": {"<property>": {...}}}.'
    )
    # Relationship pages loaded with the twin by the read plan, by response key.
    prefetched: strawberry.Private[dict[str, EdgePage] | None] = None

    @strawberry.field(description="Relationships from this twin, ordered by id.")
    async def relationships(
        self,
        info: Info,
        name: str | None = None,
        first: int | None = 50,
        after: str | None = None,
        target_model: str | None = None,
        exact_model: bool = False,
    ) -> RelationshipConnection:
        return await RelationshipConnection.of(self, info, "out")

    @strawberry.field(description="Relationships to this twin, ordered by source id and id.")
    async def incoming_relationships(
        self,
        info: Info,
        name: str | None = None,
        first: int | None = 50,
        after: str | None = None,
        source_model: str | None = None,
        exact_model: bool = False,
    ) -> RelationshipConnection:
        return await RelationshipConnection.of(self, info, "in")

    @classmethod
    def of_row(cls, row: TwinRow) -> Twin:
        twin = cls.of(row.twin)
        twin.prefetched = row.expansions
        return twin

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
            metadata=cast(JSON, twin.metadata),
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
    # Set when the relationship came with a read plan: no further fetch for either end.
    source_twin: strawberry.Private[Twin | None] = None
    target_twin: strawberry.Private[Twin | None] = None
    prefetched: strawberry.Private[bool] = False

    @strawberry.field(description="The twin the relationship starts from.")
    async def source(self, info: Info) -> Twin:
        if self.source_twin is not None:
            return self.source_twin
        found = await info.context.access.get_twin(self.source_id)
        if found is None:
            raise NotFound(f"No twin with id {self.source_id!r} exists.")
        return Twin.of(found)

    @strawberry.field(description="The local target twin; null for a remote reference.")
    async def target(self, info: Info) -> Twin | None:
        if self.prefetched or domain.is_remote_ref(self.target_ref):
            return self.target_twin
        found = await info.context.access.get_twin(self.target_ref)
        return Twin.of(found) if found else None

    @strawberry.field(
        description="The partner's twin a twin://<org>/<tenant>/<id> reference points to "
        "(null for a local target), fetched with a signed request; depth > 0 lets the partner "
        "follow its own remote references in turn."
    )
    async def remote_target(
        self, info: Info, depth: int = 0
    ) -> Annotated[RemoteTwin, strawberry.lazy("twinmesh.graphql.federation")] | None:
        from twinmesh.graphql.federation import resolve_remote_target

        return await resolve_remote_target(info, self.target_ref, depth)

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


@strawberry.input(
    name="JSONPatchOperation",
    description="One RFC 6902 operation; paths address the twin's property document, with "
    "each component as a nested object under its name (/thermostat/temperatureSetpoint).",
)
class JSONPatchOperation:
    op: str = strawberry.field(description="add, remove, replace, move, copy or test.")
    path: str = strawberry.field(description="An RFC 6901 JSON pointer.")
    value: JSON | None = strawberry.UNSET
    from_: str | None = strawberry.field(name="from", default=None)

    def as_dict(self) -> dict[str, Any]:
        """The RFC 6902 object; ``value`` only when given (``null`` is a value)."""
        operation: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.value is not strawberry.UNSET:
            operation["value"] = self.value
        if self.from_ is not None:
            operation["from"] = self.from_
        return operation


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class RelationshipEdge:
    cursor: str
    node: Relationship


@strawberry.type(description="A page of relationships (Relay connection).")
class RelationshipConnection:
    edges: list[RelationshipEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="All matching relationships, every page.")

    @classmethod
    async def of(
        cls, twin: Twin, info: Info, direction: Literal["out", "in"]
    ) -> RelationshipConnection:
        key = str(info.path.key)
        page = (twin.prefetched or {}).get(key)
        if page is None:
            page = await fetch_on_demand(info, str(twin.id), direction)
        edges = []
        for rel, neighbour in page.edges:
            node = Relationship.of(rel)
            node.prefetched = True
            other = Twin.of_row(neighbour) if neighbour is not None else None
            node.source_twin, node.target_twin = (
                (twin, other)
                if direction == "out"
                else (
                    other,
                    twin,
                )
            )
            cursor = edge_cursor(direction, rel.source_id, rel.id)
            edges.append(RelationshipEdge(cursor=cursor, node=node))
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total if page.total is not None else len(edges),
        )


@strawberry.type
class TwinEdge:
    cursor: str
    node: Twin


@strawberry.type(description="A page of twins (Relay connection).")
class TwinConnection:
    edges: list[TwinEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="All matching twins, every page.")
