"""Model registry conformance: the same behaviour on ``embedded`` and ``neo4j``."""

from __future__ import annotations

import pytest

from twinmesh.domain import NewModel, NewTwin, TenantId
from twinmesh.errors import Conflict, ModelInUse, NotFound
from twinmesh.store.port import GraphStore

ROOM = "dtmi:example:Room;1"
FLOOR = "dtmi:example:Floor;1"


def interface(dtmi: str, **extra: object) -> NewModel:
    document = {"@context": "dtmi:dtdl:context;3", "@id": dtmi, "@type": "Interface", **extra}
    return NewModel(id=dtmi, document=document)  # type: ignore[arg-type]


async def test_a_batch_is_stored_and_listed(store: GraphStore, tenant: TenantId) -> None:
    stored = await store.add_models(
        tenant, [interface(ROOM, displayName="Room 🚪"), interface(FLOOR)]
    )
    assert [m.id for m in stored] == [ROOM, FLOOR]
    listed = await store.list_models(tenant)
    assert [m.id for m in listed] == sorted([ROOM, FLOOR])
    room = await store.get_model(tenant, ROOM)
    assert room is not None
    assert room.document["displayName"] == "Room 🚪"
    assert room.decommissioned is False
    assert await store.get_model(tenant, "dtmi:example:Absent;1") is None


async def test_a_batch_with_one_taken_id_stores_nothing(
    store: GraphStore, tenant: TenantId
) -> None:
    await store.add_models(tenant, [interface(ROOM)])
    with pytest.raises(Conflict) as raised:
        await store.add_models(tenant, [interface(FLOOR), interface(ROOM)])
    assert raised.value.details == {"models": [ROOM]}
    assert [m.id for m in await store.list_models(tenant)] == [ROOM]


async def test_registries_are_per_tenant(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await store.add_models(tenant, [interface(ROOM, displayName="mine")])
    await store.add_models(other_tenant, [interface(ROOM, displayName="theirs")])
    mine = await store.get_model(tenant, ROOM)
    assert mine is not None
    assert mine.document["displayName"] == "mine"
    await store.decommission_model(other_tenant, ROOM)
    mine = await store.get_model(tenant, ROOM)
    assert mine is not None
    assert not mine.decommissioned
    await store.delete_model(other_tenant, ROOM)
    assert await store.get_model(tenant, ROOM) is not None


async def test_decommission_is_idempotent(store: GraphStore, tenant: TenantId) -> None:
    await store.add_models(tenant, [interface(ROOM)])
    assert (await store.decommission_model(tenant, ROOM)).decommissioned
    assert (await store.decommission_model(tenant, ROOM)).decommissioned
    with pytest.raises(NotFound):
        await store.decommission_model(tenant, FLOOR)


async def test_a_model_in_use_cannot_be_deleted(store: GraphStore, tenant: TenantId) -> None:
    await store.add_models(tenant, [interface(ROOM)])
    await store.create_twin(tenant, NewTwin(id="room-1", model=ROOM))
    with pytest.raises(ModelInUse):
        await store.delete_model(tenant, ROOM)
    assert await store.get_model(tenant, ROOM) is not None

    await store.delete_twin(tenant, "room-1")
    await store.delete_model(tenant, ROOM)
    assert await store.get_model(tenant, ROOM) is None
    with pytest.raises(NotFound):
        await store.delete_model(tenant, ROOM)


async def test_another_tenants_twins_do_not_hold_a_model(
    store: GraphStore, tenant: TenantId, other_tenant: TenantId
) -> None:
    await store.add_models(tenant, [interface(ROOM)])
    await store.create_twin(other_tenant, NewTwin(id="room-1", model=ROOM))
    await store.delete_model(tenant, ROOM)
    assert await store.get_model(tenant, ROOM) is None
