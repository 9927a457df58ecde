"""Policy set versions: validation, activation, rollback, simulation and hot reload."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from policy.support import POLICIES, dtmi, user
from twinmesh.errors import NotFound, ValidationFailed
from twinmesh.policy import PolicyEngine, PolicyStore, ResourceRef

TwinMaker = Callable[[str, str], ResourceRef]
VIEW_EQUIPMENT = """
@id("viewer-read-equipment")
permit (principal in TwinMesh::Role::"viewer", action == TwinMesh::Action::"readTwin",
        resource is TwinMesh::Twin)
when { resource.models.contains("dtmi:twinmesh:building:Equipment;1") };
"""


def test_demo_policies_validate() -> None:
    store = PolicyStore.from_directory(POLICIES)
    assert store.load_errors == {}
    (version,) = store.versions("demo")
    assert version.version == 1
    assert version.source == "disk"
    assert "operator-no-serial-number" in version.policy_ids
    assert store.validate(version.text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("permit (principal, action, resource", "parse error"),
        ('@id("x") permit (principal, action == TwinMesh::Action::"fly", resource);', "[x]"),
        ("permit (principal, action, resource);", "@id"),
        ('@id("a") permit (principal, action, resource);\n' * 2, "duplicate @id"),
        (
            '@id("bad-attr") permit (principal, action, resource is TwinMesh::Twin)'
            " when { resource.colour == 1 };",
            "[bad-attr]",
        ),
    ],
)
def test_validation_errors(text: str, expected: str) -> None:
    store = PolicyStore((POLICIES / "schema.cedarschema").read_text())
    errors = store.validate(text)
    assert errors
    assert any(expected in e for e in errors), errors
    with pytest.raises(ValidationFailed) as caught:
        store.activate("t", text)
    assert caught.value.details["errors"] == errors
    assert store.active("t") is None
    assert store.versions("t") == []


def test_activate_rollback_simulate(policy_dir: Path, twin: TwinMaker) -> None:
    store = PolicyStore.from_directory(policy_dir)
    engine = PolicyEngine(store)
    viewer = user("viewer")
    vav = twin("vav", dtmi("VAVBox"))
    assert not engine.authorize("demo", viewer, "readTwin", vav).allowed

    v1_text = store.versions("demo")[0].text
    assert store.activate("demo", v1_text + VIEW_EQUIPMENT) == 2
    decision = engine.authorize("demo", viewer, "readTwin", vav)
    assert decision.allowed
    assert decision.policy_ids == ("viewer-read-equipment",)

    # Simulate against any version, active or not.
    assert not engine.simulate("demo", viewer, "readTwin", vav, version=1).allowed
    simulated = engine.simulate("demo", viewer, "readTwin", vav, version=2)
    assert simulated.allowed
    assert simulated.policy_ids == ("viewer-read-equipment",)
    with pytest.raises(NotFound):
        store.version("demo", 9)
    assert not engine.simulate("demo", viewer, "readTwin", vav, version=9).allowed

    assert store.rollback("demo", 1) == 3
    assert not engine.authorize("demo", viewer, "readTwin", vav).allowed
    versions = store.versions("demo")
    assert [(v.version, v.source) for v in versions] == [(1, "disk"), (2, "api"), (3, "rollback")]
    assert versions[2].sha256 == versions[0].sha256
    assert store.active("demo") is not None
    assert store.tenants() == ["demo"]


def test_hot_reload_picks_up_an_edited_file(policy_dir: Path, twin: TwinMaker) -> None:
    store = PolicyStore.from_directory(policy_dir)
    engine = PolicyEngine(store)
    viewer = user("viewer")
    vav = twin("vav", dtmi("VAVBox"))
    assert store.reload_if_changed() == []

    viewer_file = policy_dir / "demo" / "viewer.cedar"
    viewer_file.write_text(viewer_file.read_text() + VIEW_EQUIPMENT)
    assert store.reload_if_changed() == ["demo"]
    assert engine.authorize("demo", viewer, "readTwin", vav).allowed
    assert [v.source for v in store.versions("demo")] == ["disk", "disk"]

    # A broken edit is not activated: the last good version stays, the errors are kept.
    viewer_file.write_text("permit (principal, action")
    assert store.reload_if_changed() == []
    assert "demo" in store.load_errors
    assert engine.authorize("demo", viewer, "readTwin", vav).allowed

    # Touching a file without changing it activates nothing new.
    viewer_file.write_text(VIEW_EQUIPMENT)
    assert store.reload_if_changed() == ["demo"]
    stat = viewer_file.stat()
    os.utime(viewer_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert store.reload_if_changed() == []
    assert len(store.versions("demo")) == 3
    assert "demo" not in store.load_errors

    # A new tenant directory is picked up too.
    (policy_dir / "acme").mkdir()
    (policy_dir / "acme" / "all.cedar").write_text(
        '@id("acme-admin") permit (principal in TwinMesh::Role::"admin", action, resource);'
    )
    assert store.reload_if_changed() == ["acme"]
    assert engine.authorize("acme", user("admin", tenant="acme"), "readTwin", vav).allowed
