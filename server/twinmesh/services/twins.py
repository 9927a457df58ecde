"""Reading and writing twins on behalf of a tenant."""

from __future__ import annotations

from dataclasses import dataclass

from twinmesh.domain import NewTwin, TenantId, Twin, validate_identifier
from twinmesh.errors import ValidationFailed
from twinmesh.store.port import GraphStore


@dataclass(frozen=True, slots=True)
class TwinService:
    """Twin use cases; the tenant always comes from the caller's verified context."""

    store: GraphStore

    async def get_twin(self, tenant: TenantId, twin_id: str) -> Twin | None:
        """The twin, or ``None`` when the tenant has none with that id (or the id is invalid)."""
        try:
            validate_identifier(twin_id, what="twin")
        except ValidationFailed:
            return None
        return await self.store.get_twin(tenant, twin_id)

    async def create_twin(self, tenant: TenantId, twin: NewTwin) -> Twin:
        validate_identifier(twin.id, what="twin")
        return await self.store.create_twin(tenant, twin)
