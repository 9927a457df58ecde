"""Access policies through the API, on both stores (the demo policy set, policies/demo/).

Lists are filtered inside the read plan, so pages are full, totals count only permitted twins
and traversals never reach a twin the caller may not read and traverse; single reads of a
forbidden twin answer like a missing one; unreadable properties are left out and listed;
forbidden writes change nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_client import bearer, error_codes, settings_for_tests
from twinmesh.bootstrap import Services, build_services
from twinmesh.devtools.campus import generate_campus
from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.http.app import create_app
from twinmesh.ontology import load_paths
from twinmesh.store.port import GraphStore

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
SPACE = "dtmi:twinmesh:building:Space;1"


@pytest.fixture(scope="module")
async def campus(session_store: GraphStore) -> tuple[Services, TenantId, Any]:
    tenant = TenantId(f"p-{uuid.uuid4().hex[:12]}")
    services = build_services(settings_for_tests(), store=session_store)
    services.policies.store.adopt(tenant, "demo")
    await services.models.upload(tenant, [d.content for d in load_paths([ONTOLOGY])])
    campus = generate_campus(tenant, buildings=1, floors=2, rooms=3, seed=11)
    for twin in campus.twins:
        await services.twins.create_twin(
            tenant, NewTwin(twin.id, twin.model, twin.properties, dict(twin.components))
        )
    for rel in campus.relationships:
        await services.twins.create_relationship(
            tenant, NewRelationship(rel.source_id, rel.id, rel.name, rel.target_id, rel.properties)
        )
    return services, tenant, campus


class Caller:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def as_role(
    campus: tuple[Services, TenantId, Any],
) -> Any:
    services, tenant, _ = campus

    async def make(*roles: str) -> AsyncIterator[Caller]:
        transport = httpx.ASGITransport(app=create_app(services))
        headers = bearer(services, tenant, subject="someone", roles=roles)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://policy.test", headers=headers
        ) as client:
            yield Caller(client)

    return make


def spaces_of(campus: Any, services_models: dict[str, Any]) -> list[str]:
    return sorted(t.id for t in campus.twins if SPACE in services_models[t.model].ancestors)


TWINS = """query($first: Int, $after: String) { twins(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id model } } } }"""


async def test_viewer_pages_are_full_and_count_only_spaces(
    campus: tuple[Services, TenantId, Any], as_role: Any
) -> None:
    services, tenant, generated = campus
    interfaces = await services.models.interfaces(tenant)
    spaces = spaces_of(generated, interfaces)
    async for viewer in as_role("viewer"):
        seen: list[str] = []
        after = None
        while True:
            body = await viewer(TWINS, first=4, after=after)
            twins = body["data"]["twins"]
            assert twins["totalCount"] == len(spaces)
            edges = twins["edges"]
            seen += [edge["node"]["id"] for edge in edges]
            if not twins["pageInfo"]["hasNextPage"]:
                break
            assert len(edges) == 4  # a full page whenever more permitted twins exist
            after = twins["pageInfo"]["endCursor"]
    assert sorted(seen) == spaces
    assert len(seen) == len(set(seen))


async def test_traversal_never_reaches_a_forbidden_twin(as_role: Any) -> None:
    query = """{ twin(id: "b1-f1") { relationships { totalCount
        edges { node { name target { id model } } } } } }"""
    async for viewer in as_role("viewer"):
        floor = (await viewer(query))["data"]["twin"]["relationships"]
    names = {edge["node"]["name"] for edge in floor["edges"]}
    assert names == {"hasPart"}  # equipment behind isLocationOf is not a Space
    assert floor["totalCount"] == len(floor["edges"]) == 3
    async for operator in as_role("operator"):
        everything = (await operator(query))["data"]["twin"]["relationships"]
    assert everything["totalCount"] > floor["totalCount"]


async def test_a_forbidden_twin_reads_like_a_missing_one(as_role: Any) -> None:
    query = "query($id: ID!) { twin(id: $id) { id } }"
    async for viewer in as_role("viewer"):
        equipment = await viewer(query, id="b1-f1-ahu")
        missing = await viewer(query, id="no-such-twin")
    assert equipment == missing == {"data": {"twin": None}}


async def test_unreadable_properties_are_left_out_and_listed(as_role: Any) -> None:
    query = '{ twin(id: "b1-f1-ahu") { id properties metadata } }'
    async for operator in as_role("operator"):
        body = await operator(query)
    async for admin in as_role("admin"):
        full = await admin(query)
    assert "serialNumber" in full["data"]["twin"]["properties"]
    assert "serialNumber" not in body["data"]["twin"]["properties"]
    assert "serialNumber" not in body["data"]["twin"]["metadata"]
    assert body["extensions"]["deniedProperties"] == {"b1-f1-ahu": ["serialNumber"]}
    assert "extensions" not in full or "deniedProperties" not in full["extensions"]


async def test_forbidden_writes_change_nothing(as_role: Any) -> None:
    patch = [{"op": "replace", "path": "/name", "value": "renamed"}]
    update = """mutation($id: ID!, $p: [JSONPatchOperation!]!) {
        updateTwin(id: $id, patch: $p) { id properties } }"""
    read = "query($id: ID!) { twin(id: $id) { properties } }"
    async for operator in as_role("operator"):
        refused = await operator(update, id="b1-f1", p=patch)  # a Floor: not equipment
        allowed = await operator(update, id="b1-f1-meter", p=patch)
    async for admin in as_role("admin"):
        floor = await admin(read, id="b1-f1")
    assert error_codes(refused) == ["FORBIDDEN"]
    assert floor["data"]["twin"]["properties"]["name"] != "renamed"
    assert allowed["data"]["updateTwin"]["properties"]["name"] == "renamed"

    async for viewer in as_role("viewer"):
        created = await viewer(
            'mutation { createTwin(input: {id: "v1", model: "dtmi:twinmesh:building:Office;1"}) '
            "{ id } }"
        )
        uploaded = await viewer(
            "mutation($m: [JSON!]!) { uploadModels(models: $m) { id } }",
            m=[{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:x:V;1", "@type": "Interface"}],
        )
    assert error_codes(created) == ["FORBIDDEN"]
    assert error_codes(uploaded) == ["FORBIDDEN"]


async def test_no_role_sees_nothing(as_role: Any) -> None:
    async for nobody in as_role():
        body = await nobody(TWINS, first=10)
    assert body["data"]["twins"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_a_denied_property_stays_hidden_through_aliases_fragments_and_traversals(
    as_role: Any,
) -> None:
    query = """
    fragment Props on Twin { properties }
    query {
      direct: twin(id: "b1-f1-ahu") { id ...Props again: properties }
      list: twins(model: "dtmi:twinmesh:building:Equipment;1", first: 50) {
        edges { node { id properties } } }
      around: twin(id: "b1-f1") { relationships { edges { node { target {
        ... on Twin { id properties }
        relationships { edges { node { target { properties } } } } } } } } }
    }"""
    async for operator in as_role("operator"):
        body = await operator(query)
    assert "errors" not in body, body
    assert "serialNumber" not in str(body["data"])
    assert "serialNumber" in str(body["extensions"]["deniedProperties"])
