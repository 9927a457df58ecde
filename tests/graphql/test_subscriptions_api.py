"""``Subscription.twinChanges`` over WebSocket (graphql-transport-ws), SECURITY.md item 40."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from graphql_client import bearer, settings_for_tests
from twinmesh.bootstrap import Services, build_services
from twinmesh.domain import TenantId
from twinmesh.http.app import create_app
from twinmesh.ontology import load_paths
from twinmesh.store.embedded import EmbeddedStore

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
BUILDING = "dtmi:twinmesh:building:Building;1"
TENANT = "subs"
SUBSCRIBE = (
    "subscription($after: Int) { twinChanges(after: $after) "
    "{ seq action twinId twin { id properties } } }"
)
NO_READS = """
@id("admins-administer")
permit(principal, action == TwinMesh::Action::"administerPolicies", resource);
@id("admins-write") permit(principal, action in [TwinMesh::Action::"createTwin",
  TwinMesh::Action::"updateTwin", TwinMesh::Action::"writeProperty"], resource);
"""
ONLY_B2 = (
    NO_READS
    + """
@id("b2-only") permit(principal, action in [TwinMesh::Action::"readTwin",
  TwinMesh::Action::"readProperty"], resource == TwinMesh::Twin::"b2");
"""
)


class Harness:
    """A real uvicorn server on a loopback port; HTTP through httpx, WebSocket through
    ``websockets``."""

    def __init__(self, http: httpx.AsyncClient, services: Services, ws_url: str) -> None:
        self.http, self.services, self.ws_url = http, services, ws_url

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers=bearer(self.services, TENANT),
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body

    async def create(self, twin_id: str, name: str) -> None:
        await self.gql(
            "mutation($i: CreateTwinInput!) { createTwin(input: $i) { id } }",
            i={"id": twin_id, "model": BUILDING, "properties": {"name": name}},
        )

    async def rename(self, twin_id: str, name: str) -> None:
        await self.gql(
            "mutation($id: ID!, $p: [JSONPatchOperation!]!) { updateTwin(id: $id, patch: $p) "
            "{ id } }",
            id=twin_id,
            p=[{"op": "replace", "path": "/name", "value": name}],
        )

    async def policies(self, text: str) -> None:
        await self.gql("mutation($t: String!) { activatePolicySet(text: $t) }", t=text)

    def connect(self) -> Any:
        return connect(self.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")])


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    services = build_services(settings_for_tests(), store=EmbeddedStore())
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            h = Harness(http, services, f"ws://127.0.0.1:{port}/graphql")
            await h.gql(
                "mutation($m: [JSON!]!) { uploadModels(models: $m) { id } }",
                m=[d.content for d in load_paths([ONTOLOGY])],
            )
            yield h
    finally:
        server.should_exit = True
        await task


async def subscribe(ws: Any, authorization: str, after: int | None = None) -> None:
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": authorization}})
    )
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    payload = {"query": SUBSCRIBE, "variables": {"after": after}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))


async def next_change(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    assert message["type"] == "next", message
    change: dict[str, Any] = message["payload"]["data"]["twinChanges"]
    return change


async def test_changes_arrive_and_stop_when_read_access_is_revoked(harness: Harness) -> None:
    token = bearer(harness.services, TENANT)["authorization"]
    start, _ = await harness.services.store.audit_head(TenantId(TENANT))
    async with harness.connect() as ws:
        await subscribe(ws, token, after=start)
        await harness.create("b1", "One")
        first = await next_change(ws)
        assert (first["action"], first["twinId"]) == ("createTwin", "b1")
        assert first["twin"]["properties"] == {"name": "One"}

        await harness.policies(NO_READS)  # nobody may read twins any more
        await harness.rename("b1", "Secret")  # never delivered: b1 is unreadable from now on
        await harness.policies(ONLY_B2)  # the subscriber may read b2 only
        await harness.create("b2", "Two")
        # Changes come in order, so b1's rename would have come first had it been delivered.
        after = await next_change(ws)
        assert (after["action"], after["twinId"]) == ("createTwin", "b2")


async def test_a_subscription_resumes_after_a_sequence_number(harness: Harness) -> None:
    token = bearer(harness.services, TENANT)["authorization"]
    await harness.create("r1", "Before")
    start, _ = await harness.services.store.audit_head(TenantId(TENANT))
    await harness.rename("r1", "Missed while away")
    async with harness.connect() as ws:
        await subscribe(ws, token, after=start)
        change = await next_change(ws)
        assert change["action"] == "updateTwin"
        assert change["seq"] == start + 1


async def test_a_forged_token_is_refused(harness: Harness) -> None:
    token = bearer(harness.services, TENANT)["authorization"]
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    for authorization in (forged, "", "Bearer nonsense"):
        async with harness.connect() as ws:
            init = {"type": "connection_init", "payload": {"authorization": authorization}}
            await ws.send(json.dumps(init))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), timeout=10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403


async def test_subscriptions_do_not_run_over_http(harness: Harness) -> None:
    response = await harness.http.post(
        "/graphql", json={"query": SUBSCRIBE}, headers=bearer(harness.services, TENANT)
    )
    assert "errors" in response.json()
