"""Checkpoints, exports, retention and key rotation of the audit log, on both stores
(SECURITY.md items 48, 51, 52 and 53)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from twinmesh.audit.formats import ExportItem, render
from twinmesh.audit.records import Actor, AuditEvent
from twinmesh.audit.verify import verify_export
from twinmesh.domain import TenantId
from twinmesh.identity import Keyring
from twinmesh.services.audit_log import AuditLog, TenantAuditSettings
from twinmesh.store.port import GraphStore

NOW = datetime.now(UTC)


def events(tenant: TenantId, count: int, *, at: datetime = NOW) -> list[AuditEvent]:
    made = []
    for i in range(count):
        event = AuditEvent(tenant, Actor("user", "alice"), "updateTwin", "Twin", f"t{i}")
        event.time = at
        made.append(event)
    return made


async def lines(items: AsyncIterator[ExportItem]) -> list[str]:
    collected = [item async for item in items]
    return b"".join(render(collected, "ndjson")).decode().splitlines()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate(now=NOW - timedelta(days=1))


async def test_periodic_checkpoints_chain_and_exports_verify(
    store: GraphStore, tenant: TenantId, keyring: Keyring
) -> None:
    log = AuditLog(store, keyring)
    assert await log.checkpoint(tenant) is None  # nothing to sign yet
    await store.append_audit(tenant, events(tenant, 3))
    first = await log.checkpoint(tenant)
    assert first is not None
    assert (first.from_seq, first.to_seq) == (1, 3)
    assert await log.checkpoint(tenant) is None  # nothing new since
    await store.append_audit(tenant, events(tenant, 2))
    second = await log.checkpoint(tenant)
    assert second is not None
    assert (second.from_seq, second.from_prev_hash) == (4, first.to_hash)

    exported = await lines(log.export(tenant))
    report = verify_export(exported, trusted_keys=Keyring.from_public_document(log.public_keys()))
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq, report.records) == (1, 5, 5)


async def test_a_kept_checkpoint_anchors_a_later_export(
    store: GraphStore, tenant: TenantId, keyring: Keyring
) -> None:
    """Item 48: an auditor keeps checkpoint m; a later export must be consistent with it
    (the verifier's own tests cover rewritten and truncated histories)."""
    log = AuditLog(store, keyring)
    await store.append_audit(tenant, events(tenant, 4))
    kept = await log.checkpoint(tenant)
    assert kept is not None
    await store.append_audit(tenant, events(tenant, 2))
    exported = await lines(log.export(tenant))
    assert verify_export(exported, anchors=[kept]).ok
    # Without record 4 the export contradicts the kept checkpoint.
    without = [line for line in exported if '"seq":4,' not in line]
    report = verify_export(without, anchors=[kept])
    assert not report.ok
    assert report.first_bad_seq == 4


async def test_exports_select_time_ranges_without_gaps(
    store: GraphStore, tenant: TenantId, keyring: Keyring
) -> None:
    """Item 52: the clock stepped back an hour mid-run; sequence numbers decide the order."""
    base = datetime(2026, 3, 1, tzinfo=UTC)
    await store.append_audit(tenant, events(tenant, 2, at=base))
    await store.append_audit(tenant, events(tenant, 2, at=base + timedelta(hours=2)))
    await store.append_audit(tenant, events(tenant, 2, at=base + timedelta(hours=1)))
    log = AuditLog(store, keyring)
    exported = await lines(log.export(tenant, since=base + timedelta(minutes=90)))
    report = verify_export(exported)
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq) == (3, 6)


async def test_retention_keeps_the_rest_verifiable(
    store: GraphStore, tenant: TenantId, keyring: Keyring
) -> None:
    old = NOW - timedelta(days=40)
    await store.append_audit(tenant, events(tenant, 5, at=old))
    await store.append_audit(tenant, events(tenant, 3))
    log = AuditLog(store, keyring, {tenant: TenantAuditSettings(retention_days=30)})
    await log.maintain([tenant])
    head, _ = await store.audit_head(tenant)
    remaining = await store.read_audit(tenant, after_seq=0, through_seq=head, limit=100)
    assert [r.seq for r in remaining] == [6, 7, 8]
    report = verify_export(await lines(log.export(tenant)))
    assert report.ok, report.problem
    assert (report.first_seq, report.records) == (6, 3)


async def test_checkpoints_signed_before_a_rotation_still_verify(
    store: GraphStore, tenant: TenantId, keyring: Keyring
) -> None:
    """Item 53: rotate the organisation key; an old and a new export both verify."""
    log = AuditLog(store, keyring)
    await store.append_audit(tenant, events(tenant, 3))
    await log.checkpoint(tenant)  # a periodic checkpoint, signed with the old key
    old_export = await lines(log.export(tenant))
    log.keyring = keyring.rotated()  # the old key stays valid for the overlap, then expires
    await store.append_audit(tenant, events(tenant, 3))
    new_export = await lines(log.export(tenant))
    trusted = Keyring.from_public_document(log.public_keys())
    for exported in (old_export, new_export):
        report = verify_export(exported, trusted_keys=trusted)
        assert report.ok, report.problem
    assert len(verify_export(new_export).key_ids) == 2  # old checkpoints, new signature


async def test_an_export_holds_only_its_tenant(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId, keyring: Keyring
) -> None:
    await store.append_audit(tenant, events(tenant, 2))
    await store.append_audit(other_tenant, events(other_tenant, 3))
    exported = await lines(AuditLog(store, keyring).export(tenant))
    assert other_tenant not in "\n".join(exported)
    assert verify_export(exported).records == 2
