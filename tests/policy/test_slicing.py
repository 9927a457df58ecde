"""Slicing a policy set by principal scope never changes a decision."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from twinmesh.auth import Principal
from twinmesh.policy import PolicyEngine, PolicyStore, ResourceRef

ROOT = Path(__file__).resolve().parents[2]
POLICIES = """
@id("admin") permit (principal in TwinMesh::Role::"admin", action, resource);
@id("bob") permit (
  principal == TwinMesh::User::"bob", action == TwinMesh::Action::"readTwin", resource);
@id("users-in-x") permit (
  principal is TwinMesh::User in TwinMesh::Role::"x", action, resource is TwinMesh::Twin)
  when { resource.models.contains("dtmi:a:Space;1") };
@id("partners") permit (
  principal is TwinMesh::Partner, action == TwinMesh::Action::"readTwin", resource);
@id("everyone-reads") permit (
  principal, action == TwinMesh::Action::"readTwin", resource is TwinMesh::Twin)
  when { resource.model == "dtmi:a:Room;1" };
@id("no-serial") forbid (
  principal in TwinMesh::Role::"y", action == TwinMesh::Action::"readProperty", resource)
  when { context.property == "serialNumber" };
@id("x-no-delete") forbid (
  principal in TwinMesh::Role::"x", action == TwinMesh::Action::"deleteTwin", resource);
"""


@pytest.fixture
def engines() -> tuple[PolicyEngine, PolicyEngine]:
    sliced = PolicyEngine(PolicyStore.from_directory(ROOT / "policies"))
    whole = PolicyEngine(PolicyStore.from_directory(ROOT / "policies"))
    whole._slicer.for_principal = lambda compiled, principal: compiled  # type: ignore[method-assign]
    for engine in (sliced, whole):
        engine.store.activate("t", POLICIES)
    return sliced, whole


def test_sliced_and_whole_sets_decide_alike(engines: tuple[PolicyEngine, PolicyEngine]) -> None:
    sliced, whole = engines
    rng = random.Random(5)
    roles = ["admin", "x", "y", "z"]
    models = [("dtmi:a:Room;1", ("dtmi:a:Space;1",)), ("dtmi:a:Pump;1", ())]
    actions = ["readTwin", "deleteTwin", "updateTwin", "readProperty"]
    for _ in range(300):
        kind = rng.choice(["user", "partner"])
        principal = Principal(
            tenant="t",
            subject=rng.choice(["bob", "alice", "acme"]),
            roles=frozenset(rng.sample(roles, rng.randint(0, 2)))
            if kind == "user"
            else frozenset(),
            client_id=None,
            kind=kind,  # type: ignore[arg-type]
            token_id=None,
        )
        model, ancestors = rng.choice(models)
        resource = ResourceRef.twin("t1", model, ancestors)
        action = rng.choice(actions)
        context = (
            {"property": rng.choice(["serialNumber", "name"])} if action == "readProperty" else None
        )
        a = sliced.authorize("t", principal, action, resource, context)  # type: ignore[arg-type]
        b = whole.authorize("t", principal, action, resource, context)  # type: ignore[arg-type]
        assert (a.allowed, sorted(a.policy_ids)) == (b.allowed, sorted(b.policy_ids)), principal
