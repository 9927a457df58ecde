"""The store conformance suite: one behaviour, every adapter (ids ``embedded`` and ``neo4j``)."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest

from twinmesh.domain import NewModel, NewRelationship, NewTwin, TenantId, Twin, TwinUpdate
from twinmesh.errors import Conflict, NotFound
from twinmesh.store.port import GraphStore
from twinmesh.store.recording import StatementRecorder

ROOM = "dtmi:twinmesh:building:Room;1"
SENSOR = "dtmi:twinmesh:building:TemperatureSensor;1"


async def make_twin(store: GraphStore, tenant: TenantId, twin_id: str, **props: object) -> None:
    await store.create_twin(tenant, NewTwin(id=twin_id, model=ROOM, properties=dict(props)))  # type: ignore[arg-type]


# -- twins -------------------------------------------------------------------------------------


async def test_created_twin_reads_back_with_metadata(store: GraphStore, tenant: TenantId) -> None:
    new = NewTwin(
        id="room-1",
        model=ROOM,
        properties={"name": "Room 1", "area": 21.5, "seats": 4, "tags": {"wing": "east"}},
        components={"thermostat": {"setpoint": 21.0}},
    )
    created = await store.create_twin(tenant, new)
    read = await store.get_twin(tenant, "room-1")

    assert read == created
    assert read is not None
    assert (read.id, read.model) == ("room-1", ROOM)
    assert read.properties == {"name": "Room 1", "area": 21.5, "seats": 4, "tags": {"wing": "east"}}
    assert read.components == {"thermostat": {"setpoint": 21.0}}
    assert read.etag
    assert read.created_at == read.updated_at
    assert read.created_at.tzinfo == UTC


async def test_missing_twin_reads_as_none(store: GraphStore, tenant: TenantId) -> None:
    assert await store.get_twin(tenant, "nope") is None


async def test_creating_a_taken_id_conflicts_and_keeps_the_original(
    store: GraphStore, tenant: TenantId
) -> None:
    await make_twin(store, tenant, "room-1", name="first")
    with pytest.raises(Conflict):
        await make_twin(store, tenant, "room-1", name="second")
    twin = await store.get_twin(tenant, "room-1")
    assert twin is not None
    assert twin.properties == {"name": "first"}


async def test_replace_with_current_etag_changes_etag_and_updated_at(
    store: GraphStore, tenant: TenantId
) -> None:
    await make_twin(store, tenant, "room-1", name="old")
    before = await store.get_twin(tenant, "room-1")
    assert before is not None

    after = await store.replace_twin(
        tenant, "room-1", properties={"name": "new"}, components={}, if_match=before.etag
    )

    assert after.properties == {"name": "new"}
    assert after.etag != before.etag
    assert after.created_at == before.created_at
    assert after.updated_at >= before.updated_at
    assert await store.get_twin(tenant, "room-1") == after


async def test_replace_with_stale_etag_conflicts_and_changes_nothing(
    store: GraphStore, tenant: TenantId
) -> None:
    await make_twin(store, tenant, "room-1", name="v1")
    v1 = await store.get_twin(tenant, "room-1")
    assert v1 is not None
    v2 = await store.replace_twin(tenant, "room-1", properties={"name": "v2"}, components={})

    with pytest.raises(Conflict):
        await store.replace_twin(
            tenant, "room-1", properties={"name": "v3"}, components={}, if_match=v1.etag
        )
    assert await store.get_twin(tenant, "room-1") == v2


async def test_concurrent_replaces_with_one_etag_let_exactly_one_win(
    store: GraphStore, tenant: TenantId
) -> None:
    await make_twin(store, tenant, "room-1", n=0)
    base = await store.get_twin(tenant, "room-1")
    assert base is not None

    results = await asyncio.gather(
        *(
            store.replace_twin(
                tenant, "room-1", properties={"n": i}, components={}, if_match=base.etag
            )
            for i in range(1, 9)
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert await store.get_twin(tenant, "room-1") == winners[0]


async def test_writes_on_a_missing_twin_are_not_found(store: GraphStore, tenant: TenantId) -> None:
    with pytest.raises(NotFound):
        await store.replace_twin(tenant, "ghost", properties={}, components={})
    with pytest.raises(NotFound):
        await store.delete_twin(tenant, "ghost")


async def test_delete_with_stale_etag_conflicts_and_keeps_the_twin(
    store: GraphStore, tenant: TenantId
) -> None:
    await make_twin(store, tenant, "room-1")
    with pytest.raises(Conflict):
        await store.delete_twin(tenant, "room-1", if_match='W/"stale"')
    assert await store.get_twin(tenant, "room-1") is not None


async def test_delete_removes_the_twin(store: GraphStore, tenant: TenantId) -> None:
    await make_twin(store, tenant, "room-1")
    current = await store.get_twin(tenant, "room-1")
    assert current is not None
    await store.delete_twin(tenant, "room-1", if_match=current.etag)
    assert await store.get_twin(tenant, "room-1") is None


# -- relationships -------------------------------------------------------------------------


async def floor_with_rooms(store: GraphStore, tenant: TenantId) -> None:
    for twin_id in ("floor-1", "room-1", "room-2", "sensor-1"):
        await make_twin(store, tenant, twin_id)
    for rel_id, source, name, target in (
        ("r1", "floor-1", "hasPart", "room-1"),
        ("r2", "floor-1", "hasPart", "room-2"),
        ("p1", "room-1", "hasPoint", "sensor-1"),
        ("up", "room-1", "isPartOf", "floor-1"),
    ):
        await store.create_relationship(
            tenant, NewRelationship(source_id=source, id=rel_id, name=name, target=target)
        )


async def test_relationships_list_outgoing_and_incoming(
    store: GraphStore, tenant: TenantId
) -> None:
    await floor_with_rooms(store, tenant)

    outgoing = await store.list_relationships(tenant, "floor-1")
    assert [(r.id, r.name, r.target) for r in outgoing] == [
        ("r1", "hasPart", "room-1"),
        ("r2", "hasPart", "room-2"),
    ]
    assert [r.id for r in await store.list_relationships(tenant, "room-1", name="hasPoint")] == [
        "p1"
    ]
    incoming = await store.list_incoming_relationships(tenant, "room-1")
    assert [(r.source_id, r.id) for r in incoming] == [("floor-1", "r1")]
    assert await store.list_incoming_relationships(tenant, "room-1", name="feeds") == []


async def test_relationship_properties_and_etag_round_trip(
    store: GraphStore, tenant: TenantId
) -> None:
    await make_twin(store, tenant, "ahu-1")
    await make_twin(store, tenant, "vav-1")
    created = await store.create_relationship(
        tenant,
        NewRelationship(
            source_id="ahu-1",
            id="f1",
            name="feeds",
            target="vav-1",
            properties={"since": "2024-01-01", "ratio": 0.5},
        ),
    )
    assert created.etag
    [listed] = await store.list_relationships(tenant, "ahu-1")
    assert listed == created
    assert listed.properties == {"since": "2024-01-01", "ratio": 0.5}


async def test_relationship_needs_existing_source_and_local_target(
    store: GraphStore, tenant: TenantId
) -> None:
    await make_twin(store, tenant, "room-1")
    with pytest.raises(NotFound):
        await store.create_relationship(
            tenant, NewRelationship(source_id="ghost", id="r", name="hasPart", target="room-1")
        )
    with pytest.raises(NotFound):
        await store.create_relationship(
            tenant, NewRelationship(source_id="room-1", id="r", name="hasPart", target="ghost")
        )
    assert await store.list_relationships(tenant, "room-1") == []


async def test_relationship_to_a_remote_twin_reference(store: GraphStore, tenant: TenantId) -> None:
    await make_twin(store, tenant, "building-1")
    ref = "twin://plant.example/district/plant-1"
    await store.create_relationship(
        tenant, NewRelationship(source_id="building-1", id="fed", name="isFedBy", target=ref)
    )
    [rel] = await store.list_relationships(tenant, "building-1")
    assert rel.target == ref
    await store.delete_relationship(tenant, "building-1", "fed")
    assert await store.list_relationships(tenant, "building-1") == []


async def test_relationship_ids_are_unique_per_source(store: GraphStore, tenant: TenantId) -> None:
    await floor_with_rooms(store, tenant)
    with pytest.raises(Conflict):
        await store.create_relationship(
            tenant, NewRelationship(source_id="floor-1", id="r1", name="hasPart", target="room-2")
        )
    # The same id under another source is a different relationship.
    await store.create_relationship(
        tenant, NewRelationship(source_id="room-2", id="r1", name="isPartOf", target="floor-1")
    )
    assert [r.target for r in await store.list_relationships(tenant, "floor-1")] == [
        "room-1",
        "room-2",
    ]


async def test_delete_relationship_honours_etag(store: GraphStore, tenant: TenantId) -> None:
    await floor_with_rooms(store, tenant)
    [r1, _] = await store.list_relationships(tenant, "floor-1")
    with pytest.raises(Conflict):
        await store.delete_relationship(tenant, "floor-1", "r1", if_match='W/"stale"')
    await store.delete_relationship(tenant, "floor-1", "r1", if_match=r1.etag)
    assert [r.id for r in await store.list_relationships(tenant, "floor-1")] == ["r2"]
    with pytest.raises(NotFound):
        await store.delete_relationship(tenant, "floor-1", "r1")


async def test_deleting_a_twin_removes_its_relationships_both_ways(
    store: GraphStore, tenant: TenantId
) -> None:
    await floor_with_rooms(store, tenant)

    await store.delete_twin(tenant, "room-1", cascade=True)

    assert [r.id for r in await store.list_relationships(tenant, "floor-1")] == ["r2"]
    assert await store.list_relationships(tenant, "room-1") == []
    assert await store.list_incoming_relationships(tenant, "sensor-1") == []
    # Re-creating the id starts clean: no relationship survives from the old twin.
    await make_twin(store, tenant, "room-1")
    assert await store.list_relationships(tenant, "room-1") == []
    assert await store.list_incoming_relationships(tenant, "room-1") == []


# -- tenant isolation ----------------------------------------------------------------------


async def test_tenants_with_colliding_ids_never_see_each_other(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await floor_with_rooms(store, tenant)
    await make_twin(store, other_tenant, "floor-1", owner="other")
    await make_twin(store, other_tenant, "room-9")

    mine = await store.get_twin(tenant, "floor-1")
    theirs = await store.get_twin(other_tenant, "floor-1")
    assert mine is not None
    assert theirs is not None
    assert mine.properties == {}
    assert theirs.properties == {"owner": "other"}
    assert await store.get_twin(other_tenant, "room-1") is None
    assert await store.list_relationships(other_tenant, "floor-1") == []
    assert await store.list_incoming_relationships(other_tenant, "room-1") == []

    # No cross-tenant edges, and no writes through another tenant's ids.
    with pytest.raises(NotFound):
        await store.create_relationship(
            other_tenant,
            NewRelationship(source_id="floor-1", id="x", name="hasPart", target="room-1"),
        )
    with pytest.raises(NotFound):
        await store.replace_twin(other_tenant, "room-1", properties={}, components={})
    with pytest.raises(NotFound):
        await store.delete_relationship(other_tenant, "floor-1", "r1")

    await store.delete_twin(other_tenant, "floor-1")
    assert await store.get_twin(tenant, "floor-1") == mine
    assert len(await store.list_relationships(tenant, "floor-1")) == 2


# -- awkward values ------------------------------------------------------------------------


async def test_unicode_and_large_values_round_trip_exactly(
    store: GraphStore, tenant: TenantId
) -> None:
    properties = {
        "name": "Salle de réunion 会议室 🚀 \u202e",
        "quote": 'He said "hi" \\ \' ` $tenant',
        "blob": "x" * 1_000_000,
        "big": 2**62,
        "tiny": 1e-300,
        "negative": -0.5,
        "nested": {"a": [1, {"b": [True, False, None]}], "ключ": "значение"},
        "": "empty key",
    }
    twin_id = "twin-🚀-ü"
    await store.create_twin(tenant, NewTwin(id=twin_id, model=ROOM, properties=properties))  # type: ignore[arg-type]
    read = await store.get_twin(tenant, twin_id)
    assert read is not None
    assert read.properties == properties
    assert list(read.properties) == list(properties)


INJECTION_CORPUS = [
    "' OR 1=1 --",
    "x' WITH true AS x MATCH (n) DETACH DELETE n //",
    '" RETURN 1 //',
    "}) MATCH (n) DETACH DELETE n //",
    "`backtick`) DETACH DELETE n //",
    "$tenant",
    "'; DROP TABLE twins; --",
    "Robert'); DELETE FROM twins WHERE ('1'='1",
    "../../etc/passwd",
    "n.tenant",
    ":memory:",
    "\\u0027 OR 1=1",
    "%s%s%n",
    "{{7*7}}",
]


async def exercise_every_operation(store: GraphStore, tenant: TenantId, value: str) -> None:
    """Every port operation, with ``value`` as each id, name, model and property key."""
    await store.create_twin(
        tenant,
        NewTwin(id=value, model=value, properties={value: value}, components={value: {value: 1}}),
    )
    await make_twin(store, tenant, "plain")
    await store.create_relationship(
        tenant,
        NewRelationship(
            source_id=value, id=value, name=value, target="plain", properties={value: value}
        ),
    )
    twin = await store.get_twin(tenant, value)
    assert twin is not None
    assert (twin.id, twin.model, twin.properties) == (value, value, {value: value})
    assert [r.name for r in await store.list_relationships(tenant, value, name=value)] == [value]
    incoming = await store.list_incoming_relationships(tenant, "plain", name=value)
    assert [r.id for r in incoming] == [value]
    replaced = await store.replace_twin(tenant, value, properties={value: 2}, components={})

    def bump(current: Twin) -> TwinUpdate:
        number = current.properties[value]
        assert isinstance(number, int)
        return TwinUpdate({value: number + 1}, {}, frozenset({value}))

    patched = await store.patch_twin(tenant, value, bump, if_match=replaced.etag)
    assert patched.properties == {value: 3}
    assert list(patched.metadata) == [value]
    rel = await store.patch_relationship(
        tenant, value, value, lambda current: {value: value, "n": 1}
    )
    assert rel.properties == {value: value, "n": 1}
    with pytest.raises(Conflict):
        await store.delete_twin(tenant, value)
    await store.delete_relationship(tenant, value, value, if_match=rel.etag)
    await store.delete_twin(tenant, value, if_match=patched.etag)
    await store.create_twin(tenant, NewTwin(id=value, model=value))
    await store.create_relationship(
        tenant, NewRelationship(source_id="plain", id=value, name=value, target=value)
    )
    await store.delete_twin(tenant, value, cascade=True)
    assert await store.get_twin(tenant, "plain") is not None

    await store.add_models(tenant, [NewModel(id=value, document={value: value})])
    model = await store.get_model(tenant, value)
    assert model is not None
    assert model.document == {value: value}
    await store.decommission_model(tenant, value)
    await store.delete_model(tenant, value)
    assert await store.list_models(tenant) == []


@pytest.mark.parametrize("evil", INJECTION_CORPUS)
async def test_request_strings_never_reach_statement_text(
    store: GraphStore,
    tenant: TenantId,
    other_tenant: TenantId,
    recorder: StatementRecorder,
    evil: str,
) -> None:
    await exercise_every_operation(store, other_tenant, "benign")
    baseline = recorder.texts()
    recorder.clear()

    await exercise_every_operation(store, tenant, evil)

    # The same statement texts as for a benign value: the input changed parameters only.
    assert recorder.texts() == baseline
    assert any(evil in params.values() for _, params in recorder.statements)
