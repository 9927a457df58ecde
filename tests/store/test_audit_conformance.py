"""The audit chain, checkpoints and policy versions: the same behaviour on both stores.

Invariant 2 of DESIGN.md: a change and its audit record commit in one transaction. These
tests check it at the port: a write that fails leaves neither change nor record, concurrent
writers of one tenant produce one unbroken chain, and chains never mix tenants.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from twinmesh.audit.checkpoints import Checkpoint, checkpoint_problem, sign_checkpoint
from twinmesh.audit.records import GENESIS, Actor, AuditEvent, SealedRecord, recompute_hash
from twinmesh.domain import NewModel, NewTwin, PartnerRecord, TenantId
from twinmesh.errors import Conflict, NotFound
from twinmesh.identity import Keyring
from twinmesh.store.port import GraphStore

ALICE = Actor("user", "alice", ("admin",))
MODEL = "dtmi:test:audit:Thing;1"


def event(tenant: TenantId, action: str = "updateTwin", resource: str = "x") -> AuditEvent:
    return AuditEvent(
        tenant=tenant,
        actor=ALICE,
        action=action,
        resource_type="Twin",
        resource_id=resource,
        policies=("admin-all",),
        request_id="req-1",
    )


async def chain(store: GraphStore, tenant: TenantId) -> list[SealedRecord]:
    head, _ = await store.audit_head(tenant)
    return await store.read_audit(tenant, after_seq=0, through_seq=head, limit=10_000)


def assert_linked(records: list[SealedRecord], *, first_prev: str = GENESIS) -> None:
    prev = first_prev
    for expected_seq, record in enumerate(records, start=records[0].seq if records else 1):
        document = orjson.loads(record.text)
        assert record.seq == document["seq"] == expected_seq
        assert document["prevHash"] == prev
        assert recompute_hash(document) == document["hash"] == record.hash
        prev = record.hash


async def test_appended_events_form_a_chain(store: GraphStore, tenant: TenantId) -> None:
    assert await store.audit_head(tenant) == (0, GENESIS)
    first = await store.append_audit(tenant, [event(tenant), event(tenant, resource="y")])
    second = await store.append_audit(tenant, [event(tenant, resource="z")])
    records = await chain(store, tenant)
    assert [r.seq for r in records] == [1, 2, 3]
    assert records == [*first, *second]
    assert_linked(records)
    assert await store.audit_head(tenant) == (3, records[-1].hash)
    document = orjson.loads(records[0].text)
    assert document["principal"] == {
        "type": "user",
        "id": "alice",
        "roles": ["admin"],
        "clientId": None,
    }
    assert document["decision"] == {"effect": "allow", "policies": ["admin-all"]}


async def test_a_change_and_its_record_commit_together(store: GraphStore, tenant: TenantId) -> None:
    await store.add_models(tenant, [NewModel(MODEL, {"@id": MODEL})], audit=event(tenant))
    await store.create_twin(tenant, NewTwin("t1", MODEL, {}), audit=event(tenant, "createTwin"))
    with pytest.raises(Conflict):  # the twin exists: no change, so no record either
        await store.create_twin(tenant, NewTwin("t1", MODEL, {}), audit=event(tenant))
    with pytest.raises(NotFound):
        await store.delete_twin(TenantId(tenant), "missing", audit=event(tenant, "deleteTwin"))
    await store.delete_twin(tenant, "t1", audit=event(tenant, "deleteTwin", "t1"))
    records = await chain(store, tenant)
    assert [orjson.loads(r.text)["action"] for r in records] == [
        "updateTwin",
        "createTwin",
        "deleteTwin",
    ]
    assert_linked(records)


async def test_a_failing_record_rolls_the_change_back(store: GraphStore, tenant: TenantId) -> None:
    # A record RFC 8785 cannot canonicalise (an integer beyond 2**53) cannot be written:
    # the change it came with must not land either.
    unwritable = event(tenant)
    unwritable.details["n"] = 2**60
    with pytest.raises(ValueError, match="2"):
        await store.add_models(tenant, [NewModel(MODEL, {"@id": MODEL})], audit=unwritable)
    assert await store.get_model(tenant, MODEL) is None
    assert await chain(store, tenant) == []


async def test_concurrent_writers_keep_one_unbroken_chain(
    store: GraphStore, tenant: TenantId
) -> None:
    await store.add_models(tenant, [NewModel(MODEL, {"@id": MODEL})])
    await asyncio.gather(
        *(
            store.create_twin(
                tenant, NewTwin(f"t{i}", MODEL, {}), audit=event(tenant, "c", f"t{i}")
            )
            for i in range(20)
        ),
        *(store.append_audit(tenant, [event(tenant, "deny")]) for _ in range(10)),
    )
    records = await chain(store, tenant)
    assert len(records) == 30
    assert_linked(records)
    actions = [orjson.loads(r.text)["action"] for r in records]
    assert actions.count("c") == 20
    assert actions.count("deny") == 10


async def test_chains_never_mix_tenants(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await store.append_audit(tenant, [event(tenant)])
    await store.append_audit(other_tenant, [event(other_tenant), event(other_tenant)])
    await store.append_audit(tenant, [event(tenant)])
    mine, theirs = await chain(store, tenant), await chain(store, other_tenant)
    assert [r.seq for r in mine] == [1, 2]
    assert [r.seq for r in theirs] == [1, 2]
    assert all(orjson.loads(r.text)["tenant"] == tenant for r in mine)
    assert_linked(mine)
    assert_linked(theirs)
    # Reading another tenant's range through this tenant returns only this tenant's records.
    assert await store.read_audit(tenant, after_seq=0, through_seq=99, limit=99) == mine


async def test_time_ranges_map_to_contiguous_sequence_ranges(
    store: GraphStore, tenant: TenantId
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # The clock steps back between records 2 and 3 (an NTP step): sequence numbers still rise.
    times = [base, base + timedelta(hours=2), base + timedelta(hours=1), base + timedelta(hours=3)]
    events = []
    for moment in times:
        e = event(tenant)
        e.time = moment
        events.append(e)
    await store.append_audit(tenant, events)
    assert await store.audit_seq_range(
        tenant, since="2026-01-01T00:30:00Z", until="2026-01-01T02:30:00Z"
    ) == (2, 3)
    assert await store.audit_seq_range(tenant, since="2027", until="2028") is None
    assert await store.audit_seq_range(tenant, since="", until="~") == (1, 4)


async def test_checkpoints_and_pruning(store: GraphStore, tenant: TenantId) -> None:
    keys = Keyring.generate()
    sealed = await store.append_audit(tenant, [event(tenant) for _ in range(5)])
    checkpoint = sign_checkpoint(
        tenant,
        from_seq=1,
        from_prev_hash=GENESIS,
        to_seq=3,
        to_hash=sealed[2].hash,
        key=keys.signing_key(),
        moment=datetime.now(UTC),
    )
    await store.add_checkpoint(tenant, checkpoint)
    assert await store.last_checkpoint(tenant) == checkpoint
    assert await store.list_checkpoints(tenant, from_seq=3, to_seq=5) == [checkpoint]
    assert await store.list_checkpoints(tenant, from_seq=4, to_seq=5) == []
    [restored] = await store.list_checkpoints(tenant, from_seq=0, to_seq=9)
    assert checkpoint_problem(Checkpoint.from_json(restored.as_json()), keys) is None

    assert await store.prune_audit(tenant, through_seq=3) == 3
    remaining = await chain(store, tenant)
    assert [r.seq for r in remaining] == [4, 5]
    assert_linked(remaining, first_prev=checkpoint.to_hash)
    # Appending after a prune continues the chain.
    [sixth] = await store.append_audit(tenant, [event(tenant)])
    assert sixth.seq == 6
    assert orjson.loads(sixth.text)["prevHash"] == remaining[-1].hash


async def test_policy_versions_are_numbered_and_audited(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    assert await store.latest_policy_version(tenant) is None
    assert await store.list_policy_versions(tenant) == []
    activation = event(tenant, "activatePolicies", "policies")
    first = await store.add_policy_version(
        tenant, text="permit(principal, action, resource);", sha256="a", source="disk"
    )
    second = await store.add_policy_version(
        tenant,
        text="forbid(principal, action, resource);",
        sha256="b",
        source="api",
        audit=activation,
    )
    assert (first.version, second.version) == (1, 2)
    assert await store.latest_policy_version(tenant) == 2
    assert await store.latest_policy_version(other_tenant) is None
    listed = await store.list_policy_versions(tenant)
    assert [(v.version, v.sha256, v.source, v.text) for v in listed] == [
        (1, "a", "disk", first.text),
        (2, "b", "api", second.text),
    ]
    [record] = await chain(store, tenant)
    assert orjson.loads(record.text)["details"] == {"version": 2}


async def test_concurrent_policy_activations_get_distinct_versions(
    store: GraphStore, tenant: TenantId
) -> None:
    added = await asyncio.gather(
        *(
            store.add_policy_version(tenant, text=f"// {i}", sha256=str(i), source="api")
            for i in range(6)
        )
    )
    assert sorted(v.version for v in added) == [1, 2, 3, 4, 5, 6]


async def test_nonces_are_remembered_once(store: GraphStore, tenant: TenantId) -> None:
    org = f"org-{tenant}"
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await store.remember_nonce(org, "n1", later) is True
    assert await store.remember_nonce(org, "n1", later) is False  # a replay
    assert await store.remember_nonce(f"other-{org}", "n1", later) is True  # per org
    results = await asyncio.gather(*(store.remember_nonce(org, "n2", later) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    # An expired nonce is forgotten (requests that old are refused for their age anyway).
    assert await store.remember_nonce(org, "old", datetime.now(UTC) - timedelta(minutes=1))
    assert await store.remember_nonce(org, "n3", later)
    assert await store.remember_nonce(org, "old", later) is True


async def test_partner_records(store: GraphStore, tenant: TenantId) -> None:
    org = f"partner-{tenant}.example"
    record = PartnerRecord(org, {"org": org, "base_url": "https://p.example", "tenants": ["a"]})
    await store.save_partner(record)
    assert record in await store.list_partners()
    await store.save_partner(PartnerRecord(org, {**record.settings, "tenants": []}))
    [saved] = [p for p in await store.list_partners() if p.org == org]
    assert saved.settings["tenants"] == []
    assert await store.delete_partner(org) is True
    assert await store.delete_partner(org) is False
    assert all(p.org != org for p in await store.list_partners())
