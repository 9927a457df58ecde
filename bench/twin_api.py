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

import contextlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neo4j import AsyncGraphDatabase

from bench.fixtures import app_http_client, campus_batch, ontology_documents
from bench.measure import (
    chunks,
    pin,
    pin_apart,
    pinning,
    run_async,
    spread,
    time_round,
    zipf_sequence,
)
from bench.raw_floor import embedded_operations, neo4j_operations, profile_hits, raw_statement
from bench.twin_operations import GraphQLClient, Operation, world_of
from twinmesh.bootstrap import Services, build_services
from twinmesh.config import Settings
from twinmesh.devtools.campus import SCALES, Campus, iter_scale
from twinmesh.devtools.neo4j_server import Neo4jServer, open_when_ready, running
from twinmesh.domain import TenantId
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.neo4j import Neo4jStore
from twinmesh.store.port import GraphStore
from twinmesh.store.recording import StatementRecorder

SCALE = "S"
SEED = 42
CHUNK = 2_000
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


# -- measuring -----------------------------------------------------------------------------------


async def measure(op: Operation, rounds: int, ops: int, rng: random.Random) -> dict[str, Any]:
    for arg in rng.sample(op.pool, min(5, len(op.pool))):
        await op.parity(arg)
    sequence = zipf_sequence(op.pool, WARMUP + rounds * ops, rng, ZIPF_S)
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
            per_round[name].append(await time_round(contenders[name], args))
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


# -- seeding -------------------------------------------------------------------------------------


async def seed(services: Services, campuses: Sequence[tuple[str, Campus]]) -> dict[str, Any]:
    documents = ontology_documents()
    twins = relationships = 0
    started = time.perf_counter()
    for name, campus in campuses:
        tenant = TenantId(name)
        await services.models.upload(tenant, documents)
        new_twins, new_rels = campus_batch(campus)
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
            unpin = pin_apart(neo4j.process.pid)
            result["pinning"] = pinning(unpin)
        rng = random.Random(SEED)
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(app_http_client(services, tenant))
            gql = GraphQLClient(client)
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
                    # The audit append is left out: replaying it would re-insert a committed
                    # record (its cost is what `--only audit_overhead` measures).
                    twin_statements = [
                        (text, params) for text, params in statements if "Audit" not in text
                    ]
                    row["db_hits"] = {
                        "ours": sum(
                            [
                                await profile_hits(driver, text, params)
                                for text, params in twin_statements
                            ]
                        ),
                        "raw": await profile_hits(driver, *raw_statement(op.name, world, arg)),
                    }
                result[op.name] = row
    finally:
        await store.close()
        if unpin:
            pin(os.getpid(), set(unpin))
    return result


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
    return run_async(_run(rounds, ops_scale, log))
