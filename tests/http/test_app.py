"""The HTTP surface: health endpoints and the first GraphQL field, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlparse

import httpx
import pytest

from graphql_client import AUTH_DIR, authorised_app, serve_app
from twinmesh.auth import DEV_AUDIENCE, DEV_ISSUER, DevIssuer
from twinmesh.bootstrap import build_services
from twinmesh.config import IssuerSettings, Settings, TenantSettings
from twinmesh.devtools.faultproxy import FaultProxy
from twinmesh.devtools.neo4j_server import Neo4jServer
from twinmesh.domain import NewTwin, TenantId
from twinmesh.http.app import create_app
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.neo4j import Neo4jStore
from twinmesh.store.port import GraphStore

TENANT = TenantId("demo")
ROOM = "dtmi:twinmesh:building:Room;1"
QUERY = "query($id: ID!) { twin(id: $id) { id model properties etag createdAt updatedAt } }"


@pytest.fixture
async def embedded_app() -> AsyncIterator[tuple[httpx.AsyncClient, GraphStore]]:
    store = EmbeddedStore()
    app, auth = authorised_app(store)
    async for client in serve_app(app, auth):
        yield client, store


async def test_livez_answers_ok(embedded_app: tuple[httpx.AsyncClient, GraphStore]) -> None:
    client, _ = embedded_app
    response = await client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_a_reachable_store(
    embedded_app: tuple[httpx.AsyncClient, GraphStore],
) -> None:
    client, _ = embedded_app
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "reachable"}


async def test_graphql_twin_returns_the_twin_or_null(
    embedded_app: tuple[httpx.AsyncClient, GraphStore],
) -> None:
    client, store = embedded_app
    created = await store.create_twin(
        TENANT, NewTwin(id="room-1", model=ROOM, properties={"name": "Room 1"})
    )

    found = await client.post("/graphql", json={"query": QUERY, "variables": {"id": "room-1"}})
    missing = await client.post("/graphql", json={"query": QUERY, "variables": {"id": "nope"}})

    assert found.status_code == 200
    assert found.json() == {
        "data": {
            "twin": {
                "id": "room-1",
                "model": ROOM,
                "properties": {"name": "Room 1"},
                "etag": created.etag,
                "createdAt": created.created_at.isoformat(),
                "updatedAt": created.updated_at.isoformat(),
            }
        }
    }
    assert missing.json() == {"data": {"twin": None}}


async def test_graphiql_is_off_unless_asked_for(
    embedded_app: tuple[httpx.AsyncClient, GraphStore],
) -> None:
    client, _ = embedded_app
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()


async def test_neo4j_outage_fails_readiness_and_requests_cleanly_then_recovers(
    neo4j_server: Neo4jServer,
) -> None:
    bolt = urlparse(neo4j_server.uri)
    assert bolt.hostname is not None
    assert bolt.port is not None
    proxy = FaultProxy(bolt.hostname, bolt.port)
    await proxy.up()
    store = Neo4jStore(f"bolt://127.0.0.1:{proxy.port}", connect_timeout_s=1, retry_budget_s=1)
    app, auth = authorised_app(store)
    try:
        async for client in serve_app(app, auth):
            assert (await client.get("/readyz")).status_code == 200

            await proxy.down()
            ready = await client.get("/readyz")
            answer = await client.post(
                "/graphql", json={"query": QUERY, "variables": {"id": "room-1"}}
            )

            assert ready.status_code == 503
            assert ready.json() == {"status": "unavailable", "store": "unreachable"}
            [error] = answer.json()["errors"]
            assert error["extensions"] == {"code": "STORE_UNAVAILABLE"}
            assert "bolt" not in answer.text.lower()
            assert str(proxy.port) not in answer.text

            await proxy.up()
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await proxy.down()


async def test_graphql_needs_a_valid_token() -> None:
    app, _ = authorised_app()
    async for client in serve_app(app):
        missing = await client.post("/graphql", json={"query": "{ models { id } }"})
        forged = await client.post(
            "/graphql",
            json={"query": "{ models { id } }"},
            headers={"authorization": "Bearer eyJhbGciOiJub25lIn0.e30."},
        )
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert forged.json() == missing.json()  # no hint about what was wrong


async def test_only_declared_enabled_tenants_are_served() -> None:
    dev = DevIssuer.load_or_create(AUTH_DIR)
    issuer = IssuerSettings(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=dev.public_jwks())
    settings = Settings(
        data_dir=AUTH_DIR,
        auth_issuers=[issuer],
        tenants=[TenantSettings(id="acme"), TenantSettings(id="gone", disabled=True)],
    )
    app = create_app(build_services(settings, store=EmbeddedStore()))
    answers = {}
    async for client in serve_app(app):
        for tenant in ("acme", "unknown", "gone"):
            token = dev.issue_token(tenant, "someone")
            answers[tenant] = await client.post(
                "/graphql",
                json={"query": "{ models { id } }"},
                headers={"authorization": f"Bearer {token}"},
            )
    assert answers["acme"].json() == {"data": {"models": []}}
    assert answers["unknown"].status_code == 401
    assert answers["gone"].status_code == 403
    assert answers["gone"].json()["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
