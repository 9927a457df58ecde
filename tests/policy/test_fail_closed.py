"""Any failure of the policy engine denies, with the reason recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from policy.support import POLICIES, dtmi, partner, user
from twinmesh.policy import DENY_ALL, PolicyEngine, PolicyStore, ResourceRef

TwinMaker = Callable[[str, str], ResourceRef]
Family = Callable[[str], tuple[str, ...]]


def test_broken_policy_set_on_disk_denies(
    policy_dir: Path, twin: TwinMaker, family: Family
) -> None:
    (policy_dir / "demo" / "zz-broken.cedar").write_text("permit (principal, action, resource")
    store = PolicyStore.from_directory(policy_dir)
    engine = PolicyEngine(store)
    assert store.active("demo") is None
    assert store.load_errors["demo"]
    decision = engine.authorize("demo", user("admin"), "readTwin", twin("r", dtmi("Room")))
    assert not decision.allowed
    assert decision.errors == ("tenant 'demo' has no active policy set",)
    assert engine.twin_filter("demo", user("admin"), "readTwin", family).where is DENY_ALL


def test_unknown_tenant_and_foreign_principal_deny(engine: PolicyEngine, twin: TwinMaker) -> None:
    room = twin("r", dtmi("Room"))
    assert not engine.authorize(
        "nowhere", user("admin", tenant="nowhere"), "readTwin", room
    ).allowed
    decision = engine.authorize("demo", user("admin", tenant="other"), "readTwin", room)
    assert not decision.allowed
    assert decision.errors == ("the principal belongs to another tenant",)


def test_bad_entity_denies(engine: PolicyEngine) -> None:
    bad = ResourceRef("Twin", "t1", {"model": 5, "models": ["x"]})
    decision = engine.authorize("demo", user("admin"), "readTwin", bad)
    assert not decision.allowed
    assert decision.errors


def test_bad_context_denies(engine: PolicyEngine, twin: TwinMaker) -> None:
    vav = twin("v", dtmi("VAVBox"))
    decision = engine.authorize("demo", user("admin"), "readProperty", vav, {"nope": 1})
    assert not decision.allowed
    assert decision.errors


def test_engine_exception_denies(
    engine: PolicyEngine, twin: TwinMaker, family: Family, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine on fire")

    monkeypatch.setattr(cedarpy, "is_authorized_batch", boom)
    monkeypatch.setattr(cedarpy, "is_authorized_partial", boom)
    admin = user("admin")
    vav = twin("v", dtmi("VAVBox"))
    decision = engine.authorize("demo", admin, "readTwin", vav)
    assert not decision.allowed
    assert decision.errors == ("policy engine error: RuntimeError",)
    assert engine.denied_properties("demo", admin, vav, ["name", "serialNumber"]) == {
        "name",
        "serialNumber",
    }
    result = engine.twin_filter("demo", admin, "readTwin", family)
    assert result.where is DENY_ALL
    assert result.warnings == ("policy engine error: RuntimeError",)


def test_evaluation_error_denies_even_when_another_policy_permits(
    twin: TwinMaker, family: Family
) -> None:
    store = PolicyStore((POLICIES / "schema.cedarschema").read_text())
    store.activate(
        "t",
        """
        @id("all") permit (principal, action, resource);
        @id("overflow") permit (principal, action, resource) when { 9223372036854775807 + 1 > 0 };
        """,
    )
    engine = PolicyEngine(store)
    decision = engine.authorize("t", user(tenant="t"), "readTwin", twin("r", dtmi("Room")))
    assert not decision.allowed
    assert decision.errors
    assert engine.twin_filter("t", user(tenant="t"), "readTwin", family).where is DENY_ALL


def test_partner_principal_with_odd_id_fails_closed(engine: PolicyEngine, family: Family) -> None:
    odd = partner(org="acme\x01example")
    assert engine.twin_filter("demo", odd, "readTwin", family).where is DENY_ALL
