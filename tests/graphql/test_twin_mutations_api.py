"""updateTwin (JSON Patch), deleteTwin, deleteRelationship and updateRelationship over GraphQL,
on both stores, with the sample building ontology."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from graphql_client import Api, error_codes
from twinmesh.domain import NewTwin, TenantId
from twinmesh.ontology import load_paths

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
UPLOAD = "mutation($models: [JSON!]!) { uploadModels(models: $models) { id } }"
TWIN_FIELDS = "id model properties components etag createdAt updatedAt metadata"
CREATE_TWIN = (
    f"""mutation($input: CreateTwinInput!) {{ createTwin(input: $input) {{ {TWIN_FIELDS} }} }}"""
)
UPDATE_TWIN = f"""mutation($id: ID!, $patch: [JSONPatchOperation!]!, $ifMatch: String) {{
  updateTwin(id: $id, patch: $patch, ifMatch: $ifMatch) {{ {TWIN_FIELDS} }}
}}"""
GET_TWIN = f"""query($id: ID!) {{ twin(id: $id) {{ {TWIN_FIELDS} }} }}"""
DELETE_TWIN = """mutation($id: ID!, $ifMatch: String, $cascade: Boolean) {
  deleteTwin(id: $id, ifMatch: $ifMatch, cascade: $cascade)
}"""
CREATE_REL = """mutation($input: CreateRelationshipInput!) {
  createRelationship(input: $input) { id name targetRef properties etag }
}"""
DELETE_REL = """mutation($sourceId: ID!, $id: ID!, $ifMatch: String) {
  deleteRelationship(sourceId: $sourceId, id: $id, ifMatch: $ifMatch)
}"""
UPDATE_REL = """mutation(
  $sourceId: ID!, $id: ID!, $patch: [JSONPatchOperation!]!, $ifMatch: String
) {
  updateRelationship(sourceId: $sourceId, id: $id, patch: $patch, ifMatch: $ifMatch) {
    id name targetRef properties etag source { id } target { id }
  }
}"""


def dtmi(name: str) -> str:
    return f"dtmi:twinmesh:building:{name};1"


@pytest.fixture
async def building_api(api: Api) -> Api:
    body = await api(UPLOAD, models=[d.content for d in load_paths([ONTOLOGY])])
    assert "errors" not in body, body
    return api


async def office(api: Api, twin_id: str = "o1") -> dict[str, Any]:
    body = await api(
        CREATE_TWIN,
        input={
            "id": twin_id,
            "model": dtmi("Office"),
            "properties": {
                "name": "Office 1",
                "roomNumber": "1.01",
                "deskCount": 4,
                "tags": {"wing": "east"},
            },
            "components": {"thermostat": {"temperatureSetpoint": 21.0, "mode": "heat"}},
        },
    )
    assert "errors" not in body, body
    twin: dict[str, Any] = body["data"]["createTwin"]
    return twin


async def patch(api: Api, twin_id: str, *ops: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return await api(UPDATE_TWIN, id=twin_id, patch=list(ops), **kw)


async def read(api: Api, twin_id: str) -> dict[str, Any] | None:
    twin: dict[str, Any] | None = (await api(GET_TWIN, id=twin_id))["data"]["twin"]
    return twin


def failure(body: dict[str, Any], code: str = "VALIDATION_FAILED") -> dict[str, Any]:
    assert error_codes(body) == [code], body
    assert body["data"] is None
    error: dict[str, Any] = body["errors"][0]
    return error


# -- updateTwin: every op ------------------------------------------------------------------


async def test_every_json_patch_op_on_properties_and_components(building_api: Api) -> None:
    created = await office(building_api)

    body = await patch(
        building_api,
        "o1",
        {"op": "test", "path": "/name", "value": "Office 1"},
        {"op": "replace", "path": "/name", "value": "Office One"},
        {"op": "add", "path": "/department", "value": "Finance"},
        {"op": "add", "path": "/tags/floor", "value": "2"},
        {"op": "remove", "path": "/tags/wing"},
        {"op": "copy", "from": "/department", "path": "/tags/dept"},
        {"op": "move", "from": "/tags/floor", "path": "/tags/level"},
        {"op": "replace", "path": "/thermostat/temperatureSetpoint", "value": 22.5},
        {"op": "add", "path": "/thermostat/displayLocked", "value": True},
        {"op": "remove", "path": "/thermostat/mode"},
        {"op": "test", "path": "/thermostat/temperatureSetpoint", "value": 22.5},
        ifMatch=created["etag"],
    )

    assert "errors" not in body, body
    twin = body["data"]["updateTwin"]
    assert twin["properties"] == {
        "name": "Office One",
        "roomNumber": "1.01",
        "deskCount": 4,
        "tags": {"dept": "Finance", "level": "2"},
        "department": "Finance",
    }
    assert twin["components"] == {
        "thermostat": {"temperatureSetpoint": 22.5, "displayLocked": True}
    }
    assert twin["etag"] != created["etag"]
    assert twin["createdAt"] == created["createdAt"]
    # Read your writes.
    assert await read(building_api, "o1") == twin


async def test_a_whole_component_can_be_added_replaced_and_removed(building_api: Api) -> None:
    await office(building_api)
    body = await patch(
        building_api, "o1", {"op": "replace", "path": "/thermostat", "value": {"mode": "cool"}}
    )
    assert body["data"]["updateTwin"]["components"] == {"thermostat": {"mode": "cool"}}
    body = await patch(building_api, "o1", {"op": "remove", "path": "/thermostat"})
    assert body["data"]["updateTwin"]["components"] == {}
    body = await patch(
        building_api, "o1", {"op": "add", "path": "/thermostat", "value": {"mode": "auto"}}
    )
    assert body["data"]["updateTwin"]["components"] == {"thermostat": {"mode": "auto"}}
    assert (await read(building_api, "o1"))["components"] == {"thermostat": {"mode": "auto"}}  # type: ignore[index]


async def test_a_failed_test_op_changes_nothing_and_names_the_op(building_api: Api) -> None:
    created = await office(building_api)
    body = await patch(
        building_api,
        "o1",
        {"op": "replace", "path": "/name", "value": "changed"},
        {"op": "test", "path": "/deskCount", "value": 5},
    )
    error = failure(body)
    assert error["extensions"]["index"] == 1
    assert error["extensions"]["op"] == "test"
    assert error["extensions"]["path"] == "/deskCount"
    assert await read(building_api, "o1") == created

    # JSON equality: true is not 1.
    strict = await patch(
        building_api, "o1", {"op": "test", "path": "/thermostat/mode", "value": True}
    )
    assert failure(strict)["extensions"]["index"] == 0


@pytest.mark.parametrize(
    ("op", "index"),
    [
        ({"op": "remove", "path": "/nothing"}, 1),
        ({"op": "replace", "path": "/nothing", "value": 1}, 1),
        ({"op": "add", "path": "/tags/a/b", "value": "x"}, 1),
        ({"op": "move", "from": "/nothing", "path": "/name"}, 1),
        ({"op": "copy", "from": "/nothing", "path": "/name"}, 1),
        ({"op": "test", "path": "/nothing", "value": 1}, 1),
        ({"op": "frobnicate", "path": "/name"}, 1),
        ({"op": "add", "path": "name", "value": "x"}, 1),
        ({"op": "add", "path": "/name"}, 1),
        ({"op": "move", "path": "/name"}, 1),
        ({"op": "replace", "path": "", "value": {}}, 1),
    ],
)
async def test_bad_ops_and_paths_are_validation_failures(
    building_api: Api, op: dict[str, Any], index: int
) -> None:
    created = await office(building_api)
    body = await patch(building_api, "o1", {"op": "add", "path": "/department", "value": "x"}, op)
    assert failure(body)["extensions"]["index"] == index
    assert await read(building_api, "o1") == created


async def test_the_patched_twin_is_validated_against_its_model(building_api: Api) -> None:
    created = await office(building_api)
    body = await patch(
        building_api,
        "o1",
        {"op": "replace", "path": "/deskCount", "value": "four"},
        {"op": "add", "path": "/colour", "value": "red"},
        {"op": "replace", "path": "/thermostat/mode", "value": "warm"},
    )
    found = {(v["path"], v["code"]) for v in failure(body)["extensions"]["violations"]}
    assert found == {
        ("/deskCount", "WRONG_TYPE"),
        ("/colour", "UNKNOWN_PROPERTY"),
        ("/thermostat/mode", "NOT_IN_ENUM"),
    }
    assert await read(building_api, "o1") == created


async def test_non_writable_properties_cannot_be_changed_or_removed(building_api: Api) -> None:
    created = await office(building_api)
    for op in (
        {"op": "replace", "path": "/roomNumber", "value": "9.99"},
        {"op": "remove", "path": "/roomNumber"},
        {"op": "add", "path": "/externalId", "value": "x-1"},
    ):
        body = await patch(building_api, "o1", op)
        violations = failure(body)["extensions"]["violations"]
        assert [v["code"] for v in violations] == ["NOT_WRITABLE"], body
    assert await read(building_api, "o1") == created

    # A component property that is not writable (Equipment's nameplate).
    light = await building_api(
        CREATE_TWIN,
        input={
            "id": "l1",
            "model": dtmi("Light"),
            "components": {"nameplate": {"ratedPower": 0.1}},
        },
    )
    assert "errors" not in light, light
    body = await patch(
        building_api, "l1", {"op": "replace", "path": "/nameplate/ratedPower", "value": 0.2}
    )
    assert [(v["path"], v["code"]) for v in failure(body)["extensions"]["violations"]] == [
        ("/nameplate/ratedPower", "NOT_WRITABLE")
    ]
    # Writable ones next to it still update.
    ok = await patch(building_api, "l1", {"op": "add", "path": "/switchedOn", "value": True})
    assert ok["data"]["updateTwin"]["properties"] == {"switchedOn": True}


async def test_stale_etag_is_a_conflict_and_changes_nothing(building_api: Api) -> None:
    created = await office(building_api)
    first = await patch(
        building_api,
        "o1",
        {"op": "replace", "path": "/deskCount", "value": 5},
        ifMatch=created["etag"],
    )
    assert "errors" not in first
    stale = await patch(
        building_api,
        "o1",
        {"op": "replace", "path": "/deskCount", "value": 6},
        ifMatch=created["etag"],
    )
    failure(stale, "CONFLICT")
    assert await read(building_api, "o1") == first["data"]["updateTwin"]


async def test_metadata_tracks_each_property_update(building_api: Api) -> None:
    created = await office(building_api)
    meta = created["metadata"]
    stamp = meta["name"]["lastUpdateTime"]
    assert set(meta) == {"name", "roomNumber", "deskCount", "tags", "thermostat"}
    assert set(meta["thermostat"]) == {"temperatureSetpoint", "mode"}
    assert meta["thermostat"]["mode"] == {"lastUpdateTime": stamp}

    await asyncio.sleep(0.002)
    body = await patch(
        building_api,
        "o1",
        {"op": "replace", "path": "/thermostat/mode", "value": "cool"},
        {"op": "add", "path": "/tags/floor", "value": "2"},
        {"op": "remove", "path": "/deskCount"},
    )
    twin = body["data"]["updateTwin"]
    after = twin["metadata"]
    assert set(after) == {"name", "roomNumber", "tags", "thermostat"}
    assert after["name"] == meta["name"]
    assert after["thermostat"]["temperatureSetpoint"] == meta["thermostat"]["temperatureSetpoint"]
    changed = after["thermostat"]["mode"]["lastUpdateTime"]
    assert changed > stamp
    assert after["tags"]["lastUpdateTime"] == changed
    assert (await read(building_api, "o1"))["metadata"] == after  # type: ignore[index]


async def test_concurrent_increments_without_if_match_all_land(building_api: Api) -> None:
    await office(building_api)
    count = 8

    async def increment() -> None:
        # Read-free: a test of the value each one saw, retried on the loser's failure.
        while True:
            current = await read(building_api, "o1")
            assert current is not None
            desks = current["properties"]["deskCount"]
            body = await patch(
                building_api,
                "o1",
                {"op": "test", "path": "/deskCount", "value": desks},
                {"op": "replace", "path": "/deskCount", "value": desks + 1},
            )
            if "errors" not in body:
                return
            assert error_codes(body) == ["VALIDATION_FAILED"], body

    await asyncio.gather(*(increment() for _ in range(count)))
    assert (await read(building_api, "o1"))["properties"]["deskCount"] == 4 + count  # type: ignore[index]


async def test_writes_on_unknown_ids_are_not_found(building_api: Api) -> None:
    replace = {"op": "replace", "path": "/name", "value": "x"}
    failure(await patch(building_api, "ghost", replace), "NOT_FOUND")
    failure(await patch(building_api, "", replace), "NOT_FOUND")
    failure(await building_api(DELETE_TWIN, id="ghost"), "NOT_FOUND")
    failure(await building_api(DELETE_REL, sourceId="ghost", id="r"), "NOT_FOUND")
    failure(await building_api(UPDATE_REL, sourceId="ghost", id="r", patch=[replace]), "NOT_FOUND")


async def test_twins_of_another_tenant_answer_like_missing_ones(building_api: Api) -> None:
    other = building_api.services
    outsider = TenantId(f"x-{building_api.tenant}")
    await other.store.create_twin(outsider, NewTwin(id="theirs", model=dtmi("Office")))
    replace = {"op": "add", "path": "/name", "value": "x"}
    failure(await patch(building_api, "theirs", replace), "NOT_FOUND")
    failure(await building_api(DELETE_TWIN, id="theirs", cascade=True), "NOT_FOUND")
    assert await other.store.get_twin(outsider, "theirs") is not None


# -- deleteTwin ----------------------------------------------------------------------------


async def floor_and_office(api: Api) -> dict[str, Any]:
    await api(CREATE_TWIN, input={"id": "f1", "model": dtmi("Floor")})
    await office(api)
    body = await api(
        CREATE_REL, input={"sourceId": "f1", "id": "p1", "name": "hasPart", "targetId": "o1"}
    )
    assert "errors" not in body, body
    rel: dict[str, Any] = body["data"]["createRelationship"]
    return rel


async def test_delete_twin_refuses_while_related_and_cascades_on_request(
    building_api: Api,
) -> None:
    await floor_and_office(building_api)

    for twin_id in ("f1", "o1"):  # outgoing, then incoming
        refused = failure(await building_api(DELETE_TWIN, id=twin_id), "CONFLICT")
        assert "cascade: true" in refused["message"]
        assert "delete the relationships first" in refused["message"]
        assert await read(building_api, twin_id) is not None

    office_twin = await read(building_api, "o1")
    assert office_twin is not None
    stale = await building_api(DELETE_TWIN, id="o1", ifMatch='W/"stale"', cascade=True)
    failure(stale, "CONFLICT")

    body = await building_api(DELETE_TWIN, id="o1", ifMatch=office_twin["etag"], cascade=True)
    assert body == {"data": {"deleteTwin": "o1"}}
    assert await read(building_api, "o1") is None
    assert await building_api.services.store.list_relationships(building_api.tenant, "f1") == []

    # Unrelated now: deletes without cascade.
    assert await building_api(DELETE_TWIN, id="f1") == {"data": {"deleteTwin": "f1"}}
    assert await read(building_api, "f1") is None


# -- relationships -------------------------------------------------------------------------


async def test_delete_relationship_honours_etag(building_api: Api) -> None:
    rel = await floor_and_office(building_api)

    failure(await building_api(DELETE_REL, sourceId="f1", id="p1", ifMatch='W/"x"'), "CONFLICT")
    assert len(await building_api.services.store.list_relationships(building_api.tenant, "f1")) == 1

    body = await building_api(DELETE_REL, sourceId="f1", id="p1", ifMatch=rel["etag"])
    assert body == {"data": {"deleteRelationship": "p1"}}
    assert await building_api.services.store.list_relationships(building_api.tenant, "f1") == []
    failure(await building_api(DELETE_REL, sourceId="f1", id="p1"), "NOT_FOUND")
    # Nothing relates to the twins any more: a plain delete works.
    assert await building_api(DELETE_TWIN, id="o1") == {"data": {"deleteTwin": "o1"}}


async def test_update_relationship_patches_declared_properties(building_api: Api) -> None:
    await building_api(CREATE_TWIN, input={"id": "ahu", "model": dtmi("AirHandlingUnit")})
    await building_api(CREATE_TWIN, input={"id": "vav", "model": dtmi("VAVBox")})
    made = await building_api(
        CREATE_REL,
        input={
            "sourceId": "ahu",
            "id": "feed",
            "name": "feeds",
            "targetId": "vav",
            "properties": {"medium": "air"},
        },
    )
    rel = made["data"]["createRelationship"]

    body = await building_api(
        UPDATE_REL,
        sourceId="ahu",
        id="feed",
        patch=[
            {"op": "test", "path": "/medium", "value": "air"},
            {"op": "add", "path": "/since", "value": "2024-03-01"},
        ],
        ifMatch=rel["etag"],
    )
    assert "errors" not in body, body
    updated = body["data"]["updateRelationship"]
    assert updated["properties"] == {"medium": "air", "since": "2024-03-01"}
    assert updated["source"] == {"id": "ahu"}
    assert updated["target"] == {"id": "vav"}
    assert updated["etag"] != rel["etag"]

    stale = await building_api(
        UPDATE_REL,
        sourceId="ahu",
        id="feed",
        patch=[{"op": "remove", "path": "/since"}],
        ifMatch=rel["etag"],
    )
    failure(stale, "CONFLICT")
    invalid = await building_api(
        UPDATE_REL,
        sourceId="ahu",
        id="feed",
        patch=[
            {"op": "replace", "path": "/medium", "value": "steam"},
            {"op": "add", "path": "/x", "value": 1},
        ],
    )
    found = {(v["path"], v["code"]) for v in failure(invalid)["extensions"]["violations"]}
    assert found == {("/properties/medium", "NOT_IN_ENUM"), ("/properties/x", "UNKNOWN_PROPERTY")}
    [stored] = await building_api.services.store.list_relationships(building_api.tenant, "ahu")
    assert stored.properties == {"medium": "air", "since": "2024-03-01"}
