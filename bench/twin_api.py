"""The twin API at S scale, on the embedded store and on Neo4j, against the raw-driver floor.

Seeding: ``iter_scale("S", SEED)`` (5 tenants, ~9,900 twins, ~12,400 relationships) goes into an
embedded store in a temporary file and into a Neo4j 5.26 started by ``neo4j_server.running()``,
through ``GraphStore.import_batch`` in chunks of ``CHUNK``, after the sample ontology is uploaded
per tenant.

Contenders, per store and per operation, interleaved round by round (the first one alternates):

- **ours**: the full ASGI app in-process (``httpx.ASGITransport``, no network) posting GraphQL:
  parse, validate, plan, one store call, serialise. One client, operations one after another.
- **raw**: the floor. Neo4j: the Python driver (with ``neo4j-rust-ext``) sending the equivalent
  single Cypher statement as an auto-commit query on one held session. SQLite: stdlib
  ``sqlite3`` on the same file (WAL, ``synchronous=FULL``), the equivalent statement, no thread.

Operations (twins of one tenant; Zipf-skewed choice, s=1, fixed seed): point read, list of 100
rooms, 2-hop (a floor's 20 rooms and their ~100 located things/points), and a durable property
patch of ``/name``. Result parity between ours and raw is checked before any timing.

Each round times ``ops`` operations per contender one after another (latency on one connection):
p50, p99 and ops/s per round; the report gives the median and min-max across rounds and
ours ÷ raw. For Neo4j the statements ours sends per operation are recorded and ``PROFILE``d
(in a rolled-back transaction) next to the raw statement: db hits for each.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import httpx
import orjson
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncSession

from twinmesh.bootstrap import Services, build_services
from twinmesh.config import Settings
from twinmesh.devtools.campus import FLOOR, SCALES, Campus, dtmi, iter_scale
from twinmesh.devtools.neo4j_server import Neo4jServer, open_when_ready, running
from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.http.app import create_app
from twinmesh.ontology import load_paths
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.neo4j import Neo4jStore
from twinmesh.store.port import GraphStore
from twinmesh.store.recording import StatementRecorder

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = ROOT / "ontology"
SCALE = "S"
SEED = 42
CHUNK = 2_000
ROOM = dtmi("Room")
ZIPF_S = 1.0

# Operations per contender per round; warm-up operations per contender before round 1.
OPS: dict[str, int] = {"point_read": 400, "list_100": 120, "two_hop": 120, "patch": 200}
WARMUP = 60
ROUNDS = 5

TITLES = {
    "point_read": "point read",
    "list_100": "list of 100",
    "two_hop": "2-hop (~100 rows)",
    "patch": "property patch",
}

# -- GraphQL documents (ours) --------------------------------------------------------------------

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

# -- the floor: equivalent single statements -----------------------------------------------------

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


# -- plumbing ------------------------------------------------------------------------------------


def pin(pid: int, cpus: set[int]) -> bool:
    """Pin every thread of a process to ``cpus`` (new threads inherit); False if unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        tasks = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tasks = [pid]
    for task in tasks:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(task, cpus)
    return True


def zipf_sequence(pool: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """``count`` draws from ``pool``, Zipf-skewed (rank k has weight 1/k^s), ranks shuffled."""
    ranked = list(pool)
    rng.shuffle(ranked)
    cumulative = list(accumulate(1.0 / (k**ZIPF_S) for k in range(1, len(ranked) + 1)))
    return rng.choices(ranked, cum_weights=cumulative, k=count)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    index = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


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
    ours: Callable[[str], Awaitable[Any]]
    raw: Callable[[str], Awaitable[Any]]
    parity: Callable[[str], Awaitable[Any]]  # raises unless ours and raw agree for the argument


@dataclass
class World:
    """What the operations of one store need."""

    store: str
    tenant: TenantId
    twin_ids: list[str]
    floor_ids: list[str]
    room_models: tuple[str, ...]
    gql: GraphQLClient


def _two_hop_pairs(data: Any) -> list[tuple[str, str]]:
    pairs = []
    for room in data["twin"]["relationships"]["edges"]:
        target = room["node"]["target"]
        for thing in target["relationships"]["edges"]:
            pairs.append((target["id"], thing["node"]["target"]["id"]))
    return pairs


def _check(label: str, ours: Any, raw: Any) -> None:
    if ours != raw:
        raise RuntimeError(f"parity check failed for {label}: ours {ours!r} != raw {raw!r}")


# -- operations per store ------------------------------------------------------------------------


def ours_operations(world: World) -> dict[str, Callable[[str], Awaitable[Any]]]:
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
    raw = {"point_read": point_read, "list_100": list_100, "two_hop": two_hop, "patch": patch}

    async def parity_point(twin_id: str) -> None:
        data = (await ours["point_read"](twin_id))["twin"]
        [(rid, model, etag, properties)] = await point_read(twin_id)
        _check(
            f"point read {twin_id}",
            data,
            {"id": rid, "model": model, "etag": etag, "properties": orjson.loads(properties)},
        )

    async def parity_list(_: str) -> None:
        data = await ours["list_100"]("")
        _check(
            "list of 100",
            [e["node"]["id"] for e in data["twins"]["edges"]],
            [row[0] for row in await list_100("")],
        )

    async def parity_two_hop(floor_id: str) -> None:
        ours_pairs = _two_hop_pairs(await ours["two_hop"](floor_id))
        raw_pairs = [(row[0], row[1]) for row in await two_hop(floor_id)]
        _check(f"2-hop {floor_id}", ours_pairs, raw_pairs)

    async def parity_patch(twin_id: str) -> None:
        await ours["patch"](twin_id)
        [(_, _, _, properties)] = await point_read(twin_id)
        after_ours = orjson.loads(properties)["name"]
        await patch(twin_id)
        data = (await ours["point_read"](twin_id))["twin"]
        [(_, _, _, properties)] = await point_read(twin_id)
        _check(f"patch {twin_id}", data["properties"], orjson.loads(properties))
        if not after_ours.startswith("ours "):
            raise RuntimeError(f"parity check failed for patch {twin_id}: {after_ours!r}")

    try:
        yield _operations(
            world,
            ours,
            raw,
            {
                "point_read": parity_point,
                "list_100": parity_list,
                "two_hop": parity_two_hop,
                "patch": parity_patch,
            },
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
    raw = {"point_read": point_read, "list_100": list_100, "two_hop": two_hop, "patch": patch}

    async def parity_point(twin_id: str) -> None:
        data = (await ours["point_read"](twin_id))["twin"]
        [row] = await point_read(twin_id)
        _check(
            f"point read {twin_id}", data, {**row, "properties": orjson.loads(row["properties"])}
        )

    async def parity_list(_: str) -> None:
        data = await ours["list_100"]("")
        _check(
            "list of 100",
            [e["node"]["id"] for e in data["twins"]["edges"]],
            [row["id"] for row in await list_100("")],
        )

    async def parity_two_hop(floor_id: str) -> None:
        ours_pairs = _two_hop_pairs(await ours["two_hop"](floor_id))
        raw_pairs = [(row["room"], row["id"]) for row in await two_hop(floor_id)]
        _check(f"2-hop {floor_id}", ours_pairs, raw_pairs)

    async def parity_patch(twin_id: str) -> None:
        await ours["patch"](twin_id)
        [row] = await point_read(twin_id)
        documents[twin_id] = orjson.loads(row["properties"])
        if not documents[twin_id]["name"].startswith("ours "):
            raise RuntimeError(f"parity check failed for patch {twin_id}: {row!r}")
        await patch(twin_id)
        data = (await ours["point_read"](twin_id))["twin"]
        _check(f"patch {twin_id}", data["properties"], documents[twin_id])

    # The raw patch writes a whole document computed client-side: load the documents it touches.
    for twin_id in world.twin_ids:
        [row] = await point_read(twin_id)
        documents[twin_id] = orjson.loads(row["properties"])

    yield _operations(
        world,
        ours,
        raw,
        {
            "point_read": parity_point,
            "list_100": parity_list,
            "two_hop": parity_two_hop,
            "patch": parity_patch,
        },
    )


def _operations(
    world: World,
    ours: Mapping[str, Callable[[str], Awaitable[Any]]],
    raw: Mapping[str, Callable[[str], Awaitable[Any]]],
    parity: Mapping[str, Callable[[str], Awaitable[Any]]],
) -> list[Operation]:
    pools = {
        "point_read": world.twin_ids,
        "list_100": [""],
        "two_hop": world.floor_ids,
        "patch": world.twin_ids,
    }
    return [Operation(name, pools[name], ours[name], raw[name], parity[name]) for name in OPS]


# -- measuring -----------------------------------------------------------------------------------


async def _time_round(fn: Callable[[str], Awaitable[Any]], args: Sequence[str]) -> dict[str, Any]:
    gc.collect()
    latencies = []
    clock = time.perf_counter_ns
    started = clock()
    for arg in args:
        t0 = clock()
        await fn(arg)
        latencies.append(clock() - t0)
    elapsed = (clock() - started) / 1e9
    latencies.sort()
    return {
        "p50_ms": percentile(latencies, 0.50) / 1e6,
        "p99_ms": percentile(latencies, 0.99) / 1e6,
        "ops_s": len(args) / elapsed,
    }


async def measure(op: Operation, rounds: int, ops: int, rng: random.Random) -> dict[str, Any]:
    for arg in rng.sample(op.pool, min(5, len(op.pool))):
        await op.parity(arg)
    sequence = zipf_sequence(op.pool, WARMUP + rounds * ops, rng)
    warm, timed = sequence[:WARMUP], sequence[WARMUP:]
    contenders = {"ours": op.ours, "raw": op.raw}
    for fn in contenders.values():
        for arg in warm:
            await fn(arg)
    per_round: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    for index in range(rounds):
        args = timed[index * ops : (index + 1) * ops]
        order = ["ours", "raw"] if index % 2 == 0 else ["raw", "ours"]
        for name in order:
            per_round[name].append(await _time_round(contenders[name], args))
    result: dict[str, Any] = {"ops_per_round": ops, "rounds": rounds}
    for name, rows in per_round.items():
        result[name] = {
            "per_round": rows,
            **{key: spread([row[key] for row in rows]) for key in ("p50_ms", "p99_ms", "ops_s")},
        }
    result["ratio"] = {
        "p50_ours_over_raw": result["ours"]["p50_ms"]["median"] / result["raw"]["p50_ms"]["median"],
        "p99_ours_over_raw": result["ours"]["p99_ms"]["median"] / result["raw"]["p99_ms"]["median"],
        "ops_s_ours_over_raw": result["ours"]["ops_s"]["median"] / result["raw"]["ops_s"]["median"],
    }
    return result


async def statements_of(recorder: StatementRecorder, op: Operation, arg: str) -> list[Any]:
    recorder.clear()
    await op.ours(arg)
    statements = list(recorder.statements)
    recorder.clear()
    return statements


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


# -- seeding -------------------------------------------------------------------------------------


async def seed(services: Services, campuses: Sequence[tuple[str, Campus]]) -> dict[str, Any]:
    documents = [d.content for d in load_paths([ONTOLOGY])]
    twins = relationships = 0
    started = time.perf_counter()
    for name, campus in campuses:
        tenant = TenantId(name)
        await services.models.upload(tenant, documents)
        new_twins = [NewTwin(t.id, t.model, t.properties, dict(t.components)) for t in campus.twins]
        new_rels = [
            NewRelationship(r.source_id, r.id, r.name, r.target_id, r.properties)
            for r in campus.relationships
        ]
        for batch in chunks(new_twins, CHUNK):
            await services.store.import_batch(tenant, batch, [])
        for batch in chunks(new_rels, CHUNK):
            await services.store.import_batch(tenant, [], batch)
        twins += len(new_twins)
        relationships += len(new_rels)
    elapsed = time.perf_counter() - started
    return {
        "twins": twins,
        "relationships": relationships,
        "seconds": elapsed,
        "twins_per_s": twins / elapsed,
        "chunk": CHUNK,
    }


@contextlib.asynccontextmanager
async def app_client(services: Services, tenant: str) -> AsyncIterator[GraphQLClient]:
    """A client of the full app, signed in to ``tenant`` with a development token."""
    assert services.dev_issuer is not None
    token = services.dev_issuer.issue_token(tenant, "bench", roles=("admin",))
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://twinmesh.bench",
        headers={"authorization": f"Bearer {token}"},
    ) as client:
        yield GraphQLClient(client)


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


async def bench_store(
    store_name: str,
    campuses: Sequence[tuple[str, Campus]],
    rounds: int,
    ops_scale: float,
    log: Callable[[str], None],
    neo4j: Neo4jServer | None,
    tmp: Path,
) -> dict[str, Any]:
    recorder = StatementRecorder()
    store: GraphStore
    path = tmp / "twinmesh.sqlite3"
    if neo4j is None:
        store = EmbeddedStore(path, observer=recorder)
        await store.open()
    else:
        store = Neo4jStore(neo4j.uri, observer=recorder)
        await open_when_ready(store)
    tenant, campus = campuses[0]
    # The development issuer's key lives in the bench's temporary directory.
    services = build_services(Settings(auth_dev_issuer=True, data_dir=tmp), store=store)
    result: dict[str, Any] = {}
    unpin: list[int] = []
    try:
        log(f"{store_name}: seeding {SCALE} scale")
        result["seeding"] = await seed(services, campuses)
        recorder.clear()
        if neo4j is not None:
            # Measure with the database on one CPU and this process (ours and raw) on the other.
            cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
            if len(cpus) >= 2 and pin(neo4j.process.pid, {cpus[0]}):
                pin(os.getpid(), {cpus[1]})
                unpin = cpus
                result["pinning"] = f"neo4j on CPU {cpus[0]}, bench process on CPU {cpus[1]}"
            else:
                result["pinning"] = "none"
        rng = random.Random(SEED)
        async with contextlib.AsyncExitStack() as stack:
            gql = await stack.enter_async_context(app_client(services, tenant))
            world = await world_of(store_name, services, TenantId(tenant), campus, gql)
            if neo4j is None:
                operations = await stack.enter_async_context(
                    contextlib.asynccontextmanager(embedded_operations)(world, path)
                )
                driver = None
            else:
                driver = AsyncGraphDatabase.driver(neo4j.uri, auth=("neo4j", ""))
                stack.push_async_callback(driver.close)
                session = await stack.enter_async_context(driver.session(database="neo4j"))
                await (await session.run("CALL db.awaitIndexes(120)")).consume()
                operations = await stack.enter_async_context(
                    contextlib.asynccontextmanager(neo4j_operations)(world, session)
                )
            for op in operations:
                ops = max(10, int(OPS[op.name] * ops_scale))
                log(f"{store_name}: {TITLES[op.name]} ({rounds} rounds x {ops} ops x 2)")
                row = await measure(op, rounds, ops, rng)
                arg = op.pool[0]
                statements = await statements_of(recorder, op, arg)
                row["statements_per_op"] = len(statements)
                if driver is not None:
                    row["db_hits"] = {
                        "ours": sum(
                            [
                                await profile_hits(driver, text, params)
                                for text, params in statements
                            ]
                        ),
                        "raw": await profile_hits(driver, *_raw_statement(op.name, world, arg)),
                    }
                result[op.name] = row
    finally:
        await store.close()
        if unpin:
            pin(os.getpid(), set(unpin))
    return result


def _raw_statement(name: str, world: World, arg: str) -> tuple[str, dict[str, Any]]:
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


async def _run(rounds: int, ops_scale: float, log: Callable[[str], None]) -> dict[str, Any]:
    campuses = list(iter_scale(SCALE, SEED))
    tenants, buildings, floors, rooms = SCALES[SCALE]
    result: dict[str, Any] = {
        "scale": {
            "name": SCALE,
            "seed": SEED,
            "tenants": tenants,
            "buildings": buildings,
            "floors": floors,
            "rooms": rooms,
            "twins": sum(len(c.twins) for _, c in campuses),
            "relationships": sum(len(c.relationships) for _, c in campuses),
        },
        "method": {
            "rounds": rounds,
            "warmup_ops": WARMUP,
            "zipf_s": ZIPF_S,
            "latency": "one client, operations one after another; p50/p99 per round",
            "ours": "full ASGI app in-process via httpx.ASGITransport, GraphQL over POST",
            "raw_neo4j": "neo4j driver (rust ext), auto-commit query on one held session",
            "raw_sqlite": "stdlib sqlite3 on the same file, WAL, synchronous=FULL",
            "patch_floor": "one statement: SET document, leaf, etag, updated_at (no metadata, "
            "no audit, no validation)",
        },
        "stores": {},
    }
    with tempfile.TemporaryDirectory(prefix="twinmesh-bench-") as tmp:
        log("embedded: starting")
        result["stores"]["embedded"] = await bench_store(
            "embedded", campuses, rounds, ops_scale, log, None, Path(tmp)
        )
        log("neo4j: starting the server")
        with running() as server:
            result["neo4j"] = {"version": server.version}
            result["stores"]["neo4j"] = await bench_store(
                "neo4j", campuses, rounds, ops_scale, log, server, Path(tmp)
            )
            result["neo4j"]["pinning"] = result["stores"]["neo4j"].pop("pinning")
    return result


def run(
    *, rounds: int = ROUNDS, ops_scale: float = 1.0, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the whole benchmark (about 3 minutes on 2 cores) and return its result document."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_run(rounds, ops_scale, log))
