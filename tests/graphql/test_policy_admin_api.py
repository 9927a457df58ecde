"""Policy administration over GraphQL: versions, validation, activation, rollback, simulation,
hot reload of policy files; only for callers the policies let administer them."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_client import bearer, error_codes, settings_for_tests
from twinmesh.bootstrap import Services, build_services
from twinmesh.domain import NewTwin, TenantId
from twinmesh.http.app import create_app
from twinmesh.ontology import load_paths
from twinmesh.store.port import GraphStore

ROOT = Path(__file__).resolve().parents[2]
SIMULATE = """query($p: SimulatedPrincipal!, $a: String!, $r: SimulatedResource!, $prop: String) {
  simulate(principal: $p, action: $a, resource: $r, property: $prop) {
    allowed policyIds errors } }"""
VERSIONS = "{ policySets { activeVersion versions { version source policyIds active } } }"


class Setup:
    def __init__(self, services: Services, tenant: TenantId) -> None:
        self.services, self.tenant = services, tenant

    async def as_roles(self, *roles: str) -> AsyncIterator[Any]:
        transport = httpx.ASGITransport(app=create_app(self.services))
        headers = bearer(self.services, self.tenant, subject="pat", roles=roles)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://admin.test", headers=headers
        ) as client:

            async def call(query: str, **variables: Any) -> dict[str, Any]:
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                body: dict[str, Any] = response.json()
                return body

            yield call


@pytest.fixture
async def setup(store: GraphStore, tmp_path: Path) -> Setup:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    tenant = TenantId(f"pa-{uuid.uuid4().hex[:10]}")
    services = build_services(settings_for_tests(policies_dir=policies), store=store)
    await services.models.upload(tenant, [d.content for d in load_paths([ROOT / "ontology"])])
    await services.twins.create_twin(
        tenant, NewTwin("room", "dtmi:twinmesh:building:Office;1", {"name": "Room"})
    )
    await services.twins.create_twin(
        tenant, NewTwin("ahu", "dtmi:twinmesh:building:AirHandlingUnit;1", {"name": "AHU"})
    )
    return Setup(services, tenant)


async def test_admins_see_versions_and_others_are_refused(setup: Setup) -> None:
    async for admin in setup.as_roles("admin"):
        body = await admin(VERSIONS)
    [version] = body["data"]["policySets"]["versions"]
    assert body["data"]["policySets"]["activeVersion"] == 1
    assert version["active"] is True
    assert version["source"] == "disk"
    assert "admin-all" in version["policyIds"]
    async for viewer in setup.as_roles("viewer"):
        assert error_codes(await viewer(VERSIONS)) == ["FORBIDDEN"]
        assert error_codes(await viewer("mutation { rollbackPolicySet(version: 1) }")) == [
            "FORBIDDEN"
        ]


async def test_simulate_names_the_deciding_policies(setup: Setup) -> None:
    viewer = {"subject": "v", "roles": ["viewer"]}
    operator = {"subject": "o", "roles": ["operator"]}
    async for admin in setup.as_roles("admin"):
        room = await admin(SIMULATE, p=viewer, a="readTwin", r={"type": "Twin", "id": "room"})
        ahu = await admin(SIMULATE, p=viewer, a="readTwin", r={"type": "Twin", "id": "ahu"})
        serial = await admin(
            SIMULATE,
            p=operator,
            a="readProperty",
            r={"type": "Twin", "id": "ahu"},
            prop="serialNumber",
        )
        unknown = await admin(SIMULATE, p=viewer, a="fly", r={"type": "Twin", "id": "ahu"})
    assert room["data"]["simulate"] == {
        "allowed": True,
        "policyIds": ["viewer-read-spaces"],
        "errors": [],
    }
    assert ahu["data"]["simulate"] == {"allowed": False, "policyIds": [], "errors": []}
    assert serial["data"]["simulate"]["allowed"] is False
    assert serial["data"]["simulate"]["policyIds"] == ["operator-no-serial-number"]
    assert error_codes(unknown) == ["VALIDATION_FAILED"]


async def test_validate_activate_and_roll_back(setup: Setup) -> None:
    everyone_reads = (
        '@id("admin-all") permit (principal in TwinMesh::Role::"admin", action, resource);\n'
        '@id("viewer-reads-all") permit (principal in TwinMesh::Role::"viewer", '
        'action in [TwinMesh::Action::"readTwin"], resource);'
    )
    broken = '@id("bad") permit (principal, action, resource) when { resource.nope };'
    read_ahu = '{ twin(id: "ahu") { id } }'
    async for admin in setup.as_roles("admin"):
        problems = await admin("mutation($t: String!) { validatePolicySet(text: $t) }", t=broken)
        fine = await admin(
            "mutation($t: String!) { validatePolicySet(text: $t) }", t=everyone_reads
        )
        refused = await admin("mutation($t: String!) { activatePolicySet(text: $t) }", t=broken)
        activated = await admin(
            "mutation($t: String!) { activatePolicySet(text: $t) }", t=everyone_reads
        )
    assert problems["data"]["validatePolicySet"]
    assert fine["data"]["validatePolicySet"] == []
    assert error_codes(refused) == ["VALIDATION_FAILED"]
    assert activated["data"]["activatePolicySet"] == 2
    async for viewer in setup.as_roles("viewer"):
        assert (await viewer(read_ahu))["data"]["twin"] == {"id": "ahu"}

    async for admin in setup.as_roles("admin"):
        rolled = await admin("mutation { rollbackPolicySet(version: 1) }")
        missing = await admin("mutation { rollbackPolicySet(version: 99) }")
        versions = (await admin(VERSIONS))["data"]["policySets"]
    assert rolled["data"]["rollbackPolicySet"] == 3
    assert error_codes(missing) == ["NOT_FOUND"]
    assert [v["source"] for v in versions["versions"]] == ["disk", "api", "rollback"]
    async for viewer in setup.as_roles("viewer"):
        assert (await viewer(read_ahu))["data"]["twin"] is None


async def test_policy_files_hot_reload(setup: Setup) -> None:
    policy_dir = setup.services.policies.store.root
    assert policy_dir is not None
    (policy_dir / setup.tenant).mkdir()
    (policy_dir / setup.tenant / "all.cedar").write_text(
        '@id("viewer-reads-all") permit (principal in TwinMesh::Role::"viewer", '
        'action in [TwinMesh::Action::"readTwin"], resource);'
    )
    deadline = time.monotonic() + 10
    seen = None
    async for viewer in setup.as_roles("viewer"):
        while time.monotonic() < deadline:
            seen = (await viewer('{ twin(id: "ahu") { id } }'))["data"]["twin"]
            if seen is not None:
                break
    assert seen == {"id": "ahu"}


async def test_an_engine_failure_denies(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    import cedarpy

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine down")

    monkeypatch.setattr(cedarpy, "is_authorized_batch", broken)
    monkeypatch.setattr(cedarpy, "is_authorized", broken)
    monkeypatch.setattr(cedarpy, "is_authorized_partial", broken)
    async for admin in setup.as_roles("admin"):
        listed = await admin("{ twins { totalCount edges { node { id } } } }")
        single = await admin('{ twin(id: "room") { id } }')
        write = await admin(
            'mutation { createTwin(input: {id: "x", model: "dtmi:twinmesh:building:Office;1"}) '
            "{ id } }"
        )
    assert listed["data"]["twins"] == {"totalCount": 0, "edges": []}
    assert single["data"]["twin"] is None
    assert error_codes(write) == ["FORBIDDEN"]
