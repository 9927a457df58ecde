"""The GraphStore port: what the core needs from a twin graph database.

Every method takes the tenant first; adapters apply it in one place so no call can reach
another tenant's data. Writes that carry ``if_match`` raise :class:`~twinmesh.errors.Conflict`
on a stale etag and change nothing. Adapters translate their driver's failures into
:class:`~twinmesh.errors.StoreUnavailable` and never let query text reach an error message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeAlias

from twinmesh.domain import (
    JSONObject,
    NewModel,
    NewRelationship,
    NewTwin,
    Relationship,
    StoredModel,
    TenantId,
    Twin,
)

# Called with (statement text, parameters) before each statement an adapter sends; used to
# count round trips and to prove request data only ever travels as parameters.
StatementObserver: TypeAlias = Callable[[str, Mapping[str, Any]], None]


class GraphStore(Protocol):
    """Async, tenant-scoped storage of twins and relationships."""

    async def open(self) -> None:
        """Connect and set up the schema (idempotent)."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers a trivial query."""

    async def create_twin(self, tenant: TenantId, twin: NewTwin) -> Twin:
        """Store a new twin; ``Conflict`` if the id is taken in this tenant."""

    async def get_twin(self, tenant: TenantId, twin_id: str) -> Twin | None:
        """The twin, or ``None`` if this tenant has no twin with that id."""

    async def replace_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        *,
        properties: JSONObject,
        components: JSONObject,
        if_match: str | None = None,
    ) -> Twin:
        """Replace a twin's property and component documents; new etag and ``updated_at``."""

    async def delete_twin(
        self, tenant: TenantId, twin_id: str, *, if_match: str | None = None
    ) -> None:
        """Delete a twin with its outgoing and incoming relationships."""

    async def create_relationship(self, tenant: TenantId, rel: NewRelationship) -> Relationship:
        """Store a relationship; the source (and a local target) must exist."""

    async def list_relationships(
        self, tenant: TenantId, source_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        """Outgoing relationships of a twin, ordered by id."""

    async def list_incoming_relationships(
        self, tenant: TenantId, target_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        """Relationships whose target is the twin, ordered by (source id, id)."""

    async def delete_relationship(
        self, tenant: TenantId, source_id: str, rel_id: str, *, if_match: str | None = None
    ) -> None:
        """Delete one relationship of a source twin."""

    async def add_models(self, tenant: TenantId, models: Sequence[NewModel]) -> list[StoredModel]:
        """Store a batch of models atomically; ``Conflict`` (naming the ids) if any exists."""

    async def list_models(self, tenant: TenantId) -> list[StoredModel]:
        """Every model of the tenant, ordered by id."""

    async def get_model(self, tenant: TenantId, model_id: str) -> StoredModel | None:
        """One model, or ``None``."""

    async def decommission_model(self, tenant: TenantId, model_id: str) -> StoredModel:
        """Mark a model decommissioned (idempotent); ``NotFound`` if absent."""

    async def delete_model(self, tenant: TenantId, model_id: str) -> None:
        """Delete a model; ``ModelInUse`` while a twin of the tenant uses it."""
