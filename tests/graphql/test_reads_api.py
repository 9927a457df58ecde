"""Reads over GraphQL on both stores: twins lists, filters, ordering, cursors, traversals —
each read operation one store statement."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_client import Api, bearer, error_codes, settings_for_tests
from twinmesh.bootstrap import Services, build_services
from twinmesh.devtools.campus import generate_campus
from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.http.app import create_app
from twinmesh.ontology import load_paths
from twinmesh.store.port import GraphStore
from twinmesh.store.recording import StatementRecorder

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"


def dtmi(name: str) -> str:
    return f"dtmi:twinmesh:building:{name};1"


@pytest.fixture(scope="module")
async def campus(session_store: GraphStore) -> tuple[Services, TenantId]:
    """One seeded campus per store for this module (tests here only add twins of their own)."""
    tenant = TenantId(f"c-{uuid.uuid4().hex[:12]}")
    services = build_services(settings_for_tests(), store=session_store)
    await services.models.upload(tenant, [d.content for d in load_paths([ONTOLOGY])])
    campus = generate_campus(tenant, buildings=1, floors=2, rooms=3, seed=7)
    for twin in campus.twins:
        await services.twins.create_twin(
            tenant, NewTwin(twin.id, twin.model, twin.properties, dict(twin.components))
        )
    for rel in campus.relationships:
        await services.twins.create_relationship(
            tenant, NewRelationship(rel.source_id, rel.id, rel.name, rel.target_id, rel.properties)
        )
    return services, tenant


@pytest.fixture
async def campus_api(
    campus: tuple[Services, TenantId], recorder: StatementRecorder
) -> AsyncIterator[Api]:
    services, tenant = campus
    recorder.clear()
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://twinmesh.test", headers=bearer(services, tenant)
    ) as client:
        yield Api(client, services, tenant)


TWINS = """query($model: String, $exact: Boolean! = false, $where: TwinWhere,
                 $orderBy: [TwinOrder!], $first: Int, $after: String) {
  twins(model: $model, exactModel: $exact, where: $where, orderBy: $orderBy,
        first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id model properties } }
  }
}"""


async def twin_ids(api: Api, **variables: Any) -> list[str]:
    body = await api(TWINS, **variables)
    assert "errors" not in body, body
    return [edge["node"]["id"] for edge in body["data"]["twins"]["edges"]]


async def test_model_matches_subtypes_unless_exact(campus_api: Api) -> None:
    rooms = await twin_ids(campus_api, model=dtmi("Room"), first=100)
    spaces = await twin_ids(campus_api, model=dtmi("Space"), first=100)
    exact = await twin_ids(campus_api, model=dtmi("Room"), exact=True, first=100)
    assert len(rooms) == 6
    assert set(rooms) < set(spaces)
    assert {"campus", "b1", "b1-f1", "b1-f2"} <= set(spaces)
    assert exact == []  # every room is an Office, MeetingRoom or Restroom


async def test_where_on_nested_fields_and_combinations(campus_api: Api) -> None:
    body = await campus_api(TWINS, model=dtmi("Building"), first=5)
    building = body["data"]["twins"]["edges"][0]["node"]
    city = building["properties"]["address"]["city"]

    found = await twin_ids(campus_api, where={"property": "/address/city", "eq": city})
    assert found == ["b1"]
    nothing = await twin_ids(
        campus_api,
        where={
            "and": [{"property": "/address/city", "eq": city}, {"not": {"field": "ID", "eq": "b1"}}]
        },
    )
    assert nothing == []
    either = await twin_ids(
        campus_api,
        where={
            "or": [{"field": "ID", "in": ["b1", "campus"]}, {"field": "ID", "startsWith": "zz"}]
        },
    )
    assert either == ["b1", "campus"]


async def test_order_and_cursors_walk_every_twin_once(campus_api: Api) -> None:
    order = [{"property": "/name", "direction": "DESC"}]
    everything = await twin_ids(campus_api, orderBy=order, first=500)
    seen: list[str] = []
    after = None
    inserted = 0
    while True:
        body = await campus_api(TWINS, orderBy=order, first=7, after=after)
        twins = body["data"]["twins"]
        seen += [edge["node"]["id"] for edge in twins["edges"]]
        if not twins["pageInfo"]["hasNextPage"]:
            break
        after = twins["pageInfo"]["endCursor"]
        # Other clients keep inserting while we page.
        inserted += 1
        await campus_api.services.twins.create_twin(
            campus_api.tenant,
            NewTwin(f"late-{uuid.uuid4().hex[:8]}", dtmi("Light"), {"name": f"Late {inserted}"}),
        )
    assert [twin_id for twin_id in seen if not twin_id.startswith("late-")] == everything
    assert len(seen) == len(set(seen))


async def test_total_count_covers_every_page(campus_api: Api) -> None:
    body = await campus_api(TWINS, model=dtmi("CO2Sensor"), first=2)
    twins = body["data"]["twins"]
    assert len(twins["edges"]) == 2
    assert twins["totalCount"] == 6  # one per room
    assert twins["pageInfo"]["hasNextPage"] is True


THREE_LEVELS = """query {
  twin(id: "b1-f1") {
    id
    rooms: relationships(name: "hasPart", first: 2) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          name
          source { id }
          target {
            id
            ...Points
          }
        }
      }
    }
    up: incomingRelationships(name: "hasPart") { edges { node { source { id model } } } }
  }
}
fragment Points on Twin {
  relationships(name: "hasPoint", targetModel: "dtmi:twinmesh:building:Sensor;1") {
    totalCount
    edges { node { target { id model incomingRelationships { totalCount } } } }
  }
}"""


async def test_a_three_level_query_is_one_statement(
    campus_api: Api, recorder: StatementRecorder
) -> None:
    await campus_api(THREE_LEVELS)  # warms the model cache (targetModel needs subtypes)
    # Each replica checks the store for a newer policy version at most once a second; keep
    # that check out of this count, which is about the read.
    campus_api.services.policy_versions.refresh_interval_s = 3600
    recorder.clear()

    body = await campus_api(THREE_LEVELS)

    assert "errors" not in body, body
    assert len(recorder.statements) == 1, recorder.texts()
    twin = body["data"]["twin"]
    rooms = twin["rooms"]
    assert rooms["totalCount"] == 3
    assert rooms["pageInfo"]["hasNextPage"] is True
    [first_room, second_room] = rooms["edges"]
    assert first_room["node"]["source"] == {"id": "b1-f1"}
    points = first_room["node"]["target"]["relationships"]
    assert points["totalCount"] == 3
    assert {edge["node"]["target"]["model"] for edge in points["edges"]} == {
        dtmi("TemperatureSensor"),
        dtmi("CO2Sensor"),
        dtmi("OccupancySensor"),
    }
    assert all(
        edge["node"]["target"]["incomingRelationships"]["totalCount"] == 1
        for edge in points["edges"]
    )
    assert twin["up"]["edges"] == [{"node": {"source": {"id": "b1", "model": dtmi("Building")}}}]
    assert second_room["node"]["target"]["id"] != first_room["node"]["target"]["id"]


async def test_relationship_pages_continue_from_their_cursor(campus_api: Api) -> None:
    query = """query($after: String) { twin(id: "b1-f1") {
        relationships(name: "hasPart", first: 2, after: $after) {
          pageInfo { hasNextPage endCursor } edges { node { target { id } } } } } }"""
    first = (await campus_api(query))["data"]["twin"]["relationships"]
    rest = (await campus_api(query, after=first["pageInfo"]["endCursor"]))["data"]["twin"][
        "relationships"
    ]
    ids = [e["node"]["target"]["id"] for e in first["edges"] + rest["edges"]]
    assert len(ids) == 3
    assert len(set(ids)) == 3
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_mutation_results_resolve_relationships_on_demand(campus_api: Api) -> None:
    body = await campus_api(
        """mutation { createTwin(input: {id: "x1", model: "dtmi:twinmesh:building:Light;1",
             properties: {name: "X"}}) {
             id relationships { totalCount } incomingRelationships { totalCount } } }"""
    )
    assert body["data"]["createTwin"] == {
        "id": "x1",
        "relationships": {"totalCount": 0},
        "incomingRelationships": {"totalCount": 0},
    }


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"after": "not-a-cursor"}, "VALIDATION_FAILED"),
        ({"first": 100000}, "LIMIT_EXCEEDED"),
        ({"first": -1}, "VALIDATION_FAILED"),
        ({"where": {"property": "/na me", "eq": 1}}, "VALIDATION_FAILED"),
        ({"where": {"property": "/name"}}, "VALIDATION_FAILED"),
        ({"where": {"property": "/name", "field": "ID", "eq": "x"}}, "VALIDATION_FAILED"),
        ({"where": {"property": "/name", "eq": {"nested": 1}}}, "VALIDATION_FAILED"),
        ({"where": {"property": "/open", "gt": True}}, "VALIDATION_FAILED"),
        ({"where": {"field": "CREATED_AT", "gt": "yesterday"}}, "VALIDATION_FAILED"),
    ],
)
async def test_bad_arguments_are_clear_errors(
    campus_api: Api, variables: dict[str, Any], code: str
) -> None:
    body = await campus_api(TWINS, **variables)
    assert error_codes(body) == [code]


async def test_a_cursor_from_another_ordering_is_refused(campus_api: Api) -> None:
    body = await campus_api(TWINS, first=1)
    cursor = body["data"]["twins"]["pageInfo"]["endCursor"]
    other = await campus_api(TWINS, first=1, after=cursor, orderBy=[{"property": "/name"}])
    assert error_codes(other) == ["VALIDATION_FAILED"]


async def test_traversals_nest_at_most_four_levels(campus_api: Api) -> None:
    level = "relationships { edges { node { target { id %s } } } }"
    query = '{ twin(id: "campus") { %s } }' % (level % (level % (level % (level % (level % "")))))
    assert error_codes(await campus_api(query)) == ["LIMIT_EXCEEDED"]


async def test_created_at_filters_and_ordering(campus_api: Api) -> None:
    body = await campus_api(TWINS, orderBy=[{"field": "CREATED_AT", "direction": "DESC"}], first=1)
    newest = body["data"]["twins"]["edges"][0]["node"]["id"]
    twin = await campus_api.services.store.get_twin(campus_api.tenant, newest)
    assert twin is not None
    later = await twin_ids(
        campus_api, where={"field": "CREATED_AT", "gt": twin.created_at.isoformat()}
    )
    assert later == []
