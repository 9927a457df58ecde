"""Tenant administration over GraphQL, for platform administrators only."""

from __future__ import annotations

import strawberry

from twinmesh.graphql.context import Info
from twinmesh.services.tenants import TenantInfo


@strawberry.type(name="Tenant", description="A tenant this server serves.")
class TenantType:
    id: str
    disabled: bool
    source: str = strawberry.field(description="settings (declared) or api (created here).")

    @classmethod
    def of(cls, info: TenantInfo) -> TenantType:
        return cls(id=info.id, disabled=info.disabled, source=info.source)


async def resolve_tenants(info: Info) -> list[TenantType]:
    return [TenantType.of(t) for t in await info.context.access.list_tenants()]


@strawberry.type
class TenantQueries:
    tenants: list[TenantType] = strawberry.field(
        resolver=resolve_tenants, description="Every tenant (platform administrators only)."
    )


@strawberry.type
class TenantMutations:
    @strawberry.mutation(description="Create a tenant (platform administrators only).")
    async def create_tenant(self, info: Info, id: str) -> TenantType:
        return TenantType.of(await info.context.access.create_tenant(id))

    @strawberry.mutation(description="Stop serving a tenant: its tokens get FORBIDDEN.")
    async def disable_tenant(self, info: Info, id: str) -> TenantType:
        return TenantType.of(await info.context.access.set_tenant_disabled(id, True))

    @strawberry.mutation(description="Serve a disabled tenant again.")
    async def enable_tenant(self, info: Info, id: str) -> TenantType:
        return TenantType.of(await info.context.access.set_tenant_disabled(id, False))
