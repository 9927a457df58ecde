"""Policy versions live in the store: shared by replicas, kept across restarts.

Each "server" here is a separate set of services and an app with its own lifespan over one
SQLite file, as two replicas (or a restarted process) would be. The store-level behaviour is
in tests/store/test_audit_conformance.py on both stores.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from graphql_client import bearer, error_codes, settings_for_tests
from twinmesh.bootstrap import Services, build_services
from twinmesh.http.app import create_app
from twinmesh.store.embedded import EmbeddedStore

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SETS = "{ policySets { activeVersion versions { version source } } }"
ACTIVATE = "mutation($text: String!) { activatePolicySet(text: $text) }"
ROLLBACK = "mutation($v: Int!) { rollbackPolicySet(version: $v) }"
ONLY_ADMINS = """
@id("admins") permit(principal in TwinMesh::Role::"admin", action, resource);
"""


class Server:
    def __init__(self, client: httpx.AsyncClient, services: Services) -> None:
        self.client, self.services = client, services

    async def gql(self, query: str, role: str = "admin", **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers=bearer(self.services, "acme", roles=(role,)),
        )
        body: dict[str, Any] = response.json()
        return body

    async def active(self) -> int:
        body = await self.gql(SETS)
        assert "errors" not in body, body
        version: int = body["data"]["policySets"]["activeVersion"]
        return version


@asynccontextmanager
async def server(data: Path, policies: Path) -> AsyncIterator[Server]:
    services = build_services(
        settings_for_tests(policies_dir=policies), store=EmbeddedStore(data / "store.sqlite3")
    )
    services.policy_versions.refresh_interval_s = 0  # replicas converge at once in tests
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as client:
            yield Server(client, services)


def policy_folder(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    root.mkdir()
    shutil.copy(POLICIES / "schema.cedarschema", root)
    shutil.copytree(POLICIES / "demo", root / "acme")
    return root


async def test_replicas_serve_the_same_active_version(tmp_path: Path) -> None:
    root = policy_folder(tmp_path)
    async with server(tmp_path, root) as a, server(tmp_path, root) as b:
        assert await a.active() == await b.active() == 1
        assert "errors" not in await a.gql(ACTIVATE, text=ONLY_ADMINS)
        # B never saw the activation, yet its next request runs under version 2.
        assert await b.active() == 2
        assert error_codes(await b.gql(SETS, role="auditor")) == ["FORBIDDEN"]
        assert (await b.gql(ROLLBACK, v=1))["data"]["rollbackPolicySet"] == 3
        assert await a.active() == 3


async def test_versions_survive_a_restart_until_the_folder_changes(tmp_path: Path) -> None:
    root = policy_folder(tmp_path)
    async with server(tmp_path, root) as first:
        assert "errors" not in await first.gql(ACTIVATE, text=ONLY_ADMINS)
    async with server(tmp_path, root) as restarted:
        body = await restarted.gql(SETS)
        versions = body["data"]["policySets"]["versions"]
        assert [(v["version"], v["source"]) for v in versions] == [(1, "disk"), (2, "api")]
        assert body["data"]["policySets"]["activeVersion"] == 2
    # An edit of the folder while no server runs becomes the next version at start-up.
    edited = root / "acme" / "zz-extra.cedar"
    edited.write_text('@id("extra") forbid(principal, action, resource) when { false };\n')
    async with server(tmp_path, root) as after_edit:
        assert await after_edit.active() == 3
        versions = (await after_edit.gql(SETS))["data"]["policySets"]["versions"]
        assert versions[-1]["source"] == "disk"
