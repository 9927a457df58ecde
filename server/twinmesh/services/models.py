"""A tenant's model registry: upload (atomic, validated), list, decommission, delete.

Models are immutable once uploaded, so each process caches a tenant's resolved interfaces and
only reloads when it meets a DTMI it has not seen (another replica may have uploaded it) or
after its own writes. The decommissioned flag is always read from the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from twinmesh.audit.records import AuditEvent
from twinmesh.domain import NewModel, StoredModel, TenantId
from twinmesh.errors import ModelInUse, ModelNotFound, ValidationFailed
from twinmesh.ontology import Interface, SourceDocument, parse_model_set
from twinmesh.store.port import GraphStore

MAX_MODELS_PER_UPLOAD = 1000


@dataclass(frozen=True, slots=True)
class ModelView:
    """An uploaded model with its resolved interface."""

    stored: StoredModel
    interface: Interface


class ModelRegistry:
    """Validated, per-tenant DTDL models over the store."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._cache: dict[TenantId, dict[str, Interface]] = {}
        self._locks: dict[TenantId, asyncio.Lock] = {}

    # -- resolved interfaces ---------------------------------------------------------------

    async def _reload(self, tenant: TenantId) -> dict[str, Interface]:
        stored = await self._store.list_models(tenant)
        result = parse_model_set([SourceDocument(m.id, m.document) for m in stored])
        self._cache[tenant] = result.interfaces
        return result.interfaces

    async def interfaces(self, tenant: TenantId) -> dict[str, Interface]:
        """Every resolved interface of the tenant (cached)."""
        cached = self._cache.get(tenant)
        if cached is not None:
            return cached
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            return self._cache.get(tenant) or await self._reload(tenant)

    async def interface(self, tenant: TenantId, model_id: str) -> Interface | None:
        """One resolved interface, reloading once if this process has not seen it yet."""
        found = (await self.interfaces(tenant)).get(model_id)
        if found is None:
            async with self._locks.setdefault(tenant, asyncio.Lock()):
                found = (await self._reload(tenant)).get(model_id)
        return found

    # -- use cases -------------------------------------------------------------------------

    async def upload(
        self, tenant: TenantId, documents: Sequence[Any], *, audit: AuditEvent | None = None
    ) -> list[ModelView]:
        """Validate a batch against itself and the tenant's models, then store it atomically."""
        if not documents:
            raise ValidationFailed("Upload at least one model.")
        if len(documents) > MAX_MODELS_PER_UPLOAD:
            raise ValidationFailed(
                f"Upload at most {MAX_MODELS_PER_UPLOAD} models per request; split the batch."
            )
        known = await self.interfaces(tenant)
        sources = [SourceDocument(f"models[{i}]", doc) for i, doc in enumerate(documents)]
        result = parse_model_set(sources, known=known)
        if not result.valid or not result.complete:
            raise ValidationFailed(
                "The models are not valid DTDL; fix the listed errors and upload the batch again."
                if not result.valid
                else "The models reference DTMIs that are neither in the batch nor uploaded; "
                "add them to the batch.",
                details={
                    "errors": [e.as_dict() for e in result.errors],
                    "unresolved": result.unresolved,
                },
            )
        new = [
            NewModel(id=dtmi, document=result.documents[dtmi])  # type: ignore[arg-type]
            for dtmi in result.interfaces
            if dtmi in result.documents
        ]
        if not new:
            raise ValidationFailed("The batch holds no top-level Interface to upload.")
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            stored = await self._store.add_models(tenant, new, audit=audit)
            self._cache.pop(tenant, None)
        return [ModelView(s, result.interfaces[s.id]) for s in stored]

    async def list(self, tenant: TenantId) -> list[ModelView]:
        stored = await self._store.list_models(tenant)
        interfaces = await self.interfaces(tenant)
        if any(m.id not in interfaces for m in stored):
            interfaces = await self._reload(tenant)
        return [ModelView(m, interfaces[m.id]) for m in stored if m.id in interfaces]

    async def get(self, tenant: TenantId, model_id: str) -> ModelView | None:
        stored = await self._store.get_model(tenant, model_id)
        if stored is None:
            return None
        interface = await self.interface(tenant, model_id)
        return None if interface is None else ModelView(stored, interface)

    async def require_active(self, tenant: TenantId, model_id: str) -> Interface:
        """The interface for a new twin: uploaded and not decommissioned."""
        view = await self.get(tenant, model_id)
        if view is None:
            raise ModelNotFound(
                f"Model {model_id!r} is not uploaded in this tenant; upload it first.",
                details={"model": model_id[:200]},
            )
        if view.stored.decommissioned:
            raise ValidationFailed(
                f"Model {model_id!r} is decommissioned; new twins must use another model.",
                details={"model": model_id},
            )
        return view.interface

    async def decommission(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> ModelView:
        stored = await self._store.decommission_model(tenant, model_id, audit=audit)
        interface = await self.interface(tenant, model_id)
        assert interface is not None
        return ModelView(stored, interface)

    async def delete(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> None:
        """Delete a model that no twin uses and no other model references."""
        interfaces = await self.interfaces(tenant)
        dependants = sorted(
            other.id
            for other in interfaces.values()
            if other.id != model_id and _references(other, model_id)
        )
        if dependants:
            raise ModelInUse(
                f"Model {model_id!r} is referenced by other models; delete those first.",
                details={"referencedBy": dependants},
            )
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            await self._store.delete_model(tenant, model_id, audit=audit)
            self._cache.pop(tenant, None)


def _references(interface: Interface, model_id: str) -> bool:
    return (
        model_id in interface.ancestors
        or any(c.schema == model_id for c in interface.components.values())
        or any(r.target == model_id for r in interface.relationships.values())
    )
