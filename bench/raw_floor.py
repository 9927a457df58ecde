"""The floor of the twin API benchmark: the equivalent single statement per operation, sent raw.

Neo4j: the Python driver on one held session, an auto-commit query. SQLite: stdlib ``sqlite3``
on the store's own file. Each operation comes with a parity check of ours against raw, and
``profile_hits`` counts the db hits of a Cypher statement.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from neo4j import AsyncDriver, AsyncSession

from bench.twin_operations import (
    Operation,
    World,
    check,
    operations,
    ours_operations,
    two_hop_pairs,
)

CYPHER_POINT_READ = (
    "MATCH (t:Twin {tenant: $tenant, id: $id}) "
    "RETURN t.id AS id, t.model AS model, t.etag AS etag, t.properties AS properties"
)
CYPHER_LIST_100 = (
    "MATCH (t:Twin {tenant: $tenant}) WHERE t.model IN $models "
    "RETURN t.id AS id, t.model AS model, t.properties AS properties ORDER BY t.id LIMIT 100"
)
CYPHER_TWO_HOP = (
    "MATCH (f:Twin {tenant: $tenant, id: $id})-[a:REL {name: 'hasPart'}]->(r:Twin)"
    "-[b:REL]->(s:Twin) "
    "RETURN r.id AS room, s.id AS id, s.properties AS properties ORDER BY a.id, b.id"
)
# The write locks the node; the new document was computed client-side (a blind write).
CYPHER_PATCH = (
    "MATCH (t:Twin {tenant: $tenant, id: $id}) "
    "SET t.properties = $properties, t.`p.name` = $name, t.etag = $etag, t.updated_at = $now "
    "RETURN t.etag AS etag"
)

SQL_POINT_READ = "SELECT id, model, etag, properties FROM twins WHERE tenant = ? AND id = ?"
SQL_LIST_100 = (
    "SELECT id, model, properties FROM twins WHERE tenant = ? AND model IN ({marks}) "
    "ORDER BY id LIMIT 100"
)
SQL_TWO_HOP = (
    "SELECT a.target, s.id, s.properties FROM relationships a "
    "JOIN relationships b ON b.tenant = a.tenant AND b.source_id = a.target "
    "JOIN twins s ON s.tenant = b.tenant AND s.id = b.target "
    "WHERE a.tenant = ? AND a.source_id = ? AND a.name = 'hasPart' ORDER BY a.id, b.id"
)
SQL_PATCH = (
    "UPDATE twins SET properties = json_set(properties, '$.name', ?), etag = ?, updated_at = ? "
    "WHERE tenant = ? AND id = ?"
)


async def embedded_operations(world: World, path: Path) -> AsyncIterator[list[Operation]]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous=FULL")  # as durable as the store's commits
    conn.execute("PRAGMA busy_timeout=5000")
    tenant = world.tenant
    list_sql = SQL_LIST_100.format(marks=", ".join("?" for _ in world.room_models))
    counter = iter(range(10**9))

    async def point_read(twin_id: str) -> Any:
        return conn.execute(SQL_POINT_READ, (tenant, twin_id)).fetchall()

    async def list_100(_: str) -> Any:
        return conn.execute(list_sql, (tenant, *world.room_models)).fetchall()

    async def two_hop(floor_id: str) -> Any:
        return conn.execute(SQL_TWO_HOP, (tenant, floor_id)).fetchall()

    async def patch(twin_id: str) -> Any:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
        etag = f'W/"{random.getrandbits(96):024x}"'
        return conn.execute(SQL_PATCH, (f"raw {next(counter)}", etag, now, tenant, twin_id))

    ours = ours_operations(world)

    async def parity_point(twin_id: str) -> None:
        data = (await ours["point_read"](twin_id))["twin"]
        [(rid, model, etag, properties)] = await point_read(twin_id)
        check(
            f"point read {twin_id}",
            data,
            {"id": rid, "model": model, "etag": etag, "properties": orjson.loads(properties)},
        )

    async def parity_list(_: str) -> None:
        data = await ours["list_100"]("")
        check(
            "list of 100",
            [e["node"]["id"] for e in data["twins"]["edges"]],
            [row[0] for row in await list_100("")],
        )

    async def parity_two_hop(floor_id: str) -> None:
        ours_pairs = two_hop_pairs(await ours["two_hop"](floor_id))
        raw_pairs = [(row[0], row[1]) for row in await two_hop(floor_id)]
        check(f"2-hop {floor_id}", ours_pairs, raw_pairs)

    async def parity_patch(twin_id: str) -> None:
        await ours["patch"](twin_id)
        [(_, _, _, properties)] = await point_read(twin_id)
        after_ours = orjson.loads(properties)["name"]
        await patch(twin_id)
        data = (await ours["point_read"](twin_id))["twin"]
        [(_, _, _, properties)] = await point_read(twin_id)
        check(f"patch {twin_id}", data["properties"], orjson.loads(properties))
        if not after_ours.startswith("ours "):
            raise RuntimeError(f"parity check failed for patch {twin_id}: {after_ours!r}")

    try:
        yield operations(
            world,
            ours,
            (point_read, list_100, two_hop, patch),
            (parity_point, parity_list, parity_two_hop, parity_patch),
        )
    finally:
        conn.close()


async def neo4j_operations(world: World, session: AsyncSession) -> AsyncIterator[list[Operation]]:
    tenant = world.tenant
    counter = iter(range(10**9))
    documents: dict[str, dict[str, Any]] = {}

    async def run(statement: str, **params: Any) -> list[dict[str, Any]]:
        result = await session.run(statement, {"tenant": tenant, **params})
        return await result.data()

    async def point_read(twin_id: str) -> Any:
        return await run(CYPHER_POINT_READ, id=twin_id)

    async def list_100(_: str) -> Any:
        return await run(CYPHER_LIST_100, models=list(world.room_models))

    async def two_hop(floor_id: str) -> Any:
        return await run(CYPHER_TWO_HOP, id=floor_id)

    async def patch(twin_id: str) -> Any:
        name = f"raw {next(counter)}"
        document = documents[twin_id]
        document["name"] = name
        return await run(
            CYPHER_PATCH,
            id=twin_id,
            properties=orjson.dumps(document).decode(),
            name=name,
            etag=f'W/"{random.getrandbits(96):024x}"',
            now=time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime()),
        )

    ours = ours_operations(world)

    async def parity_point(twin_id: str) -> None:
        data = (await ours["point_read"](twin_id))["twin"]
        [row] = await point_read(twin_id)
        check(f"point read {twin_id}", data, {**row, "properties": orjson.loads(row["properties"])})

    async def parity_list(_: str) -> None:
        data = await ours["list_100"]("")
        check(
            "list of 100",
            [e["node"]["id"] for e in data["twins"]["edges"]],
            [row["id"] for row in await list_100("")],
        )

    async def parity_two_hop(floor_id: str) -> None:
        ours_pairs = two_hop_pairs(await ours["two_hop"](floor_id))
        raw_pairs = [(row["room"], row["id"]) for row in await two_hop(floor_id)]
        check(f"2-hop {floor_id}", ours_pairs, raw_pairs)

    async def parity_patch(twin_id: str) -> None:
        await ours["patch"](twin_id)
        [row] = await point_read(twin_id)
        documents[twin_id] = orjson.loads(row["properties"])
        if not documents[twin_id]["name"].startswith("ours "):
            raise RuntimeError(f"parity check failed for patch {twin_id}: {row!r}")
        await patch(twin_id)
        data = (await ours["point_read"](twin_id))["twin"]
        check(f"patch {twin_id}", data["properties"], documents[twin_id])

    # The raw patch writes a whole document computed client-side: load the documents it touches.
    for twin_id in world.twin_ids:
        [row] = await point_read(twin_id)
        documents[twin_id] = orjson.loads(row["properties"])

    yield operations(
        world,
        ours,
        (point_read, list_100, two_hop, patch),
        (parity_point, parity_list, parity_two_hop, parity_patch),
    )


def _db_hits(profile: Any) -> int:
    if not profile:
        return 0
    hits = int(profile.get("dbHits", 0) or profile.get("args", {}).get("DbHits", 0))
    return hits + sum(_db_hits(child) for child in profile.get("children", []))


async def profile_hits(driver: AsyncDriver, statement: str, params: dict[str, Any]) -> int:
    """PROFILE one statement inside a transaction that is rolled back (writes leave no trace)."""
    async with driver.session(database="neo4j") as session:
        tx = await session.begin_transaction()
        try:
            result = await tx.run("PROFILE " + statement, params)
            summary = await result.consume()
        finally:
            await tx.rollback()
    return _db_hits(summary.profile)


def raw_statement(name: str, world: World, arg: str) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"tenant": world.tenant, "id": arg}
    if name == "point_read":
        return CYPHER_POINT_READ, params
    if name == "list_100":
        return CYPHER_LIST_100, {**params, "models": list(world.room_models)}
    if name == "two_hop":
        return CYPHER_TWO_HOP, params
    document = orjson.dumps({"name": "profiled"}).decode()
    return CYPHER_PATCH, {
        **params,
        "properties": document,
        "name": "profiled",
        "etag": "x",
        "now": "x",
    }
