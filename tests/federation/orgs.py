"""Organisations for in-process federation tests: one app per org, one routing transport.

Each organisation has its own keyring, embedded store and settings; partners reach each other
through :class:`Network`, an httpx transport that routes by host to the organisations' apps
(the three-process tests in test_three_servers.py use real sockets instead).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from twinmesh.bootstrap import Services, build_services
from twinmesh.config import PartnerSettings, Settings
from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.http.app import create_app
from twinmesh.identity import KEYRING_FILE, load_or_create
from twinmesh.ontology import load_paths
from twinmesh.store.embedded import EmbeddedStore

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
BUILDING = "dtmi:twinmesh:building:Building;1"
FLOOR = "dtmi:twinmesh:building:Floor;1"
TENANT = "t"


class Network(httpx.AsyncBaseTransport):
    """Routes requests to the app of the host they are addressed to; others fail to connect."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"cannot connect to {host}", request=request)
        return await self.apps[host].handle_async_request(request)


@dataclass
class Org:
    name: str
    services: Services
    app: Starlette
    client: httpx.AsyncClient

    async def gql(self, query: str, role: str = "admin", **variables: Any) -> dict[str, Any]:
        assert self.services.dev_issuer is not None
        token = self.services.dev_issuer.issue_token(TENANT, "alice", roles=(role,))
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        return body

    async def records(self, action: str | None = None) -> list[dict[str, Any]]:
        import orjson

        store = self.services.store
        head, _ = await store.audit_head(TenantId(TENANT))
        sealed = await store.read_audit(TenantId(TENANT), after_seq=0, through_seq=head, limit=999)
        documents = [orjson.loads(r.text) for r in sealed]
        return [d for d in documents if action is None or d["action"] == action]


def public_keys(data_dir: Path) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = load_or_create(data_dir / KEYRING_FILE).public_document()["keys"]
    return keys


@asynccontextmanager
async def federation(
    names: tuple[str, ...] = ("a.test", "b.test", "c.test"),
    *,
    grants: dict[str, list[str]] | None = None,
) -> AsyncIterator[tuple[dict[str, Org], Network]]:
    """Organisations that all know each other; ``grants[org]`` lists the partners allowed to
    query ``org``'s tenant (default: all)."""
    network = Network()
    dirs = {name: Path(tempfile.mkdtemp(prefix=f"twinmesh-{name}-")) for name in names}
    keys = {name: public_keys(path) for name, path in dirs.items()}
    orgs: dict[str, Org] = {}
    async with AsyncExitStack() as stack:
        for name in names:
            partners = [
                PartnerSettings(
                    org=other,
                    base_url=f"http://{other}",
                    keys=keys[other],
                    tenants=[TENANT] if grants is None or other in grants.get(name, []) else [],
                    remote_tenant=TENANT,
                    timeout_s=2.0,
                )
                for other in names
                if other != name
            ]
            settings = Settings(
                auth_dev_issuer=True,
                data_dir=dirs[name],
                org_id=name,
                public_origin=f"http://{name}",
                partners=partners,
            )
            services = build_services(settings, store=EmbeddedStore())
            services.federation.client._http = httpx.AsyncClient(transport=network)
            app = create_app(services)
            await stack.enter_async_context(app.router.lifespan_context(app))
            network.apps[name] = httpx.ASGITransport(app=app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=network.apps[name], base_url=f"http://{name}")
            )
            orgs[name] = Org(name, services, app, client)
            await seed(services)
        yield orgs, network


async def seed(services: Services) -> None:
    tenant = TenantId(TENANT)
    await services.models.upload(tenant, [d.content for d in load_paths([ONTOLOGY])])
    await services.policy_versions.adopt(tenant, "demo")


async def building(
    org: Org, twin_id: str, *, name: str, links: tuple[str, ...] = (), floor: bool = False
) -> None:
    services, tenant = org.services, TenantId(TENANT)
    await services.twins.create_twin(tenant, NewTwin(twin_id, BUILDING, {"name": name}))
    for n, ref in enumerate(links):
        await services.twins.create_relationship(
            tenant, NewRelationship(twin_id, f"{twin_id}-link{n}", "hasPart", ref)
        )
    if floor:
        await services.twins.create_twin(tenant, NewTwin(f"{twin_id}-f1", FLOOR, {"name": "F1"}))
