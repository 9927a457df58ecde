"""Read plans on every store: filters, ordering, keyset pages, totals and nested expansions,
each compiled into exactly one statement."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.neo4j import Neo4jStore
from twinmesh.store.plan import (
    MISSING_RANK,
    AllOf,
    AnyOf,
    Condition,
    Expansion,
    FieldRef,
    NodeSelection,
    Not,
    Predicate,
    SortKey,
    TwinListQuery,
    TwinLookup,
    TwinPage,
    sort_rank,
)
from twinmesh.store.port import GraphStore
from twinmesh.store.recording import StatementRecorder

ROOM, FLOOR, SENSOR = "dtmi:x:Room;1", "dtmi:x:Floor;1", "dtmi:x:Sensor;1"


def prop(*path: str) -> FieldRef:
    return FieldRef(path=path)


async def seed_rooms(store: GraphStore, tenant: TenantId) -> None:
    rooms: list[tuple[str, dict[str, Any]]] = [
        ("r1", {"name": "Alpha", "area": 10, "open": True, "address": {"city": "Leeds"}}),
        ("r2", {"name": "Beta", "area": 20.5, "open": False, "address": {"city": "Lyon"}}),
        ("r3", {"name": "Gamma", "area": 20.5, "tags": {"wing": "east"}}),
        ("r4", {"name": "alpha", "area": "big", "list": [1, 2]}),
        ("r5", {"area": 5}),
    ]
    for twin_id, properties in rooms:
        await store.create_twin(tenant, NewTwin(id=twin_id, model=ROOM, properties=properties))
    await store.create_twin(tenant, NewTwin(id="f1", model=FLOOR, properties={"name": "Alpha"}))


async def ids(store: GraphStore, tenant: TenantId, where: Predicate | None, **kw: Any) -> list[str]:
    page = await store.list_twins(tenant, TwinListQuery(first=100, where=where, **kw))
    return [row.twin.id for row in page.rows]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (Condition(prop("name"), "eq", "Alpha"), ["f1", "r1"]),
        (Condition(prop("name"), "ne", "Alpha"), ["r2", "r3", "r4"]),
        (Condition(prop("area"), "gt", 10), ["r2", "r3"]),
        (Condition(prop("area"), "gte", 10), ["r1", "r2", "r3"]),
        (Condition(prop("area"), "lt", 10.5), ["r1", "r5"]),
        (Condition(prop("area"), "lte", 5), ["r5"]),
        (Condition(prop("area"), "eq", 20.5), ["r2", "r3"]),
        (Condition(prop("area"), "eq", "big"), ["r4"]),
        (Condition(prop("area"), "gt", "a"), ["r4"]),  # strings never compare with numbers
        (Condition(prop("area"), "in", [5, "big", 99]), ["r4", "r5"]),
        (Condition(prop("area"), "in", []), []),
        (Condition(prop("open"), "eq", True), ["r1"]),
        (Condition(prop("open"), "eq", False), ["r2"]),
        (Condition(prop("open"), "ne", True), ["r2"]),
        (Condition(prop("area"), "eq", 1), []),
        (Condition(prop("open"), "eq", 1), []),  # booleans are not numbers
        (Condition(prop("name"), "contains", "lph"), ["f1", "r1", "r4"]),
        (Condition(prop("name"), "starts_with", "Al"), ["f1", "r1"]),
        (Condition(prop("area"), "contains", "1"), []),
        (Condition(prop("address", "city"), "eq", "Lyon"), ["r2"]),
        (Condition(prop("address", "city"), "starts_with", "L"), ["r1", "r2"]),
        (Condition(prop("tags", "wing"), "eq", "east"), ["r3"]),
        (Condition(prop("address"), "exists", True), ["r1", "r2"]),
        (Condition(prop("list"), "exists", True), ["r4"]),
        (Condition(prop("name"), "exists", False), ["r5"]),
        (Not(Condition(prop("name"), "eq", "Alpha")), ["r2", "r3", "r4", "r5"]),
        (Not(Condition(prop("missing"), "gt", 1)), ["f1", "r1", "r2", "r3", "r4", "r5"]),
        (
            AllOf((Condition(prop("area"), "gte", 10), Condition(prop("open"), "exists", False))),
            ["r3"],
        ),
        (
            AnyOf((Condition(prop("area"), "eq", 5), Condition(prop("open"), "eq", True))),
            ["r1", "r5"],
        ),
        (AnyOf(()), []),
        (AllOf(()), ["f1", "r1", "r2", "r3", "r4", "r5"]),
        (Condition(FieldRef(meta="id"), "in", ["r2", "f1", "zz"]), ["f1", "r2"]),
        (Condition(FieldRef(meta="id"), "starts_with", "r"), ["r1", "r2", "r3", "r4", "r5"]),
        (Condition(FieldRef(meta="model"), "eq", FLOOR), ["f1"]),
    ],
)
async def test_filters(
    store: GraphStore, tenant: TenantId, where: Predicate, expected: list[str]
) -> None:
    await seed_rooms(store, tenant)
    assert await ids(store, tenant, where) == expected


async def test_model_sets_and_totals(store: GraphStore, tenant: TenantId) -> None:
    await seed_rooms(store, tenant)
    page = await store.list_twins(tenant, TwinListQuery(first=2, models=(ROOM,), total=True))
    assert [r.twin.id for r in page.rows] == ["r1", "r2"]
    assert (page.has_next, page.total) == (True, 5)
    nothing = await store.list_twins(tenant, TwinListQuery(first=2, models=(), total=True))
    assert (nothing.rows, nothing.total, nothing.has_next) == ([], 0, False)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ((SortKey(prop("area")),), ["r5", "r1", "r2", "r3", "r4", "f1"]),
        ((SortKey(prop("area"), descending=True),), ["r2", "r3", "r1", "r5", "r4", "f1"]),
        (
            (SortKey(prop("name")), SortKey(prop("area"), descending=True)),
            ["r1", "f1", "r2", "r3", "r4", "r5"],
        ),
        (
            (SortKey(FieldRef(meta="model"), descending=True), SortKey(FieldRef(meta="id"))),
            ["r1", "r2", "r3", "r4", "r5", "f1"],
        ),
    ],
    ids=["area", "area-desc", "name-then-area", "model-desc"],
)
async def test_ordering_puts_missing_values_last(
    store: GraphStore, tenant: TenantId, order: tuple[SortKey, ...], expected: list[str]
) -> None:
    await seed_rooms(store, tenant)
    # Values sort by type first (numbers, then strings: r4's "big"), then missing ones.
    assert await ids(store, tenant, None, order=order) == expected


def cursor_of(order: tuple[SortKey, ...], page: TwinPage) -> tuple[Any, ...]:
    twin = page.rows[-1].twin
    keys: list[Any] = []
    for key in order:
        if key.field.meta is not None:
            keys.append((False, getattr(twin, key.field.meta)))
            continue
        value: Any = twin.properties
        for segment in key.field.path:
            value = value.get(segment) if isinstance(value, dict) else None
        rank = sort_rank(value)
        keys.append((rank, value if rank != MISSING_RANK else None))
    return (*keys, twin.id)


async def walk(
    store: GraphStore, tenant: TenantId, order: tuple[SortKey, ...], first: int, between: Any = None
) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = await store.list_twins(tenant, TwinListQuery(first=first, order=order, after=after))
        seen += [row.twin.id for row in page.rows]
        if not page.has_next:
            return seen
        after = cursor_of(order, page)
        if between is not None:
            await between()
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("first", [1, 2, 3])
@pytest.mark.parametrize(
    "order",
    [(), (SortKey(prop("area")),), (SortKey(prop("area"), descending=True), SortKey(prop("name")))],
    ids=["id", "area", "area-desc-name"],
)
async def test_keyset_pages_return_every_twin_once(
    store: GraphStore, tenant: TenantId, order: tuple[SortKey, ...], first: int
) -> None:
    await seed_rooms(store, tenant)
    everything = await ids(store, tenant, None, order=order)
    assert await walk(store, tenant, order, first) == everything


async def test_pages_stay_exact_while_twins_are_inserted(
    store: GraphStore, tenant: TenantId
) -> None:
    for i in range(30):
        await store.create_twin(
            tenant, NewTwin(id=f"t{i:03d}", model=ROOM, properties={"n": i % 7})
        )
    order = (SortKey(prop("n")),)
    inserted = iter(range(1000))

    async def insert_more() -> None:
        for _ in range(3):
            i = next(inserted)
            await store.create_twin(
                tenant, NewTwin(id=f"new{i:03d}", model=ROOM, properties={"n": i % 9})
            )

    seen = await walk(store, tenant, order, 4, between=insert_more)
    originals = [twin_id for twin_id in seen if twin_id.startswith("t")]
    assert sorted(originals) == [f"t{i:03d}" for i in range(30)]
    assert len(seen) == len(set(seen))


# -- expansions ------------------------------------------------------------------------------


async def seed_graph(store: GraphStore, tenant: TenantId) -> None:
    for twin_id, model in [
        ("f1", FLOOR),
        ("r1", ROOM),
        ("r2", ROOM),
        ("r3", ROOM),
        ("s1", SENSOR),
        ("s2", SENSOR),
    ]:
        await store.create_twin(tenant, NewTwin(id=twin_id, model=model, properties={"n": twin_id}))
    edges = [
        ("f1", "a", "hasPart", "r1"),
        ("f1", "b", "hasPart", "r2"),
        ("f1", "c", "hasPart", "r3"),
        ("f1", "d", "hasPoint", "s1"),
        ("r1", "p", "hasPoint", "s1"),
        ("r1", "q", "hasPoint", "s2"),
        ("r2", "p", "hasPoint", "s2"),
        ("f1", "z", "feeds", "twin://other.example/t/x"),
    ]
    for source, rel_id, name, target in edges:
        await store.create_relationship(
            tenant,
            NewRelationship(
                source_id=source, id=rel_id, name=name, target=target, properties={"w": rel_id}
            ),
        )


THREE_LEVELS = NodeSelection(
    expansions=(
        Expansion(
            key="rooms",
            direction="out",
            name="hasPart",
            first=2,
            total=True,
            node=NodeSelection(
                expansions=(
                    Expansion(
                        key="points",
                        direction="out",
                        name="hasPoint",
                        first=5,
                        node=NodeSelection(
                            expansions=(
                                Expansion(key="seenBy", direction="in", first=5, total=True),
                            )
                        ),
                    ),
                )
            ),
        ),
        Expansion(key="all", direction="out", first=10),
        Expansion(key="sensorsOnly", direction="out", first=10, models=(SENSOR,)),
    )
)


async def test_a_three_level_read_is_one_statement(
    store: GraphStore, tenant: TenantId, recorder: StatementRecorder
) -> None:
    await seed_graph(store, tenant)
    recorder.clear()

    row = await store.lookup_twin(tenant, TwinLookup(id="f1", node=THREE_LEVELS))

    assert len(recorder.statements) == 1
    assert row is not None
    rooms = row.expansions["rooms"]
    assert [(rel.id, node.twin.id if node else None) for rel, node in rooms.edges] == [
        ("a", "r1"),
        ("b", "r2"),
    ]
    assert (rooms.has_next, rooms.total) == (True, 3)
    r1 = rooms.edges[0][1]
    assert r1 is not None
    points = r1.expansions["points"]
    assert [rel.target for rel, _ in points.edges] == ["s1", "s2"]
    s1 = points.edges[0][1]
    assert s1 is not None
    assert s1.twin.properties == {"n": "s1"}
    seen_by = s1.expansions["seenBy"]
    assert [(rel.source_id, rel.id) for rel, _ in seen_by.edges] == [("f1", "d"), ("r1", "p")]
    assert seen_by.total == 2

    everything = row.expansions["all"]
    assert [rel.id for rel, _ in everything.edges] == ["a", "b", "c", "d", "z"]
    assert everything.edges[-1][1] is None  # the remote reference has no local twin
    assert everything.edges[0][0].properties == {"w": "a"}
    assert [rel.id for rel, _ in row.expansions["sensorsOnly"].edges] == ["d"]


async def test_expansion_pages_continue_after_their_cursor(
    store: GraphStore, tenant: TenantId
) -> None:
    await seed_graph(store, tenant)
    out = NodeSelection(
        (Expansion(key="k", direction="out", name="hasPart", first=2, after=("a",)),)
    )
    row = await store.lookup_twin(tenant, TwinLookup(id="f1", node=out))
    assert row is not None
    assert [rel.id for rel, _ in row.expansions["k"].edges] == ["b", "c"]
    assert row.expansions["k"].has_next is False

    incoming = NodeSelection((Expansion(key="k", direction="in", first=1, after=("f1", "d")),))
    row = await store.lookup_twin(tenant, TwinLookup(id="s1", node=incoming))
    assert row is not None
    assert [(rel.source_id, rel.id) for rel, _ in row.expansions["k"].edges] == [("r1", "p")]


async def test_list_with_expansions_is_one_statement(
    store: GraphStore, tenant: TenantId, recorder: StatementRecorder
) -> None:
    await seed_graph(store, tenant)
    recorder.clear()
    page = await store.list_twins(
        tenant,
        TwinListQuery(
            first=2,
            models=(ROOM,),
            total=True,
            node=NodeSelection((Expansion(key="pts", direction="out", first=1, total=True),)),
        ),
    )
    assert len(recorder.statements) == 1
    assert [
        (r.twin.id, [rel.id for rel, _ in r.expansions["pts"].edges], r.expansions["pts"].total)
        for r in page.rows
    ] == [("r1", ["p"], 2), ("r2", ["p"], 1)]
    assert (page.total, page.has_next) == (3, True)


async def test_other_tenants_are_invisible_to_reads(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await seed_graph(store, tenant)
    await store.create_twin(other_tenant, NewTwin(id="r1", model=ROOM, properties={"n": "theirs"}))
    assert await store.lookup_twin(other_tenant, TwinLookup(id="f1")) is None
    page = await store.list_twins(other_tenant, TwinListQuery(first=10, total=True))
    assert [(r.twin.id, r.twin.properties) for r in page.rows] == [("r1", {"n": "theirs"})]
    assert page.total == 1


async def test_concurrent_reads_agree(store: GraphStore, tenant: TenantId) -> None:
    await seed_graph(store, tenant)
    rows = await asyncio.gather(
        *(store.lookup_twin(tenant, TwinLookup(id="f1", node=THREE_LEVELS)) for _ in range(8))
    )
    assert all(row == rows[0] for row in rows)


READ_INJECTION = [
    "' OR 1=1 --",
    "x' WITH true AS x MATCH (n) DETACH DELETE n //",
    "}) RETURN 1 //",
    "$tenant",
    "'; DROP TABLE twins; --",
    "$.properties",
    "p.name",
]


def plan_with(value: str) -> tuple[TwinListQuery, TwinLookup]:
    """A list and a lookup using ``value`` in every place a client's value can go."""
    where = AnyOf(
        (
            Condition(prop("name"), "eq", value),
            Condition(prop("name"), "in", [value, value]),
            Condition(prop("name"), "contains", value),
            Condition(prop("name"), "starts_with", value),
            Condition(FieldRef(meta="id"), "gt", value),
        )
    )
    expansions = NodeSelection(
        (
            Expansion(
                key="k", direction="out", first=5, name=value, models=(value,), after=(value,)
            ),
            Expansion(
                key="j", direction="in", first=5, name=value, after=(value, value), total=True
            ),
        )
    )
    listing = TwinListQuery(
        first=5,
        models=(value,),
        where=where,
        order=(SortKey(prop("name")),),
        after=((1, value), value),
        total=True,
        node=expansions,
    )
    return listing, TwinLookup(id=value, node=expansions)


@pytest.mark.parametrize("evil", READ_INJECTION)
async def test_read_plans_keep_client_values_out_of_statement_text(
    store: GraphStore, tenant: TenantId, recorder: StatementRecorder, evil: str
) -> None:
    await seed_graph(store, tenant)
    texts = {}
    for value in ("benign", evil):
        recorder.clear()
        listing, lookup = plan_with(value)
        await store.list_twins(tenant, listing)
        await store.lookup_twin(tenant, lookup)
        texts[value] = recorder.texts()
        assert any(value in str(params.values()) for _, params in recorder.statements)
    assert texts[evil] == texts["benign"]


async def test_expansion_filters_apply_to_the_neighbour_and_its_totals(
    store: GraphStore, tenant: TenantId
) -> None:
    await seed_graph(store, tenant)
    only_r2 = Condition(FieldRef(meta="id"), "ne", "r1")
    node = NodeSelection(
        (
            Expansion(key="all", direction="out", first=10, total=True, where=only_r2),
            Expansion(key="in", direction="in", first=10, total=True, where=only_r2),
        )
    )
    row = await store.lookup_twin(tenant, TwinLookup(id="f1", node=node))
    assert row is not None
    # r1 is filtered out; the remote reference has no local twin to judge and stays.
    targets = [rel.target for rel, _ in row.expansions["all"].edges]
    assert targets == ["r2", "r3", "s1", "twin://other.example/t/x"]
    assert row.expansions["all"].total == 4
    # Without remote targets (a caller who may not traverse at all) it goes too.
    local_only = NodeSelection((dataclasses.replace(node.expansions[0], remote=False),))
    row = await store.lookup_twin(tenant, TwinLookup(id="f1", node=local_only))
    assert row is not None
    assert [rel.target for rel, _ in row.expansions["all"].edges] == ["r2", "r3", "s1"]
    assert row.expansions["all"].total == 3
    sensor = await store.lookup_twin(tenant, TwinLookup(id="s2", node=node))
    assert sensor is not None
    assert [rel.source_id for rel, _ in sensor.expansions["in"].edges] == ["r2"]
    assert sensor.expansions["in"].total == 1


async def test_a_planted_cross_tenant_edge_is_not_followed(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    """SECURITY.md item 38: even an edge written past the port never leads into another tenant."""
    await store.create_twin(tenant, NewTwin(id="mine", model=ROOM, properties={"n": "mine"}))
    await store.create_twin(other_tenant, NewTwin(id="theirs", model=ROOM, properties={"n": "B"}))
    if isinstance(store, EmbeddedStore):
        await store._call(  # a corrupt row: tenant A's relationship naming B's twin
            lambda conn: conn.execute(
                "INSERT INTO relationships (tenant, source_id, id, name, target, properties, etag)"
                " VALUES (?, 'mine', 'x', 'hasPart', 'theirs', '{}', 'e')",
                (tenant,),
            )
        )
    else:
        assert isinstance(store, Neo4jStore)
        await store.driver.execute_query(
            "MATCH (a:Twin {tenant: $a, id: 'mine'}), (b:Twin {tenant: $b, id: 'theirs'}) "
            "CREATE (a)-[:REL {tenant: $a, source_id: 'mine', id: 'x', name: 'hasPart', "
            "target: 'theirs', properties: '{}', etag: 'e'}]->(b)",
            a=tenant,
            b=other_tenant,
        )
    node = NodeSelection((Expansion(key="k", direction="out", first=10, total=True),))
    row = await store.lookup_twin(tenant, TwinLookup(id="mine", node=node))
    assert row is not None
    assert all(neighbour is None for _, neighbour in row.expansions["k"].edges)
    incoming = NodeSelection((Expansion(key="k", direction="in", first=10, total=True),))
    theirs = await store.lookup_twin(other_tenant, TwinLookup(id="theirs", node=incoming))
    assert theirs is not None
    assert theirs.expansions["k"].edges == []
    assert theirs.expansions["k"].total == 0
