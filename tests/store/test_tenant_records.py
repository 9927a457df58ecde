"""Platform tenant records: the same behaviour on ``embedded`` and ``neo4j``."""

from __future__ import annotations

from datetime import UTC, datetime

from twinmesh.domain import TenantId, TenantRecord
from twinmesh.store.port import GraphStore

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_saved_records_read_back_and_update(store: GraphStore, tenant: TenantId) -> None:
    assert await store.get_tenant(tenant) is None
    await store.save_tenant(TenantRecord(tenant, disabled=False, created_at=WHEN))
    assert await store.get_tenant(tenant) == TenantRecord(tenant, False, WHEN)

    later = datetime(2027, 1, 1, tzinfo=UTC)
    await store.save_tenant(TenantRecord(tenant, disabled=True, created_at=later))
    # Disabling keeps the creation time.
    assert await store.get_tenant(tenant) == TenantRecord(tenant, True, WHEN)


async def test_listing_holds_every_record_in_order(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    for t in (tenant, other_tenant):
        await store.save_tenant(TenantRecord(t, disabled=False, created_at=WHEN))
    listed = [r.id for r in await store.list_tenants()]
    assert [t for t in listed if t in (tenant, other_tenant)] == sorted([tenant, other_tenant])
