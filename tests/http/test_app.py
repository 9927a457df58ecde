"""The HTTP surface: health endpoints and the first GraphQL field, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlparse

import httpx
import pytest
from starlette.applications import Starlette

from twinmesh.bootstrap import build_services
from twinmesh.config import Settings
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


async def client_for(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twinmesh.test") as c:
            yield c


@pytest.fixture
async def embedded_app() -> AsyncIterator[tuple[httpx.AsyncClient, GraphStore]]:
    store = EmbeddedStore()
    app = create_app(build_services(Settings(), store=store))
    async for client in client_for(app):
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
    app = create_app(build_services(Settings(), store=store))
    try:
        async for client in client_for(app):
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
