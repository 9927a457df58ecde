"""Every twin write is validated against the resolved model; errors point at the property."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from graphql_client import Api, error_codes
from twinmesh.ontology import load_paths

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
UPLOAD = "mutation($models: [JSON!]!) { uploadModels(models: $models) { id } }"
CREATE_TWIN = """mutation($input: CreateTwinInput!) {
  createTwin(input: $input) { id model properties components etag }
}"""
CREATE_REL = """mutation($input: CreateRelationshipInput!) {
  createRelationship(input: $input) {
    id name targetRef properties source { id } target { id model }
  }
}"""


def dtmi(name: str) -> str:
    return f"dtmi:twinmesh:building:{name};1"


@pytest.fixture
async def building_api(api: Api) -> Api:
    body = await api(UPLOAD, models=[d.content for d in load_paths([ONTOLOGY])])
    assert "errors" not in body, body
    return api


async def create(api: Api, twin_id: str, model: str, **properties: Any) -> dict[str, Any]:
    return await api(
        CREATE_TWIN, input={"id": twin_id, "model": dtmi(model), "properties": properties}
    )


def violations(body: dict[str, Any]) -> list[tuple[str, str]]:
    assert error_codes(body) == ["VALIDATION_FAILED"], body
    return [(v["path"], v["code"]) for v in body["errors"][0]["extensions"]["violations"]]


async def test_a_valid_twin_with_component_and_complex_values_is_created(
    building_api: Api,
) -> None:
    body = await building_api(
        CREATE_TWIN,
        input={
            "id": "b1",
            "model": dtmi("Building"),
            "properties": {
                "name": "HQ",
                "tags": {"wing": "east"},
                "address": {"street": "1 Mill Lane", "city": "Leeds"},
            },
        },
    )
    assert body["data"]["createTwin"]["properties"]["address"]["city"] == "Leeds"

    room = await building_api(
        CREATE_TWIN,
        input={
            "id": "r1",
            "model": dtmi("Office"),
            "properties": {"name": "Office 1"},
            "components": {"thermostat": {"temperatureSetpoint": 21.5}},
        },
    )
    assert room["data"]["createTwin"]["components"] == {"thermostat": {"temperatureSetpoint": 21.5}}


async def test_unknown_and_mistyped_properties_are_rejected_and_nothing_is_written(
    building_api: Api,
) -> None:
    body = await create(building_api, "b1", "Building", name=42, colour="red")
    assert sorted(violations(body)) == [("/colour", "UNKNOWN_PROPERTY"), ("/name", "WRONG_TYPE")]
    assert (await building_api('{ twin(id: "b1") { id } }'))["data"]["twin"] is None


async def test_nested_object_enum_and_map_errors_point_at_the_value(building_api: Api) -> None:
    body = await create(
        building_api,
        "b1",
        "Building",
        address={"city": 7, "planet": "Mars"},
        energyRating="Z",
        tags={"not a key!": "x"},
    )
    found = dict(violations(body))
    assert found["/address/city"] == "WRONG_TYPE"
    assert found["/address/planet"] in {"UNKNOWN_FIELD", "UNKNOWN_PROPERTY"}
    assert found["/energyRating"] == "NOT_IN_ENUM"
    assert found["/tags/not a key!"] == "INVALID_MAP_KEY"


async def test_component_values_are_validated(building_api: Api) -> None:
    body = await building_api(
        CREATE_TWIN,
        input={
            "id": "r1",
            "model": dtmi("Office"),
            "components": {"thermostat": {"temperatureSetpoint": "warm"}, "ghost": {}},
        },
    )
    found = dict(violations(body))
    assert found["/thermostat/temperatureSetpoint"] == "WRONG_TYPE"
    assert found["/ghost"] == "UNKNOWN_COMPONENT"


async def test_relationships_follow_their_declaration(building_api: Api) -> None:
    await create(building_api, "f1", "Floor", name="F1")
    await create(building_api, "r1", "Office", name="R1")
    await create(building_api, "ahu", "AirHandlingUnit", name="AHU")

    made = await building_api(
        CREATE_REL,
        input={"sourceId": "f1", "id": "p1", "name": "hasPart", "targetId": "r1"},
    )
    assert made["data"]["createRelationship"] == {
        "id": "p1",
        "name": "hasPart",
        "targetRef": "r1",
        "properties": {},
        "source": {"id": "f1"},
        "target": {"id": "r1", "model": dtmi("Office")},
    }

    unknown = await building_api(
        CREATE_REL, input={"sourceId": "f1", "name": "owns", "targetId": "r1"}
    )
    assert violations(unknown) == [("", "UNKNOWN_RELATIONSHIP")]

    wrong_target = await building_api(
        CREATE_REL, input={"sourceId": "f1", "name": "hasPart", "targetId": "ahu"}
    )
    assert violations(wrong_target) == [("", "TARGET_MODEL_MISMATCH")]

    bad_property = await building_api(
        CREATE_REL,
        input={
            "sourceId": "ahu",
            "name": "serves",
            "targetId": "f1",
            "properties": {"since": "2024-02-30"},
        },
    )
    assert violations(bad_property) == [("/properties/since", "INVALID_FORMAT")]


async def test_max_multiplicity_is_enforced(building_api: Api) -> None:
    await create(building_api, "f1", "Floor")
    await create(building_api, "f2", "Floor")
    await create(building_api, "r1", "Office")
    first = await building_api(
        CREATE_REL, input={"sourceId": "r1", "name": "isPartOf", "targetId": "f1"}
    )
    assert "errors" not in first
    second = await building_api(
        CREATE_REL, input={"sourceId": "r1", "name": "isPartOf", "targetId": "f2"}
    )
    assert violations(second) == [("", "MULTIPLICITY_EXCEEDED")]


async def test_remote_targets_skip_the_model_check(building_api: Api) -> None:
    await create(building_api, "plant-feed", "DistrictPlant")
    await create(building_api, "b1", "Building")
    body = await building_api(
        CREATE_REL,
        input={
            "sourceId": "plant-feed",
            "name": "feeds",
            "targetId": "twin://partner.example/t/b9",
        },
    )
    assert body["data"]["createRelationship"]["target"] is None
    assert body["data"]["createRelationship"]["targetRef"] == "twin://partner.example/t/b9"
