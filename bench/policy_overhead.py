"""What access policies cost: point read and list of 100 under a 500-rule policy set.

One embedded store (in memory) holds one campus, twice, in two tenants. Tenant ``open`` has a
single unconditional ``permit`` for the caller's role: the cheapest decision Cedar can make, the
stand-in for "policies off" (twinmesh has no switch to turn authorisation off). Tenant ``ruled``
has 500 rules: 480 permits for other roles (about other models), 19 forbids of single
properties for other roles, and the caller's own permit on Spaces and Equipment, so every
decision, push-down and property check goes through all of them.

Contenders are timed interleaved, round by round, through the full app in-process.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.fixtures import campus_batch, ontology_documents
from twinmesh.bootstrap import build_services
from twinmesh.config import Settings
from twinmesh.devtools.campus import generate_campus
from twinmesh.domain import TenantId
from twinmesh.http.app import create_app
from twinmesh.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5
OPS = 200
MODELS = ("Space", "Equipment", "Point", "Sensor", "Meter", "Light", "Room", "Floor")
READ = (
    'TwinMesh::Action::"readTwin", TwinMesh::Action::"traverse", TwinMesh::Action::"readProperty"'
)


def ruled_policies() -> str:
    rules = [
        f'@id("p{i}") permit (principal in TwinMesh::Role::"role{i}", action in [{READ}], '
        f"resource is TwinMesh::Twin) when {{ resource.models.contains("
        f'"dtmi:twinmesh:building:{MODELS[i % len(MODELS)]};1") }};'
        for i in range(480)
    ]
    rules += [
        f'@id("f{i}") forbid (principal in TwinMesh::Role::"role{i}", '
        f'action == TwinMesh::Action::"readProperty", resource) '
        f'when {{ context.property == "prop{i}" }};'
        for i in range(19)
    ]
    rules.append(
        f'@id("caller") permit (principal in TwinMesh::Role::"caller", action in [{READ}], '
        'resource is TwinMesh::Twin) when { resource.models.containsAny(["dtmi:twinmesh:building:'
        'Space;1", "dtmi:twinmesh:building:Equipment;1"]) };'
    )
    return "\n".join(rules)


OPEN = (
    f'@id("caller") permit (principal in TwinMesh::Role::"caller", action in [{READ}], resource);'
)


async def _timed(client: httpx.AsyncClient, query: str, ids: list[str]) -> float:
    samples = []
    for twin_id in ids:
        started = time.perf_counter()
        response = await client.post(
            "/graphql", json={"query": query, "variables": {"id": twin_id}}
        )
        samples.append(time.perf_counter() - started)
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"benchmark query failed: {response.text[:200]}")
    return statistics.median(samples) * 1000


async def _run(rounds: int, ops: int) -> dict[str, Any]:
    store = EmbeddedStore()
    await store.open()
    services = build_services(Settings(auth_dev_issuer=True, data_dir=ROOT / ".cache"), store=store)
    documents = ontology_documents()
    campus_ids: list[str] = []
    clients = {}
    app = create_app(services)
    for name, text in (("open", OPEN), ("ruled", ruled_policies())):
        tenant = TenantId(f"bench-{name}")
        services.policies.store.activate(tenant, text)
        await services.models.upload(tenant, documents)
        campus = generate_campus(tenant, buildings=1, floors=4, rooms=20, seed=3)
        await store.import_batch(tenant, *campus_batch(campus))
        campus_ids = [t.id for t in campus.twins if "-r" in t.id and t.id.count("-") == 2]
        assert services.dev_issuer is not None
        token = services.dev_issuer.issue_token(tenant, "bench", roles=("caller",))
        clients[name] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://policy.bench",
            headers={"authorization": f"Bearer {token}"},
        )
    queries = {
        "point read": "query($id: ID!) { twin(id: $id) { id properties } }",
        "list of 100": "query($id: JSON!) { twins(first: 100, where: {field: ID, ne: $id}) "
        "{ totalCount edges { node { id properties } } } }",
    }
    ids = (campus_ids * (ops // max(len(campus_ids), 1) + 1))[:ops]
    results: dict[str, Any] = {}
    try:
        for label, query in queries.items():
            count = ops if label == "point read" else max(ops // 5, 10)
            per: dict[str, list[float]] = {"open": [], "ruled": []}
            await _timed(clients["open"], query, ids[:20])  # warm up both
            await _timed(clients["ruled"], query, ids[:20])
            for round_index in range(rounds):
                order = ("open", "ruled") if round_index % 2 == 0 else ("ruled", "open")
                for name in order:
                    per[name].append(await _timed(clients[name], query, ids[:count]))
            open_p50 = statistics.median(per["open"])
            ruled_p50 = statistics.median(per["ruled"])
            results[label] = {
                "open_p50_ms": open_p50,
                "ruled_p50_ms": ruled_p50,
                "rounds_open_ms": per["open"],
                "rounds_ruled_ms": per["ruled"],
                "ratio": ruled_p50 / open_p50,
            }
    finally:
        for client in clients.values():
            await client.aclose()
        await store.close()
    return {"rules": 500, "rounds": rounds, "ops": ops, "operations": results}


def run(rounds: int = ROUNDS, ops: int = OPS) -> dict[str, Any]:
    return asyncio.run(_run(rounds, ops))
