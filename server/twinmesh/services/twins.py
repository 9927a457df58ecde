"""Reading and writing twins and relationships on behalf of a tenant, validated by its models."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from twinmesh.domain import (
    NewRelationship,
    NewTwin,
    Relationship,
    TenantId,
    Twin,
    is_remote_ref,
    validate_identifier,
)
from twinmesh.errors import NotFound, ValidationFailed
from twinmesh.ontology import Interface, Violation, check_relationship, check_twin
from twinmesh.services.models import ModelRegistry
from twinmesh.store.port import GraphStore


def _reject(violations: Sequence[Violation], what: str) -> None:
    if violations:
        first = violations[0]
        raise ValidationFailed(
            f"The {what} does not match its model: {first.message}"
            + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
            details={
                "violations": [
                    {"path": v.path, "code": v.code, "message": v.message} for v in violations
                ]
            },
        )


@dataclass(frozen=True, slots=True)
class TwinService:
    """Twin use cases; the tenant always comes from the caller's verified context."""

    store: GraphStore
    models: ModelRegistry

    async def get_twin(self, tenant: TenantId, twin_id: str) -> Twin | None:
        """The twin, or ``None`` when the tenant has none with that id (or the id is invalid)."""
        try:
            validate_identifier(twin_id, what="twin")
        except ValidationFailed:
            return None
        return await self.store.get_twin(tenant, twin_id)

    async def _interface_of(self, tenant: TenantId, twin: Twin) -> Interface:
        interface = await self.models.interface(tenant, twin.model)
        if interface is None:  # the model was deleted under the twin: refuse to guess
            raise ValidationFailed(
                f"Twin {twin.id!r} uses model {twin.model!r}, which is no longer uploaded."
            )
        return interface

    async def create_twin(self, tenant: TenantId, twin: NewTwin) -> Twin:
        """Validate against the (active) model, then store."""
        validate_identifier(twin.id, what="twin")
        interface = await self.models.require_active(tenant, twin.model)
        resolved = await self.models.interfaces(tenant)
        _reject(
            check_twin(interface, twin.properties, twin.components, resolve=resolved.get),
            "twin",
        )
        return await self.store.create_twin(tenant, twin)

    async def create_relationship(self, tenant: TenantId, rel: NewRelationship) -> Relationship:
        """Validate name, target model, multiplicity and properties, then store."""
        rel_id = rel.id or uuid.uuid4().hex
        validate_identifier(rel_id, what="relationship")
        source = await self.store.get_twin(tenant, rel.source_id)
        if source is None:
            raise NotFound(f"No source twin with id {rel.source_id!r} exists.")
        target_interface: Interface | None = None
        remote = is_remote_ref(rel.target)
        if not remote:
            target = await self.store.get_twin(tenant, rel.target)
            if target is None:
                raise NotFound(f"No target twin with id {rel.target!r} exists.")
            target_interface = await self._interface_of(tenant, target)
        existing = await self.store.list_relationships(tenant, rel.source_id, name=rel.name)
        _reject(
            check_relationship(
                await self._interface_of(tenant, source),
                rel.name,
                target=target_interface,
                target_is_remote=remote,
                properties=rel.properties,
                existing_count=len(existing),
            ),
            "relationship",
        )
        return await self.store.create_relationship(
            tenant,
            NewRelationship(
                source_id=rel.source_id,
                id=rel_id,
                name=rel.name,
                target=rel.target,
                properties=rel.properties,
            ),
        )
