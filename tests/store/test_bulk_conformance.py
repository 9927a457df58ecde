"""``import_batch`` on every store: the same layout as one-by-one creates, atomic, tenant-scoped."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from twinmesh.domain import NewRelationship, NewTwin, Relationship, TenantId, Twin
from twinmesh.errors import Conflict, NotFound
from twinmesh.store.plan import (
    Condition,
    Expansion,
    FieldRef,
    NodeSelection,
    TwinListQuery,
    TwinLookup,
)
from twinmesh.store.port import GraphStore

ROOM, FLOOR, SENSOR = "dtmi:x:Room;1", "dtmi:x:Floor;1", "dtmi:x:Sensor;1"
REMOTE = "twin://partner/plant/chiller-1"

TWINS = [
    NewTwin(
        id="f1",
        model=FLOOR,
        properties={"name": "Level 1", "level": 0, "address": {"city": "Leeds"}},
    ),
    NewTwin(
        id="r1",
        model=ROOM,
        properties={"name": "Alpha", "area": 21.5, "open": True, "tags": {"wing": "east"}},
        components={"thermostat": {"setpoint": 21.0, "mode": "auto"}},
    ),
    NewTwin(id="r2", model=ROOM, properties={"name": "Beta", "list": [1, 2]}),
    NewTwin(id="s1", model=SENSOR, properties={"name": "Temp", "accuracy": 0.3}),
]
RELATIONSHIPS = [
    NewRelationship("f1", "f1.hasPart.r1", "hasPart", "r1"),
    NewRelationship("f1", "f1.hasPart.r2", "hasPart", "r2", {"since": "2020-01-01"}),
    NewRelationship("r1", "r1.hasPoint.s1", "hasPoint", "s1"),
    NewRelationship("r1", "r1.fedBy.chiller", "fedBy", REMOTE, {"medium": "water"}),
]


def comparable_twin(twin: Twin | None) -> dict[str, Any]:
    """A twin without what differs between two writes of it: etag and times. Metadata keeps its
    shape, each ``lastUpdateTime`` replaced by whether it is the creation time (as
    ``stamp_metadata`` stamps a create)."""
    assert twin is not None
    assert twin.etag
    assert twin.created_at == twin.updated_at

    def times(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {
            key: datetime.fromisoformat(item) == twin.created_at
            if key == "lastUpdateTime"
            else times(item)
            for key, item in value.items()
        }

    return {
        "id": twin.id,
        "model": twin.model,
        "properties": twin.properties,
        "components": twin.components,
        "metadata": times(twin.metadata),
    }


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    else:
        yield value


def comparable_rels(rels: list[Relationship]) -> list[Relationship]:
    assert all(rel.etag for rel in rels)
    return [dataclasses.replace(rel, etag="") for rel in rels]


async def create_one_by_one(store: GraphStore, tenant: TenantId) -> None:
    for twin in TWINS:
        await store.create_twin(tenant, twin)
    for rel in RELATIONSHIPS:
        await store.create_relationship(tenant, rel)


async def test_imported_graph_reads_like_one_by_one_creates(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await store.import_batch(tenant, TWINS, RELATIONSHIPS)
    await create_one_by_one(store, other_tenant)

    for twin in TWINS:
        imported = await store.get_twin(tenant, twin.id)
        created = await store.get_twin(other_tenant, twin.id)
        assert comparable_twin(imported) == comparable_twin(created)
        assert imported is not None
        assert set(imported.metadata) == set(twin.properties) | set(twin.components)
        assert all(leaf is True for leaf in _leaves(comparable_twin(imported)["metadata"])), (
            imported.metadata
        )
    for source in ("f1", "r1", "r2", "s1"):
        assert comparable_rels(await store.list_relationships(tenant, source)) == comparable_rels(
            await store.list_relationships(other_tenant, source)
        )
    for target in ("r1", "s1"):
        assert comparable_rels(
            await store.list_incoming_relationships(tenant, target)
        ) == comparable_rels(await store.list_incoming_relationships(other_tenant, target))


async def test_imported_twins_filter_and_traverse_like_created_ones(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await store.import_batch(tenant, TWINS, RELATIONSHIPS)
    await create_one_by_one(store, other_tenant)
    queries = [
        TwinListQuery(first=10, where=Condition(FieldRef(path=("tags", "wing")), "eq", "east")),
        TwinListQuery(first=10, where=Condition(FieldRef(path=("address", "city")), "eq", "Leeds")),
        TwinListQuery(first=10, where=Condition(FieldRef(path=("area",)), "gt", 20)),
        TwinListQuery(first=10, models=(ROOM,), total=True),
    ]
    for query in queries:
        ours = await store.list_twins(tenant, query)
        theirs = await store.list_twins(other_tenant, query)
        assert [r.twin.id for r in ours.rows] == [r.twin.id for r in theirs.rows]
        assert ours.rows, query
        assert ours.total == theirs.total

    two_hops = TwinLookup(
        id="f1",
        node=NodeSelection(
            expansions=(
                Expansion(
                    key="rooms",
                    direction="out",
                    first=10,
                    name="hasPart",
                    node=NodeSelection(
                        expansions=(Expansion(key="all", direction="out", first=10, total=True),)
                    ),
                ),
            )
        ),
    )
    row = await store.lookup_twin(tenant, two_hops)
    assert row is not None
    rooms = row.expansions["rooms"].edges
    assert [target.twin.id for _, target in rooms if target] == ["r1", "r2"]
    r1_edges = rooms[0][1].expansions["all"] if rooms[0][1] else None
    assert r1_edges is not None
    assert r1_edges.total == 2
    assert sorted(rel.target for rel, _ in r1_edges.edges) == ["s1", REMOTE]


async def test_a_taken_twin_id_conflicts_and_writes_nothing(
    store: GraphStore, tenant: TenantId
) -> None:
    await store.create_twin(tenant, NewTwin(id="r2", model=ROOM, properties={"name": "first"}))

    with pytest.raises(Conflict):
        await store.import_batch(tenant, TWINS, RELATIONSHIPS)

    for twin_id in ("f1", "r1", "s1"):
        assert await store.get_twin(tenant, twin_id) is None
    kept = await store.get_twin(tenant, "r2")
    assert kept is not None
    assert kept.properties == {"name": "first"}
    assert await store.list_relationships(tenant, "r2") == []
    assert await store.list_incoming_relationships(tenant, "r2") == []


async def test_a_taken_relationship_id_conflicts_and_writes_nothing(
    store: GraphStore, tenant: TenantId
) -> None:
    await store.import_batch(tenant, TWINS[:2], [RELATIONSHIPS[0]])
    more = [NewTwin(id="r9", model=ROOM)]
    clash = [
        NewRelationship("f1", "f1.hasPart.r9", "hasPart", "r9"),
        NewRelationship("f1", "f1.hasPart.r1", "hasPart", "r9"),  # id already used by f1
    ]

    with pytest.raises(Conflict):
        await store.import_batch(tenant, more, clash)

    assert await store.get_twin(tenant, "r9") is None
    assert [rel.id for rel in await store.list_relationships(tenant, "f1")] == ["f1.hasPart.r1"]


async def test_repeats_inside_a_batch_conflict(store: GraphStore, tenant: TenantId) -> None:
    with pytest.raises(Conflict):
        await store.import_batch(tenant, [TWINS[0], TWINS[0]], [])
    with pytest.raises(Conflict):
        await store.import_batch(tenant, TWINS, [RELATIONSHIPS[0], RELATIONSHIPS[0]])
    assert await store.get_twin(tenant, "f1") is None


async def test_a_missing_end_is_not_found_and_writes_nothing(
    store: GraphStore, tenant: TenantId
) -> None:
    dangling = [*RELATIONSHIPS, NewRelationship("r2", "r2.hasPoint.nope", "hasPoint", "nope")]
    with pytest.raises(NotFound):
        await store.import_batch(tenant, TWINS, dangling)
    no_source = [NewRelationship("ghost", "ghost.hasPart.r1", "hasPart", "r1")]
    with pytest.raises(NotFound):
        await store.import_batch(tenant, TWINS, no_source)
    for twin in TWINS:
        assert await store.get_twin(tenant, twin.id) is None


async def test_relationships_may_join_stored_twins_across_batches(
    store: GraphStore, tenant: TenantId
) -> None:
    await store.import_batch(tenant, TWINS[:2], [])
    await store.import_batch(tenant, TWINS[2:], RELATIONSHIPS)
    await store.import_batch(tenant, [], [NewRelationship("s1", "s1.isPointOf.r1", "x", "r1")])

    assert [rel.id for rel in await store.list_relationships(tenant, "f1")] == [
        "f1.hasPart.r1",
        "f1.hasPart.r2",
    ]
    assert [rel.source_id for rel in await store.list_incoming_relationships(tenant, "r1")] == [
        "f1",
        "s1",
    ]


async def test_import_is_tenant_scoped(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await store.import_batch(tenant, TWINS, RELATIONSHIPS)

    for twin in TWINS:
        assert await store.get_twin(other_tenant, twin.id) is None
    assert await store.list_relationships(other_tenant, "f1") == []
    # The same ids are free in another tenant, and relationships never reach across tenants.
    await store.import_batch(other_tenant, TWINS, RELATIONSHIPS)
    with pytest.raises(NotFound):
        await store.import_batch(
            TenantId(f"{other_tenant}-x"), [], [NewRelationship("f1", "x", "hasPart", "r1")]
        )
    assert len(await store.list_relationships(tenant, "f1")) == 2
    assert len(await store.list_relationships(other_tenant, "f1")) == 2


async def test_an_empty_batch_is_a_no_op(store: GraphStore, tenant: TenantId) -> None:
    await store.import_batch(tenant, [], [])
    assert (await store.list_twins(tenant, TwinListQuery(first=5))).rows == []
