"""What the audit trail costs: durable property patches with audit on vs off (goal 5).

Contenders, over one store holding one small campus (1 building x 4 floors x 20 rooms, ~870
twins) in one tenant, through the full app in-process (GraphQL ``updateTwin`` replacing
``/name``, posted over ``httpx.ASGITransport``):

- **on**: production wiring: each patch's audit event is sealed and appended to the tenant's
  hash chain in the patch's own transaction.
- **off**: the same services over :class:`WithoutAudit`, a bench-only wrapper of the same
  store whose writes pass ``audit=None`` down (and whose ``append_audit`` keeps nothing).
  twinmesh has no setting to turn auditing off, and should not have one.

Stores: the embedded store on a file on disk (WAL, ``synchronous=FULL``, as in production),
and Neo4j 5.26 started by ``neo4j_server.running()`` as ``bench/twin_api.py`` does (database
pinned to one CPU, this process to the other). If Neo4j cannot be provisioned or started, its
row says why and the embedded figures still stand.

Scenarios: 1 client patching twins one after another; 16 concurrent clients, each patching its
own slice of the twins; 16 concurrent clients all patching one single twin. Each round runs a
fixed number of patches per contender and gives applied patches/s (wall clock); a patch the
server refuses (e.g. ``STORE_UNAVAILABLE`` when Neo4j's retries give up) is counted by its
error code, not in the rate. Rounds alternate which contender goes first; the report gives
median (min-max) per contender and off ÷ on of the medians. Before timing, a parity check: a
patch through either contender changes the twin, "on" appends exactly one record per patch and
"off" none.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, cast

import httpx
import orjson

from bench.fixtures import app_http_client, campus_batch, ontology_documents
from bench.measure import pin, pin_apart, pinning, run_async, spread
from bench.twin_operations import PATCH
from twinmesh.audit.records import AuditEvent, SealedRecord
from twinmesh.bootstrap import Services, build_services
from twinmesh.config import Settings
from twinmesh.devtools.campus import generate_campus
from twinmesh.devtools.neo4j_server import Neo4jHarnessError, open_when_ready, running
from twinmesh.domain import TenantId
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.neo4j import Neo4jStore
from twinmesh.store.port import GraphStore

ROOT = Path(__file__).resolve().parents[1]
TENANT = TenantId("bench-audit")
ROUNDS = 5
# Patches per contender and scenario before round 1 (Neo4j's JIT needs more to settle).
WARMUP = {"embedded": 40, "neo4j": 150}
MAX_APART = 0.05  # goal 5: audit on vs off at most 5% apart
SINGLE_TWIN_GOAL = 100.0  # goal 5: patches/s on one single twin
MANY_CLIENTS_GOAL = 2_000.0  # goal 5: patches/s with 16 clients

READ = "query($id: ID!) { twin(id: $id) { properties } }"

# (title, clients, one single twin?) and the patches per round on each store.
SCENARIOS: tuple[tuple[str, int, bool], ...] = (
    ("1 client", 1, False),
    ("16 clients", 16, False),
    ("16 clients, one twin", 16, True),
)
PATCHES = {
    "embedded": {"1 client": 300, "16 clients": 600, "16 clients, one twin": 400},
    "neo4j": {"1 client": 100, "16 clients": 300, "16 clients, one twin": 150},
}
WRITES = (
    "create_twin",
    "replace_twin",
    "patch_twin",
    "delete_twin",
    "create_relationship",
    "delete_relationship",
    "patch_relationship",
    "add_models",
    "decommission_model",
    "delete_model",
    "import_batch",
    "save_tenant",
    "add_policy_version",
)


class WithoutAudit:
    """The store with auditing off (bench only): every write passes ``audit=None`` down."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in WRITES:
            return method

        def unaudited(*args: Any, audit: AuditEvent | None = None, **kwargs: Any) -> Any:
            return method(*args, audit=None, **kwargs)

        return unaudited

    async def append_audit(
        self, tenant: TenantId, events: Sequence[AuditEvent]
    ) -> list[SealedRecord]:
        return []


async def _seed(services: Services) -> list[str]:
    await services.models.upload(TENANT, ontology_documents())
    campus = generate_campus(TENANT, buildings=1, floors=4, rooms=20, seed=5)
    await services.store.import_batch(TENANT, *campus_batch(campus))
    return [t.id for t in campus.twins]


def _slices(twin_ids: Sequence[str], clients: int) -> list[Sequence[str]]:
    """Each client its own twins, so clients contend only for the audit chain."""
    return [twin_ids[k::clients] for k in range(clients)]


class Patcher:
    """A client of the full app signed in to the bench tenant: reads must succeed; a patch
    that fails is counted by its error code (Neo4j can give up on a contended twin)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _post(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            content=orjson.dumps({"query": query, "variables": variables}),
            headers={"content-type": "application/json"},
        )
        body: dict[str, Any] = orjson.loads(response.content)
        if response.status_code != 200:
            raise RuntimeError(f"GraphQL failed ({response.status_code}): {body}")
        return body

    async def query(self, query: str, **variables: Any) -> Any:
        body = await self._post(query, **variables)
        if body.get("errors"):
            raise RuntimeError(f"GraphQL failed: {body['errors']}")
        return body["data"]

    async def patch(self, twin_id: str, name: str) -> str | None:
        """``None`` when the patch was applied, else the error code."""
        errors = (await self._post(PATCH, id=twin_id, name=name)).get("errors")
        return str(errors[0].get("extensions", {}).get("code")) if errors else None


@contextlib.asynccontextmanager
async def patcher(services: Services) -> AsyncIterator[Patcher]:
    async with app_http_client(services, TENANT) as client:
        yield Patcher(client)


async def _round(
    client: Patcher, slices: Sequence[Sequence[str]], patches: int, failed: Counter[str]
) -> float:
    """``patches`` patches split over ``len(slices)`` concurrent clients: applied patches/s;
    the error codes of the others are added to ``failed``."""
    per_client = patches // len(slices)
    names = itertools.count()
    applied = 0

    async def one(ids: Sequence[str]) -> None:
        nonlocal applied
        for i in range(per_client):
            error = await client.patch(ids[i % len(ids)], f"bench {next(names)}")
            if error is None:
                applied += 1
            else:
                failed[error] += 1

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(one(ids) for ids in slices))
    return applied / (time.perf_counter() - started)


async def _parity(store: GraphStore, clients: dict[str, Patcher], twin_id: str) -> None:
    for client in clients.values():  # a tenant's first request adopts the demo policies
        await client.query(READ, id=twin_id)
    for name, client in clients.items():
        head, _ = await store.audit_head(TENANT)
        for value in (f"parity {name}", f"parity {name} 2"):
            if error := await client.patch(twin_id, value):
                raise RuntimeError(f"audit {name}: the parity patch failed with {error}")
        after, _ = await store.audit_head(TENANT)
        value = (await client.query(READ, id=twin_id))["twin"]["properties"]["name"]
        expected = 2 if name == "on" else 0
        if after - head != expected or value != f"parity {name} 2":
            raise RuntimeError(f"audit {name}: {after - head} records (want {expected}), {value}")


async def bench_store(
    store_name: str, store: GraphStore, tmp: Path, rounds: int, ops_scale: float
) -> dict[str, Any]:
    settings = Settings(auth_dev_issuer=True, data_dir=tmp)
    audited = build_services(settings, store=store)
    unaudited = build_services(settings, store=cast(GraphStore, WithoutAudit(store)))
    twin_ids = await _seed(audited)
    result: dict[str, Any] = {"twins": len(twin_ids), "scenarios": {}}
    async with patcher(audited) as on, patcher(unaudited) as off:
        clients_of = {"on": on, "off": off}
        await _parity(store, clients_of, twin_ids[0])
        for title, clients, single in SCENARIOS:
            slices = [[twin_ids[0]]] * clients if single else _slices(twin_ids, clients)
            patches = max(clients, int(PATCHES[store_name][title] * ops_scale))
            warmup = max(WARMUP[store_name], clients)
            for client in clients_of.values():
                await _round(client, slices, warmup, Counter())
            per: dict[str, list[float]] = {"on": [], "off": []}
            failed: dict[str, Counter[str]] = {"on": Counter(), "off": Counter()}
            for index in range(rounds):
                for name in ("on", "off") if index % 2 == 0 else ("off", "on"):
                    rate = await _round(clients_of[name], slices, patches, failed[name])
                    per[name].append(rate)
            on_s, off_s = spread(per["on"]), spread(per["off"])
            ratio = off_s["median"] / on_s["median"]
            goal = SINGLE_TWIN_GOAL if single else MANY_CLIENTS_GOAL if clients == 16 else None
            result["scenarios"][title] = {
                "clients": clients,
                "single_twin": single,
                "patches_per_round": patches,
                "on": {**on_s, "per_round": per["on"], "failed": dict(failed["on"])},
                "off": {**off_s, "per_round": per["off"], "failed": dict(failed["off"])},
                "ratio_off_over_on": ratio,
                "apart_met": abs(ratio - 1) <= MAX_APART,
                "throughput_goal": goal,
                "throughput_met": None if goal is None else on_s["median"] >= goal,
            }
    return result


async def _run(rounds: int, ops_scale: float, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "method": {
            "rounds": rounds,
            "warmup_patches": WARMUP,
            "order": "interleaved, the first contender alternating per round",
            "ours": "full ASGI app in-process via httpx.ASGITransport, GraphQL updateTwin",
            "off": "the same store wrapped so every write passes audit=None (bench-only seam)",
            "embedded": "file on disk, WAL, synchronous=FULL",
        },
        "goals": {
            "max_apart": MAX_APART,
            "single_twin_per_s": SINGLE_TWIN_GOAL,
            "sixteen_clients_per_s": MANY_CLIENTS_GOAL,
        },
        "stores": {},
    }
    # Not /tmp, which may be a tmpfs where fsync costs nothing.
    (ROOT / ".cache").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="audit-bench-", dir=ROOT / ".cache") as tmp:
        log("audit_overhead: embedded store")
        embedded = EmbeddedStore(Path(tmp) / "twinmesh.sqlite3")
        await embedded.open()
        try:
            result["stores"]["embedded"] = await bench_store(
                "embedded", embedded, Path(tmp), rounds, ops_scale
            )
        finally:
            await embedded.close()
        log("audit_overhead: starting Neo4j")
        try:
            with running() as server:
                result["neo4j"] = {"version": server.version}
                store = Neo4jStore(server.uri)
                await open_when_ready(store)
                cpus = pin_apart(server.process.pid)
                result["neo4j"]["pinning"] = pinning(cpus)
                try:
                    log("audit_overhead: neo4j store")
                    result["stores"]["neo4j"] = await bench_store(
                        "neo4j", store, Path(tmp), rounds, ops_scale
                    )
                finally:
                    await store.close()
                    if cpus:
                        pin(os.getpid(), set(cpus))
        except Neo4jHarnessError as exc:
            result["stores"]["neo4j"] = {"skipped": str(exc)}
    return result


def run(
    *, rounds: int = ROUNDS, ops_scale: float = 1.0, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the benchmark (about three minutes on 2 cores) and return its result."""
    return run_async(_run(rounds, ops_scale, log))
