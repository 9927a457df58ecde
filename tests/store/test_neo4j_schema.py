"""Neo4j-specific: schema set-up is idempotent and creates the tenant-scoped uniqueness rule."""

from __future__ import annotations

from neo4j import AsyncGraphDatabase

from twinmesh.devtools.neo4j_server import Neo4jServer
from twinmesh.store.neo4j import Neo4jStore


async def test_opening_twice_keeps_one_set_of_constraints(neo4j_server: Neo4jServer) -> None:
    for _ in range(2):
        store = Neo4jStore(neo4j_server.uri)
        await store.open()
        await store.close()

    async with AsyncGraphDatabase.driver(neo4j_server.uri) as driver:
        records, _, _ = await driver.execute_query(
            "SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties RETURN * ORDER BY name"
        )
    rows = [(r["name"], r["labelsOrTypes"], r["properties"]) for r in records]
    assert ("twin_identity", ["Twin"], ["tenant", "id"]) in rows
    assert [name for name, _, _ in rows].count("twin_identity") == 1
