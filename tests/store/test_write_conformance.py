"""Conformance of the write port methods on every adapter: read-modify-write under the twin's
lock (``patch_twin``), per-property metadata, delete refusal and cascade, relationship
updates, and tenant isolation with colliding ids."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from twinmesh.domain import (
    NewRelationship,
    NewTwin,
    Relationship,
    TenantId,
    Twin,
    TwinUpdate,
)
from twinmesh.errors import Conflict, NotFound, ValidationFailed
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.port import GraphStore

ROOM = "dtmi:twinmesh:building:Room;1"


async def room(
    store: GraphStore, tenant: TenantId, twin_id: str, components: dict[str, object] | None = None
) -> Twin:
    return await store.create_twin(
        tenant,
        NewTwin(
            id=twin_id,
            model=ROOM,
            properties={"name": twin_id, "n": 0},
            components=components or {},  # type: ignore[arg-type]
        ),
    )


def set_props(**values: object) -> object:
    """A pure callback that sets top-level properties and touches them."""

    def apply(current: Twin) -> TwinUpdate:
        return TwinUpdate(
            {**current.properties, **values},  # type: ignore[dict-item]
            current.components,
            frozenset(values),
        )

    return apply


def increment(current: Twin) -> TwinUpdate:
    n = current.properties["n"]
    assert isinstance(n, int)
    return TwinUpdate({**current.properties, "n": n + 1}, current.components, frozenset({"n"}))


def times(metadata: dict[str, object]) -> dict[str, object]:
    """{name: time} for top-level entries, {comp/name: time} for component members."""
    out: dict[str, object] = {}
    for key, entry in metadata.items():
        assert isinstance(entry, dict)
        if "lastUpdateTime" in entry:
            out[key] = entry["lastUpdateTime"]
        else:
            for name, inner in entry.items():
                out[f"{key}/{name}"] = inner["lastUpdateTime"]
    return out


# -- patch_twin --------------------------------------------------------------------------------


async def test_patch_applies_the_callback_to_the_current_twin(
    store: GraphStore, tenant: TenantId
) -> None:
    created = await room(store, tenant, "r1")
    seen: list[Twin] = []

    def apply(current: Twin) -> TwinUpdate:
        seen.append(current)
        return TwinUpdate({"name": "renamed", "n": 0}, {}, frozenset({"name"}))

    patched = await store.patch_twin(tenant, "r1", apply, if_match=created.etag)

    assert seen[-1] == created
    assert patched.properties == {"name": "renamed", "n": 0}
    assert patched.etag != created.etag
    assert patched.created_at == created.created_at
    assert patched.updated_at >= created.updated_at
    assert await store.get_twin(tenant, "r1") == patched


async def test_patch_rolls_back_when_the_callback_raises(
    store: GraphStore, tenant: TenantId
) -> None:
    created = await room(store, tenant, "r1")

    def refuse(current: Twin) -> TwinUpdate:
        raise ValidationFailed("no")

    with pytest.raises(ValidationFailed):
        await store.patch_twin(tenant, "r1", refuse)
    assert await store.get_twin(tenant, "r1") == created


async def test_patch_with_a_stale_etag_conflicts_and_never_calls_back(
    store: GraphStore, tenant: TenantId
) -> None:
    created = await room(store, tenant, "r1")
    v2 = await store.patch_twin(tenant, "r1", increment)
    calls: list[Twin] = []

    def apply(current: Twin) -> TwinUpdate:
        calls.append(current)
        return increment(current)

    with pytest.raises(Conflict):
        await store.patch_twin(tenant, "r1", apply, if_match=created.etag)
    assert calls == []
    assert await store.get_twin(tenant, "r1") == v2


async def test_concurrent_increments_all_land(store: GraphStore, tenant: TenantId) -> None:
    await room(store, tenant, "r1")
    count = 12

    results = await asyncio.gather(
        *(store.patch_twin(tenant, "r1", increment) for _ in range(count))
    )

    final = await store.get_twin(tenant, "r1")
    assert final is not None
    assert final.properties["n"] == count
    assert sorted(r.properties["n"] for r in results) == list(range(1, count + 1))  # type: ignore[type-var]
    assert len({r.etag for r in results}) == count


async def test_concurrent_patches_with_one_etag_let_exactly_one_win(
    store: GraphStore, tenant: TenantId
) -> None:
    base = await room(store, tenant, "r1")
    results = await asyncio.gather(
        *(store.patch_twin(tenant, "r1", increment, if_match=base.etag) for _ in range(6)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Twin)]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Twin))
    assert await store.get_twin(tenant, "r1") == winners[0]


async def test_patch_on_a_missing_twin_is_not_found(store: GraphStore, tenant: TenantId) -> None:
    with pytest.raises(NotFound):
        await store.patch_twin(tenant, "ghost", increment)


# -- metadata ----------------------------------------------------------------------------------


async def test_creation_stamps_every_property_and_component_member(
    store: GraphStore, tenant: TenantId
) -> None:
    created = await room(
        store, tenant, "r1", {"thermostat": {"mode": "heat", "displayLocked": True}}
    )
    moment = created.created_at
    assert times(created.metadata) == {
        "name": created.metadata["name"]["lastUpdateTime"],  # type: ignore[index]
        "n": created.metadata["n"]["lastUpdateTime"],  # type: ignore[index]
        "thermostat/mode": created.metadata["thermostat"]["mode"]["lastUpdateTime"],  # type: ignore[index]
        "thermostat/displayLocked": created.metadata["thermostat"]["displayLocked"][  # type: ignore[index]
            "lastUpdateTime"
        ],
    }
    assert {datetime.fromisoformat(str(t)) for t in times(created.metadata).values()} == {moment}
    assert await store.get_twin(tenant, "r1") == created


async def test_a_patch_stamps_only_what_it_touches(store: GraphStore, tenant: TenantId) -> None:
    created = await room(
        store, tenant, "r1", {"thermostat": {"mode": "heat", "displayLocked": True}}
    )
    before = times(created.metadata)
    await asyncio.sleep(0.002)

    def apply(current: Twin) -> TwinUpdate:
        thermostat = dict(current.components["thermostat"])  # type: ignore[arg-type]
        thermostat["mode"] = "cool"
        del thermostat["displayLocked"]
        thermostat["temperatureSetpoint"] = 21.0
        properties = {k: v for k, v in current.properties.items() if k != "name"}
        properties["bookable"] = True
        return TwinUpdate(
            properties,
            {"thermostat": thermostat},
            frozenset(
                {
                    "name",
                    "bookable",
                    "thermostat/mode",
                    "thermostat/displayLocked",
                    "thermostat/temperatureSetpoint",
                }
            ),
        )

    patched = await store.patch_twin(tenant, "r1", apply)
    after = times(patched.metadata)
    moment = patched.updated_at.isoformat(timespec="microseconds")

    assert set(after) == {"n", "bookable", "thermostat/mode", "thermostat/temperatureSetpoint"}
    assert after["n"] == before["n"]  # untouched: keeps its time
    assert after["bookable"] == after["thermostat/mode"] == moment
    assert after["thermostat/temperatureSetpoint"] == moment
    assert (await store.get_twin(tenant, "r1")) == patched


async def test_touching_a_whole_component_stamps_all_its_members(
    store: GraphStore, tenant: TenantId
) -> None:
    created = await room(store, tenant, "r1", {"thermostat": {"mode": "heat"}})
    await asyncio.sleep(0.002)

    def apply(current: Twin) -> TwinUpdate:
        return TwinUpdate(
            current.properties,
            {"thermostat": {"mode": "heat", "displayLocked": False}},
            frozenset({"thermostat"}),
        )

    patched = await store.patch_twin(tenant, "r1", apply)
    after = times(patched.metadata)
    moment = patched.updated_at.isoformat(timespec="microseconds")
    assert after["thermostat/mode"] == after["thermostat/displayLocked"] == moment
    assert after["name"] == times(created.metadata)["name"]


async def test_replace_stamps_properties_whose_value_changed(
    store: GraphStore, tenant: TenantId
) -> None:
    created = await room(store, tenant, "r1")
    await asyncio.sleep(0.002)
    replaced = await store.replace_twin(
        tenant, "r1", properties={"name": "r1", "n": 5}, components={}
    )
    after = times(replaced.metadata)
    assert after["name"] == times(created.metadata)["name"]
    assert after["n"] == replaced.updated_at.isoformat(timespec="microseconds")


# -- delete_twin -----------------------------------------------------------------------------


async def linked(store: GraphStore, tenant: TenantId) -> None:
    for twin_id in ("floor", "r1", "r2"):
        await room(store, tenant, twin_id)
    await store.create_relationship(
        tenant, NewRelationship(source_id="floor", id="a", name="hasPart", target="r1")
    )
    await store.create_relationship(
        tenant, NewRelationship(source_id="r2", id="b", name="isPartOf", target="floor")
    )


async def test_delete_refuses_while_relationships_touch_the_twin(
    store: GraphStore, tenant: TenantId
) -> None:
    await linked(store, tenant)

    for twin_id, outgoing, incoming in (("floor", 1, 1), ("r1", 0, 1), ("r2", 1, 0)):
        with pytest.raises(Conflict, match="cascade") as refused:
            await store.delete_twin(tenant, twin_id)
        assert refused.value.details == {"outgoing": outgoing, "incoming": incoming}
        assert await store.get_twin(tenant, twin_id) is not None
    assert [r.id for r in await store.list_relationships(tenant, "floor")] == ["a"]


async def test_delete_after_the_relationships_are_gone_succeeds(
    store: GraphStore, tenant: TenantId
) -> None:
    await linked(store, tenant)
    await store.delete_relationship(tenant, "floor", "a")
    await store.delete_twin(tenant, "r1")
    assert await store.get_twin(tenant, "r1") is None


async def test_delete_with_cascade_removes_relationships_both_ways(
    store: GraphStore, tenant: TenantId
) -> None:
    await linked(store, tenant)
    current = await store.get_twin(tenant, "floor")
    assert current is not None

    with pytest.raises(Conflict):
        await store.delete_twin(tenant, "floor", if_match='W/"stale"', cascade=True)
    await store.delete_twin(tenant, "floor", if_match=current.etag, cascade=True)

    assert await store.get_twin(tenant, "floor") is None
    assert await store.list_relationships(tenant, "r2") == []
    assert await store.list_incoming_relationships(tenant, "r1") == []
    assert await store.get_twin(tenant, "r1") is not None


async def test_a_remote_reference_also_blocks_the_delete(
    store: GraphStore, tenant: TenantId
) -> None:
    await room(store, tenant, "b1")
    await store.create_relationship(
        tenant,
        NewRelationship(source_id="b1", id="fed", name="isFedBy", target="twin://org/t/plant"),
    )
    with pytest.raises(Conflict):
        await store.delete_twin(tenant, "b1")
    await store.delete_twin(tenant, "b1", cascade=True)
    assert await store.get_twin(tenant, "b1") is None


# -- patch_relationship ----------------------------------------------------------------------


async def test_patch_relationship_replaces_properties_and_etag(
    store: GraphStore, tenant: TenantId
) -> None:
    await linked(store, tenant)
    [rel] = await store.list_relationships(tenant, "floor")
    seen: list[Relationship] = []

    def apply(current: Relationship) -> dict[str, object]:
        seen.append(current)
        return {"since": "2024-01-01"}

    patched = await store.patch_relationship(tenant, "floor", "a", apply, if_match=rel.etag)  # type: ignore[arg-type]

    assert seen[-1] == rel
    assert patched.properties == {"since": "2024-01-01"}
    assert (patched.source_id, patched.id, patched.name, patched.target) == (
        "floor",
        "a",
        "hasPart",
        "r1",
    )
    assert patched.etag != rel.etag
    assert await store.list_relationships(tenant, "floor") == [patched]

    with pytest.raises(Conflict):
        await store.patch_relationship(tenant, "floor", "a", apply, if_match=rel.etag)  # type: ignore[arg-type]

    def refuse(current: Relationship) -> dict[str, object]:
        raise ValidationFailed("no")

    with pytest.raises(ValidationFailed):
        await store.patch_relationship(tenant, "floor", "a", refuse)  # type: ignore[arg-type]
    assert await store.list_relationships(tenant, "floor") == [patched]
    with pytest.raises(NotFound):
        await store.patch_relationship(tenant, "floor", "zz", apply)  # type: ignore[arg-type]


# -- tenant isolation ------------------------------------------------------------------------


async def test_new_write_methods_never_cross_tenants(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await linked(store, tenant)
    mine = await store.get_twin(tenant, "r1")
    # The other tenant has the same ids, with no relationships.
    for twin_id in ("floor", "r1"):
        await room(store, other_tenant, twin_id)

    with pytest.raises(NotFound):
        await store.patch_twin(other_tenant, "r2", increment)
    with pytest.raises(NotFound):
        await store.patch_relationship(other_tenant, "floor", "a", lambda r: {"x": 1})
    with pytest.raises(NotFound):
        await store.delete_twin(other_tenant, "r2", cascade=True)

    # Colliding ids: the other tenant's twins are unrelated, so they delete without cascade,
    # and patching one never changes ours.
    theirs = await store.patch_twin(other_tenant, "r1", increment)
    assert theirs.properties["n"] == 1
    await store.delete_twin(other_tenant, "floor")
    await store.delete_twin(other_tenant, "r1")

    assert await store.get_twin(tenant, "r1") == mine
    assert [r.id for r in await store.list_relationships(tenant, "floor")] == ["a"]
    assert [r.id for r in await store.list_incoming_relationships(tenant, "floor")] == ["b"]


# -- embedded data files from before metadata ------------------------------------------------


async def test_an_embedded_file_without_the_metadata_column_is_upgraded(
    tmp_path: Path, tenant: TenantId
) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE twins (tenant TEXT NOT NULL, id TEXT NOT NULL, model TEXT NOT NULL, "
        "properties TEXT NOT NULL, components TEXT NOT NULL, etag TEXT NOT NULL, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (tenant, id)) "
        "WITHOUT ROWID;"
    )
    conn.execute(
        "INSERT INTO twins VALUES (?, 'old', ?, '{\"n\": 1}', '{}', 'W/\"1\"', "
        "'2024-01-01T00:00:00.000000+00:00', '2024-01-01T00:00:00.000000+00:00')",
        (tenant, ROOM),
    )
    conn.commit()
    conn.close()

    store = EmbeddedStore(path)
    await store.open()
    try:
        old = await store.get_twin(tenant, "old")
        assert old is not None
        assert old.metadata == {}
        patched = await store.patch_twin(tenant, "old", increment)
        assert patched.properties == {"n": 2}
        assert set(patched.metadata) == {"n"}
    finally:
        await store.close()
    # Opening again finds the column and leaves it alone.
    await store.open()
    assert await store.get_twin(tenant, "old") == patched
    await store.close()
