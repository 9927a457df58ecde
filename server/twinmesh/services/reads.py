"""Twin reads: each GraphQL read arrives here as one plan and leaves as one store statement."""

from __future__ import annotations

from dataclasses import dataclass

from twinmesh.domain import TenantId, validate_identifier
from twinmesh.errors import ValidationFailed
from twinmesh.services.models import ModelRegistry
from twinmesh.store.plan import TwinListQuery, TwinLookup, TwinPage, TwinRow
from twinmesh.store.port import GraphStore


@dataclass(frozen=True, slots=True)
class TwinReads:
    """Read use cases; the tenant always comes from the caller's verified context."""

    store: GraphStore
    models: ModelRegistry

    async def lookup(self, tenant: TenantId, query: TwinLookup) -> TwinRow | None:
        """One twin and its selected relationships, or ``None`` (also for an invalid id)."""
        try:
            validate_identifier(query.id, what="twin")
        except ValidationFailed:
            return None
        return await self.store.lookup_twin(tenant, query)

    async def list(self, tenant: TenantId, query: TwinListQuery) -> TwinPage:
        return await self.store.list_twins(tenant, query)

    async def model_family(self, tenant: TenantId, model: str, *, exact: bool) -> tuple[str, ...]:
        """The model and, unless ``exact``, every uploaded model that extends it."""
        if exact:
            return (model,)
        interfaces = await self.models.interfaces(tenant)
        family = {i.id for i in interfaces.values() if model in i.ancestors}
        return (model, *sorted(family - {model}))
