"""The four operations of the twin API benchmark as ours sends them: GraphQL to the full app.

The raw floor they are measured against is in ``bench.raw_floor``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from twinmesh.bootstrap import Services
from twinmesh.devtools.campus import FLOOR, Campus, dtmi
from twinmesh.domain import TenantId

ROOM = dtmi("Room")
NAMES = ("point_read", "list_100", "two_hop", "patch")

OperationFn = Callable[[str], Awaitable[Any]]

POINT_READ = "query($id: ID!) { twin(id: $id) { id model etag properties } }"
LIST_100 = (
    "query($model: String!) { twins(model: $model, first: 100) "
    "{ edges { node { id model properties } } } }"
)
TWO_HOP = (
    'query($id: ID!) { twin(id: $id) { id relationships(name: "hasPart") { edges { node { '
    "target { id relationships { edges { node { target { id properties } } } } } } } } } }"
)
PATCH = (
    "mutation($id: ID!, $name: JSON) { updateTwin(id: $id, "
    'patch: [{op: "replace", path: "/name", value: $name}]) { id etag } }'
)


class GraphQLClient:
    """POSTs GraphQL to the in-process app; any error is fatal (results must be real)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def __call__(self, query: str, **variables: Any) -> Any:
        response = await self._client.post(
            "/graphql",
            content=orjson.dumps({"query": query, "variables": variables}),
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        body = orjson.loads(response.content)
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"GraphQL failed ({response.status_code}): {body}")
        return body["data"]


@dataclass
class Operation:
    name: str
    pool: list[str]  # the arguments (twin ids) the operation draws from
    ours: OperationFn
    raw: OperationFn
    parity: OperationFn  # raises unless ours and raw agree for the argument


@dataclass
class World:
    """What the operations of one store need."""

    store: str
    tenant: TenantId
    twin_ids: list[str]
    floor_ids: list[str]
    room_models: tuple[str, ...]
    gql: GraphQLClient


async def world_of(
    store_name: str, services: Services, tenant: TenantId, campus: Campus, gql: GraphQLClient
) -> World:
    room_models = await services.reads.model_family(tenant, ROOM, exact=False)
    return World(
        store=store_name,
        tenant=tenant,
        twin_ids=[t.id for t in campus.twins],
        floor_ids=[t.id for t in campus.twins if t.model == FLOOR],
        room_models=room_models,
        gql=gql,
    )


def two_hop_pairs(data: Any) -> list[tuple[str, str]]:
    pairs = []
    for room in data["twin"]["relationships"]["edges"]:
        target = room["node"]["target"]
        for thing in target["relationships"]["edges"]:
            pairs.append((target["id"], thing["node"]["target"]["id"]))
    return pairs


def check(label: str, ours: Any, raw: Any) -> None:
    if ours != raw:
        raise RuntimeError(f"parity check failed for {label}: ours {ours!r} != raw {raw!r}")


def ours_operations(world: World) -> dict[str, OperationFn]:
    gql = world.gql
    counter = iter(range(10**9))

    async def point_read(twin_id: str) -> Any:
        return await gql(POINT_READ, id=twin_id)

    async def list_100(_: str) -> Any:
        return await gql(LIST_100, model=ROOM)

    async def two_hop(floor_id: str) -> Any:
        return await gql(TWO_HOP, id=floor_id)

    async def patch(twin_id: str) -> Any:
        return await gql(PATCH, id=twin_id, name=f"ours {next(counter)}")

    return {"point_read": point_read, "list_100": list_100, "two_hop": two_hop, "patch": patch}


def operations(
    world: World,
    ours: Mapping[str, OperationFn],
    raw: Sequence[OperationFn],
    parity: Sequence[OperationFn],
) -> list[Operation]:
    """The operations in the order of ``NAMES``; ``raw`` and ``parity`` are given in that order."""
    pools = {
        "point_read": world.twin_ids,
        "list_100": [""],
        "two_hop": world.floor_ids,
        "patch": world.twin_ids,
    }
    return [
        Operation(name, pools[name], ours[name], raw_fn, parity_fn)
        for name, raw_fn, parity_fn in zip(NAMES, raw, parity, strict=True)
    ]
