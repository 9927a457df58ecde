"""Platform administrators create, list, disable and enable tenants over the API."""

from __future__ import annotations

import httpx

from graphql_client import AUTH_DIR, serve_app
from twinmesh.auth import DEV_AUDIENCE, DEV_ISSUER, DevIssuer
from twinmesh.bootstrap import build_services
from twinmesh.config import IssuerSettings, Settings, TenantSettings
from twinmesh.http.app import create_app
from twinmesh.store.embedded import EmbeddedStore

MODELS = {"query": "{ models { id } }"}


async def test_a_platform_administrator_manages_tenants() -> None:
    dev = DevIssuer.load_or_create(AUTH_DIR)
    settings = Settings(
        data_dir=AUTH_DIR,
        auth_issuers=[
            IssuerSettings(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=dev.public_jwks())
        ],
        tenants=[TenantSettings(id="platform"), TenantSettings(id="declared")],
    )
    app = create_app(build_services(settings, store=EmbeddedStore()))

    def auth(tenant: str, *roles: str) -> dict[str, str]:
        return {"authorization": f"Bearer {dev.issue_token(tenant, 'someone', roles=roles)}"}

    admin = auth("platform", "platform-admin")

    async def ask(client: httpx.AsyncClient, query: str, headers: dict[str, str]) -> httpx.Response:
        return await client.post("/graphql", json={"query": query}, headers=headers)

    async for client in serve_app(app):
        before = await client.post("/graphql", json=MODELS, headers=auth("acme"))
        created = await ask(
            client, 'mutation { createTenant(id: "acme") { id disabled source } }', admin
        )
        after = await client.post("/graphql", json=MODELS, headers=auth("acme"))
        again = await ask(client, 'mutation { createTenant(id: "acme") { id } }', admin)
        bad = await ask(client, 'mutation { createTenant(id: "Not A Tenant") { id } }', admin)
        disabled = await ask(
            client, 'mutation { disableTenant(id: "declared") { id disabled } }', admin
        )
        refused = await client.post("/graphql", json=MODELS, headers=auth("declared"))
        await ask(client, 'mutation { enableTenant(id: "declared") { id } }', admin)
        back = await client.post("/graphql", json=MODELS, headers=auth("declared"))
        listed = await ask(client, "{ tenants { id disabled source } }", admin)
        not_admin = await ask(client, "{ tenants { id } }", auth("platform"))
        other_tenant_admin = await ask(client, "{ tenants { id } }", auth("acme", "platform-admin"))

    assert before.status_code == 401  # unknown tenant
    assert created.json()["data"]["createTenant"] == {
        "id": "acme",
        "disabled": False,
        "source": "api",
    }
    assert after.json() == {"data": {"models": []}}
    assert again.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert bad.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert disabled.json()["data"]["disableTenant"] == {"id": "declared", "disabled": True}
    assert refused.status_code == 403
    assert back.json() == {"data": {"models": []}}
    assert listed.json()["data"]["tenants"] == [
        {"id": "acme", "disabled": False, "source": "api"},
        {"id": "declared", "disabled": False, "source": "settings"},
        {"id": "platform", "disabled": False, "source": "settings"},
    ]
    assert not_admin.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert other_tenant_admin.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
