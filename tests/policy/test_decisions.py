"""Decisions of the demo tenant's policies, per role, with the deciding policy ids."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policy.support import dtmi, partner, user
from twinmesh.errors import Forbidden
from twinmesh.policy import ACTIONS, PolicyEngine, PolicyStore, ResourceRef
from twinmesh.policy.engine import PARTNER_ACTIONS, TWIN_ACTIONS

TwinMaker = Callable[[str, str], ResourceRef]


def test_admin_may_do_everything(engine: PolicyEngine, twin: TwinMaker) -> None:
    admin = user("admin")
    vav = twin("vav-1", dtmi("VAVBox"))
    for action in ("readTwin", "createTwin", "updateTwin", "deleteTwin", "traverse"):
        decision = engine.authorize("demo", admin, action, vav)
        assert decision.allowed, action
        assert decision.policy_ids == ("admin-all",)
    assert engine.authorize("demo", admin, "uploadModels", ResourceRef.model(dtmi("Room"))).allowed
    assert engine.authorize("demo", admin, "administerPolicies", ResourceRef.policy_set()).allowed
    assert engine.authorize("demo", admin, "exportAudit", ResourceRef.audit_log()).allowed


def test_operator_updates_points_and_equipment_only(engine: PolicyEngine, twin: TwinMaker) -> None:
    op = user("operator")
    for model in ("VAVBox", "TemperatureSensor", "Equipment", "PressureSetpoint"):
        decision = engine.authorize("demo", op, "updateTwin", twin("t", dtmi(model)))
        assert decision.allowed, model
        assert decision.policy_ids == ("operator-update-points-equipment",)
    for model in ("Room", "Building", "Asset"):
        decision = engine.authorize("demo", op, "updateTwin", twin("t", dtmi(model)))
        assert not decision.allowed, model
        assert decision.policy_ids == ()
        assert decision.errors == ()
    room = twin("r", dtmi("Room"))
    assert engine.authorize("demo", op, "readTwin", room).policy_ids == ("operator-read",)
    assert not engine.authorize("demo", op, "deleteTwin", twin("v", dtmi("VAVBox"))).allowed
    assert not engine.authorize("demo", op, "uploadModels", ResourceRef.model("m")).allowed


def test_operator_may_not_read_serial_numbers(engine: PolicyEngine, twin: TwinMaker) -> None:
    op = user("operator")
    vav = twin("vav-1", dtmi("VAVBox"))
    denied = engine.denied_properties("demo", op, vav, ["serialNumber", "name", "nameplate/weight"])
    assert denied == frozenset({"serialNumber"})
    decision = engine.authorize("demo", op, "readProperty", vav, {"property": "serialNumber"})
    assert not decision.allowed
    assert decision.policy_ids == ("operator-no-serial-number",)
    assert engine.denied_properties("demo", user("admin"), vav, ["serialNumber"]) == frozenset()
    assert engine.denied_properties("demo", op, vav, []) == frozenset()


def test_property_writes(engine: PolicyEngine, twin: TwinMaker) -> None:
    vav = twin("vav-1", dtmi("VAVBox"))
    room = twin("room-1", dtmi("Room"))
    op = user("operator")
    assert engine.denied_property_writes("demo", op, vav, ["operatingMode"]) == frozenset()
    names = ["bookable", "thermostat/mode"]
    assert engine.denied_property_writes("demo", op, room, names) == frozenset(names)
    viewer = user("viewer")
    assert engine.denied_property_writes("demo", viewer, vav, ["name"]) == {"name"}


def test_viewer_reads_spaces_only(engine: PolicyEngine, twin: TwinMaker) -> None:
    viewer = user("viewer")
    for model in ("Space", "Campus", "Building", "Floor", "Room", "MeetingRoom"):
        for action in ("readTwin", "traverse"):
            decision = engine.authorize("demo", viewer, action, twin("s", dtmi(model)))
            assert decision.allowed, (model, action)
            assert decision.policy_ids == ("viewer-read-spaces",)
    for model in ("VAVBox", "Point", "Entity"):
        assert not engine.authorize("demo", viewer, "readTwin", twin("x", dtmi(model))).allowed
    assert not engine.authorize("demo", viewer, "updateTwin", twin("s", dtmi("Room"))).allowed


def test_partner_reads_buildings_only(engine: PolicyEngine, twin: TwinMaker) -> None:
    org = partner()
    building = twin("b1", dtmi("Building"))
    decision = engine.authorize("demo", org, "readTwin", building)
    assert decision.allowed
    assert decision.policy_ids == ("partner-read-buildings",)
    assert engine.authorize("demo", org, "traverse", building).allowed
    assert not engine.authorize("demo", org, "readTwin", twin("f", dtmi("Floor"))).allowed
    # Partners can never write, whatever a policy says: the schema rejects the request.
    assert not engine.authorize("demo", org, "updateTwin", building).allowed


def test_require_raises_forbidden(engine: PolicyEngine, twin: TwinMaker) -> None:
    room = twin("r", dtmi("Room"))
    assert engine.require("demo", user("viewer"), "readTwin", room).allowed
    with pytest.raises(Forbidden) as caught:
        engine.require("demo", user("viewer"), "deleteTwin", room)
    assert caught.value.code == "FORBIDDEN"


def test_auditor_and_nobody(engine: PolicyEngine, twin: TwinMaker) -> None:
    auditor = user("auditor")
    assert engine.authorize("demo", auditor, "exportAudit", ResourceRef.audit_log()).policy_ids == (
        "auditor-audit",
    )
    assert not engine.authorize("demo", auditor, "readTwin", twin("r", dtmi("Room"))).allowed
    assert not engine.authorize("demo", user(), "readTwin", twin("r", dtmi("Room"))).allowed


def test_relationship_resources(engine: PolicyEngine, twin: TwinMaker) -> None:
    rel = ResourceRef.relationship("rel-1", "contains", twin("b1", dtmi("Building")))
    assert engine.authorize("demo", user("operator"), "traverse", rel).allowed
    assert not engine.authorize("demo", user("viewer"), "traverse", rel).allowed


def test_batch_matches_single_decisions(engine: PolicyEngine, twin: TwinMaker) -> None:
    twins = [twin(f"t{i}", dtmi(m)) for i, m in enumerate(["Room", "VAVBox", "Building", "Room"])]
    viewer = user("viewer")
    batch = engine.authorize_batch("demo", viewer, "readTwin", twins)
    assert [d.allowed for d in batch] == [True, False, True, True]
    assert batch == [engine.authorize("demo", viewer, "readTwin", t) for t in twins]
    assert engine.authorize_batch("demo", viewer, "readTwin", []) == []


def test_partner_action_table_matches_schema(engine: PolicyEngine, twin: TwinMaker) -> None:
    """PARTNER_ACTIONS (used by the push-down) agrees with the schema's appliesTo."""
    store = PolicyStore(engine.store.schema_text)
    store.activate("t", '@id("all") permit (principal, action, resource);')
    permissive = PolicyEngine(store)
    building = twin("b", dtmi("Building"))
    for action in ACTIONS:
        if action not in TWIN_ACTIONS:
            continue
        context = {"property": "name"} if action.endswith("Property") else None
        decision = permissive.authorize("t", partner(tenant="t"), action, building, context)
        assert decision.allowed == (action in PARTNER_ACTIONS), action
