"""Tenants: declared in settings, or created and disabled by a platform administrator.

A platform administrator is a caller of the platform tenant (``platform_tenant``) with the
``platform_admin_role``. A record in the store wins over the settings for the same tenant, so
a declared tenant can be disabled over the API too. Lookups are cached for a few seconds so the
store is not asked on every request; this process's own writes are seen at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from twinmesh.audit.records import AuditEvent
from twinmesh.auth import Principal
from twinmesh.domain import TenantId, TenantRecord, validate_tenant_id
from twinmesh.errors import Conflict, Forbidden, NotFound
from twinmesh.store.codec import now_utc
from twinmesh.store.port import GraphStore

CACHE_TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: str
    disabled: bool
    source: str  # "settings" or "api"


class TenantDirectory:
    """Which tenants this server serves, and their administration."""

    def __init__(
        self,
        store: GraphStore,
        declared: dict[str, bool],
        *,
        platform_tenant: str,
        platform_admin_role: str,
    ) -> None:
        self._store = store
        self._declared = dict(declared)  # tenant -> enabled
        self._platform_tenant = platform_tenant
        self._admin_role = platform_admin_role
        self._cache: dict[str, tuple[float, TenantRecord | None]] = {}

    async def _record(self, tenant: str) -> TenantRecord | None:
        cached = self._cache.get(tenant)
        if cached is not None and time.monotonic() - cached[0] < CACHE_TTL_S:
            return cached[1]
        record = await self._store.get_tenant(TenantId(tenant))
        self._cache[tenant] = (time.monotonic(), record)
        return record

    async def enabled(self, tenant: str) -> bool | None:
        """True when served, False when disabled, None when unknown to this server."""
        record = await self._record(tenant)
        if record is not None:
            return not record.disabled
        return self._declared.get(tenant)

    # -- platform administration -------------------------------------------------------------

    def require_admin(self, principal: Principal) -> None:
        if principal.tenant != self._platform_tenant or self._admin_role not in principal.roles:
            raise Forbidden("Only a platform administrator may manage tenants.")

    async def list(self, principal: Principal) -> list[TenantInfo]:
        self.require_admin(principal)
        records = {r.id: r for r in await self._store.list_tenants()}
        infos = [
            TenantInfo(r.id, r.disabled, "api" if r.id not in self._declared else "settings")
            for r in records.values()
        ]
        infos += [
            TenantInfo(t, not enabled, "settings")
            for t, enabled in self._declared.items()
            if t not in records
        ]
        return sorted(infos, key=lambda info: info.id)

    async def create(
        self, principal: Principal, tenant: str, *, audit: AuditEvent | None = None
    ) -> TenantInfo:
        self.require_admin(principal)
        tenant_id = validate_tenant_id(tenant)
        if tenant_id in self._declared or await self._store.get_tenant(tenant_id) is not None:
            raise Conflict(f"Tenant {tenant_id!r} already exists.")
        record = TenantRecord(tenant_id, disabled=False, created_at=now_utc())
        await self._store.save_tenant(record, audit=audit)
        self._cache[tenant_id] = (time.monotonic(), record)
        return TenantInfo(tenant_id, False, "api")

    async def set_disabled(
        self,
        principal: Principal,
        tenant: str,
        disabled: bool,
        *,
        audit: AuditEvent | None = None,
    ) -> TenantInfo:
        self.require_admin(principal)
        record = await self._store.get_tenant(TenantId(tenant))
        if record is None and tenant not in self._declared:
            raise NotFound(f"No tenant {tenant!r} exists.")
        created = record.created_at if record is not None else now_utc()
        updated = TenantRecord(tenant, disabled=disabled, created_at=created)
        await self._store.save_tenant(updated, audit=audit)
        self._cache[tenant] = (time.monotonic(), updated)
        return TenantInfo(tenant, disabled, "settings" if tenant in self._declared else "api")
