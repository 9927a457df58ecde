"""The model registry over GraphQL: upload (atomic), list, get, decommission, delete."""

from __future__ import annotations

from typing import Any

from graphql_client import Api, error_codes

UPLOAD = "mutation($models: [JSON!]!) { uploadModels(models: $models) { id decommissioned } }"
MODELS = "{ models { id decommissioned contents } }"
MODEL = "query($id: String!) { model(id: $id) { id document contents displayName } }"
CREATE_TWIN = """mutation($input: CreateTwinInput!) { createTwin(input: $input) { id model } }"""

BASE = "dtmi:example:Space;1"
ROOM = "dtmi:example:Room;1"


def interface(dtmi: str, *contents: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "@context": "dtmi:dtdl:context;3",
        "@id": dtmi,
        "@type": "Interface",
        "contents": list(contents),
        **extra,
    }


SPACE = interface(BASE, {"@type": "Property", "name": "name", "schema": "string"})
ROOM_DOC = interface(
    ROOM,
    {"@type": "Property", "name": "seats", "schema": "integer", "writable": True},
    extends=BASE,
    displayName="Room",
)


async def test_upload_then_list_and_get_with_resolved_contents(api: Api) -> None:
    uploaded = await api(UPLOAD, models=[SPACE, ROOM_DOC])
    assert uploaded == {
        "data": {
            "uploadModels": [
                {"id": BASE, "decommissioned": False},
                {"id": ROOM, "decommissioned": False},
            ]
        }
    }

    listed = (await api(MODELS))["data"]["models"]
    assert [m["id"] for m in listed] == [ROOM, BASE]
    room = (await api(MODEL, id=ROOM))["data"]["model"]
    assert room["document"] == ROOM_DOC
    assert room["displayName"] == {"en": "Room"}
    assert room["contents"]["ancestors"] == [BASE]
    assert {p["name"]: p["definedIn"] for p in room["contents"]["properties"]} == {
        "name": BASE,
        "seats": ROOM,
    }
    assert (await api(MODEL, id="dtmi:example:Nope;1")) == {"data": {"model": None}}


async def test_a_later_batch_may_extend_uploaded_models(api: Api) -> None:
    await api(UPLOAD, models=[SPACE])
    later = await api(UPLOAD, models=[ROOM_DOC])
    assert later["data"]["uploadModels"] == [{"id": ROOM, "decommissioned": False}]


async def test_an_invalid_batch_is_rejected_whole_with_pointers(api: Api) -> None:
    broken = interface(
        "dtmi:example:Broken;1", {"@type": "Property", "name": "1x", "schema": "double"}
    )
    body = await api(UPLOAD, models=[SPACE, broken])

    assert error_codes(body) == ["VALIDATION_FAILED"]
    [error] = body["errors"]
    [problem] = error["extensions"]["errors"]
    assert problem["file"] == "models[1]"
    assert problem["pointer"] == "/contents/0/name"
    assert (await api(MODELS))["data"]["models"] == []


async def test_unresolved_references_are_listed(api: Api) -> None:
    body = await api(UPLOAD, models=[ROOM_DOC])
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert body["errors"][0]["extensions"]["unresolved"] == [BASE]
    assert (await api(MODELS))["data"]["models"] == []


async def test_uploading_an_existing_dtmi_conflicts_and_stores_nothing_new(api: Api) -> None:
    await api(UPLOAD, models=[SPACE])
    other = interface("dtmi:example:Other;1")
    body = await api(UPLOAD, models=[other, SPACE])
    assert error_codes(body) == ["CONFLICT"]
    assert body["errors"][0]["extensions"]["models"] == [BASE]
    assert [m["id"] for m in (await api(MODELS))["data"]["models"]] == [BASE]


async def test_decommissioned_models_take_no_new_twins(api: Api) -> None:
    await api(UPLOAD, models=[SPACE, ROOM_DOC])
    await api(CREATE_TWIN, input={"id": "r1", "model": ROOM})
    body = await api(
        "mutation($id: String!) { decommissionModel(id: $id) { decommissioned } }", id=ROOM
    )
    assert body == {"data": {"decommissionModel": {"decommissioned": True}}}

    refused = await api(CREATE_TWIN, input={"id": "r2", "model": ROOM})
    assert error_codes(refused) == ["VALIDATION_FAILED"]
    assert "decommissioned" in refused["errors"][0]["message"]
    assert (await api('{ twin(id: "r1") { id } }'))["data"]["twin"] == {"id": "r1"}


async def test_delete_refuses_models_in_use_or_referenced(api: Api) -> None:
    delete = "mutation($id: String!) { deleteModel(id: $id) }"
    await api(UPLOAD, models=[SPACE, ROOM_DOC])
    await api(CREATE_TWIN, input={"id": "r1", "model": ROOM})

    assert error_codes(await api(delete, id=ROOM)) == ["MODEL_IN_USE"]
    referenced = await api(delete, id=BASE)
    assert error_codes(referenced) == ["MODEL_IN_USE"]
    assert referenced["errors"][0]["extensions"]["referencedBy"] == [ROOM]

    await api.services.store.delete_twin(api.tenant, "r1")
    assert (await api(delete, id=ROOM)) == {"data": {"deleteModel": ROOM}}
    assert (await api(delete, id=BASE)) == {"data": {"deleteModel": BASE}}
    assert error_codes(await api(delete, id=BASE)) == ["NOT_FOUND"]


async def test_twins_need_an_uploaded_model(api: Api) -> None:
    body = await api(CREATE_TWIN, input={"id": "x", "model": "dtmi:example:Unknown;1"})
    assert error_codes(body) == ["MODEL_NOT_FOUND"]
