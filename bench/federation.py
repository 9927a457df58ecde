"""Federated query latency across three real servers vs a local point read (goal 8), and what
signing and verifying cost per request.

Three ``twinmesh serve`` processes (``a.test``, ``b.test``, ``c.test``; embedded stores) start
as ``tests/federation/test_three_servers.py`` starts them, with
:mod:`twinmesh.devtools.processes`: free loopback ports, own data directories and organisation
keys, a TOML settings file naming the other two as partners (keys pinned, tenant granted).
Each holds :data:`BUILDINGS` Buildings; A's ``a-i`` has a part at B's ``b-i``, which has a part
at C's ``c-i``. Contenders, one request at a time over keep-alive
httpx clients, cycling through the buildings:

- **local**: a point read on A, ``twin(id) { id model properties }``;
- **A→B**: that twin and its relationship's ``remoteTarget(depth: 0)``: one signed hop to B;
- **A→B→C**: ``remoteTarget(depth: 1)``: B follows its own reference to C (goal 8's query);
- **B direct**, to tell the sides of a hop apart: the body A sends B for a hop, posted straight
  to B's ``/federation/v1/graphql``, signed as A before the clock starts.

A warm-up of :data:`WARMUP` requests each, then :data:`ROUNDS` rounds of :data:`OPS` per
contender, the order rotating every round; the report gives the median (min-max) over rounds
of each round's p50, p99 and mean. Every answer is checked once its round's clock has stopped
(no errors, every partner ``ok``, the right twins, B's signature). Goal 8: federated p50 ≤ 2 x
local p50 + 1 ms and p99 ≤ 15 ms. "A's partner call" is the latency A reports for its call to
B in ``extensions.federation`` (signing, HTTP exchange, verifying). With two CPUs or more, the
servers share the last CPU and the client has the first (a federated request is sequential).

In process, with ``timeit``: ``sign_request``, ``verify_request``, ``sign_response`` and
``verify_response`` on the request A sends B and on B's answer; one hop costs the four.
"""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
import statistics
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import orjson
from rich.table import Table

from bench.measure import percentile, pin, spread, spread_ms, yes_no
from twinmesh.auth import DevIssuer
from twinmesh.devtools.processes import (
    FederatedOrg,
    TwinmeshServer,
    prepare_federation,
    running_federation,
)
from twinmesh.federation import (
    HOP_BUDGET,
    HOPS,
    ON_BEHALF_OF,
    REQUEST_ID,
    TARGET_TENANT,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)
from twinmesh.federation.partners import partner_key
from twinmesh.identity import KEYRING_FILE, load_or_create
from twinmesh.ontology import load_paths

ROOT = Path(__file__).resolve().parents[1]
ORGS = ("a.test", "b.test", "c.test")
TENANT = "bench-federation"
BUILDING = "dtmi:twinmesh:building:Building;1"
BUILDINGS = 20
ROUNDS = 5
OPS = 400
WARMUP = 200
PARTNER_TIMEOUT_S = 2.0
READY_DEADLINE_S = 30.0
P50_FACTOR, P50_SLACK_MS, P99_GOAL_MS = 2.0, 1.0, 15.0  # goal 8

UPLOAD = "mutation($models: [JSON!]!) { uploadModels(models: $models) { id } }"
CREATE_TWIN = "mutation($input: CreateTwinInput!) { createTwin(input: $input) { id } }"
CREATE_RELATIONSHIP = (
    "mutation($input: CreateRelationshipInput!) { createRelationship(input: $input) { id } }"
)
LOCAL = "query($id: ID!) { twin(id: $id) { id model properties } }"
FEDERATED = """query($id: ID!, $depth: Int!) { twin(id: $id) { id model properties
  relationships { edges { node { targetRef remoteTarget(depth: $depth) { org status twin } } } }
} }"""
FEDERATED_OPERATIONS = ("one_hop", "two_hop")
GOAL_OPERATION = "two_hop"  # goal 8 is about a query across three servers


# -- the servers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def three_servers(root: Path, cpus: set[int] | None) -> Iterator[dict[str, FederatedOrg]]:
    """A, B and C, partners of each other, started, ready and stopped on exit."""
    sites = prepare_federation(
        root,
        ORGS,
        tenant=TENANT,
        policies_dir=ROOT / "policies",
        partner_timeout_s=PARTNER_TIMEOUT_S,
    )

    def pin_server(server: TwinmeshServer) -> None:
        if cpus is not None:
            pin(server.process.pid, cpus)  # before it starts threads; they inherit

    with running_federation(sites, after_launch=pin_server, ready_deadline_s=READY_DEADLINE_S):
        yield sites


class Client:
    """GraphQL over one keep-alive connection to one server, as one tenant's user."""

    def __init__(self, org: FederatedOrg, role: str) -> None:
        token = DevIssuer.load_or_create(org.data_dir).issue_token(TENANT, "bench", roles=(role,))
        self.http = httpx.Client(
            base_url=org.origin, headers={"authorization": f"Bearer {token}"}, timeout=30
        )

    def post(self, query: str, variables: Mapping[str, Any]) -> httpx.Response:
        return self.http.post("/graphql", json={"query": query, "variables": variables})

    def data(self, query: str, **variables: Any) -> Any:
        response = self.post(query, variables)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{query[:60]}…: {response.status_code} {body}")
        return body["data"]


def seed(orgs: Mapping[str, FederatedOrg]) -> None:
    """Buildings ``x-i`` at each org x; ``a-i`` has a part ``b-i`` at B, ``b-i`` one ``c-i``."""
    models = [d.content for d in load_paths([ROOT / "ontology"])]
    for org, parts in (("c.test", None), ("b.test", "c.test"), ("a.test", "b.test")):
        admin, x = Client(orgs[org], "admin"), org[0]
        admin.data(UPLOAD, models=models)
        for i in range(BUILDINGS):
            admin.data(
                CREATE_TWIN,
                input={"id": f"{x}-{i}", "model": BUILDING, "properties": {"name": f"{i}"}},
            )
            if parts is not None:
                link = {
                    "sourceId": f"{x}-{i}",
                    "name": "hasPart",
                    "targetId": orgs[parts].ref(f"{parts[0]}-{i}"),
                }
                admin.data(CREATE_RELATIONSHIP, input=link)
        admin.http.close()


# -- the contenders -------------------------------------------------------------------------------


class Prepared(NamedTuple):
    """One request ready to send (what is not the servers' work, such as signing the direct
    request, is done before the clock starts) and the check of its answer."""

    send: Callable[[], httpx.Response]
    # Raises unless the answer is right; returns the partner-call latencies A reported.
    check: Callable[[httpx.Response], list[float]]


@dataclass(frozen=True)
class Contender:
    name: str
    title: str
    prepare: Callable[[int], Prepared]  # a request about building i


def _answer(name: str, response: httpx.Response) -> Any:
    body = orjson.loads(response.content)
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{name}: {response.status_code} {body}")
    return body


def graphql_contender(client: Client, name: str, title: str, hops: int) -> Contender:
    """A point read on A (``hops`` 0) or a federated read across ``hops`` partners."""
    query = LOCAL if hops == 0 else FEDERATED

    def check(index: int, response: httpx.Response) -> list[float]:
        body = _answer(name, response)
        twin = body["data"]["twin"]
        if twin["id"] != f"a-{index}" or twin["properties"] != {"name": str(index)}:
            raise RuntimeError(f"{name}: wrong twin {twin}")
        if hops == 0:
            return []
        [edge] = twin["relationships"]["edges"]
        remote = edge["node"]["remoteTarget"]
        if remote["status"] != "ok" or remote["twin"]["id"] != f"b-{index}":
            raise RuntimeError(f"{name}: {remote}")
        if hops == 2:
            [nested] = remote["twin"]["relationships"]["edges"]
            beyond = nested["node"]["remoteTarget"]
            if beyond["status"] != "ok" or beyond["twin"]["id"] != f"c-{index}":
                raise RuntimeError(f"{name}: {beyond}")
        entries = body["extensions"]["federation"]
        if len(entries) != hops or any(e["status"] != "ok" for e in entries):
            raise RuntimeError(f"{name}: {entries}")
        return [float(e["latencyMs"]) for e in entries if "via" not in e]

    def prepare(index: int) -> Prepared:
        variables: dict[str, Any] = {"id": f"a-{index}"}
        if hops > 0:
            variables["depth"] = hops - 1
        return Prepared(
            lambda: client.post(query, variables), lambda response: check(index, response)
        )

    return Contender(name, title, prepare)


def hop_query(twin_id: str) -> bytes:
    """The body A sends B for one twin at depth 0 (as graphql/federation.py writes it)."""
    selection = (
        "{ id model properties relationships(first: 100) { edges { node { id name targetRef } } } }"
    )
    query = f"query($i0: ID!) {{ t0: twin(id: $i0) {selection} }}"
    return orjson.dumps({"query": query, "variables": {"i0": twin_id}})


def hop_headers(caller: str) -> dict[str, str]:
    """The headers ``caller`` signs on a depth-0 hop (as federation/outbound.py sends them)."""
    return {
        "content-type": "application/json",
        "accept": "application/json",
        TARGET_TENANT: TENANT,
        ON_BEHALF_OF: "bench",
        REQUEST_ID: uuid.uuid4().hex,
        HOPS: caller,
        HOP_BUDGET: "0",
        "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
    }


def direct_contender(a: FederatedOrg, b: FederatedOrg, http: httpx.Client) -> Contender:
    """B's federation endpoint, asked directly what A asks it for a depth-0 hop, with a request
    signed as A (before the clock starts) and an answer verified with B's key."""
    key = load_or_create(a.data_dir / KEYRING_FILE).signing_key()
    b_keys = load_or_create(b.data_dir / KEYRING_FILE).public_document()["keys"]
    resolve = {k.key_id: k for k in (partner_key(b.org, jwk) for jwk in b_keys)}.get
    url = f"{b.origin}/federation/v1/graphql"

    def prepare(index: int) -> Prepared:
        body = hop_query(f"b-{index}")
        headers = hop_headers(a.org)
        signed = sign_request(
            method="POST", url=url, headers=headers, body=body, org=a.org, key=key
        )

        def check(response: httpx.Response) -> list[float]:
            verify_response(
                status=response.status_code,
                headers=list(response.headers.multi_items()),
                body=response.content,
                request_method="POST",
                request_url=url,
                request_signature=signed["Signature"],
                expected_org=b.org,
                resolve_key=resolve,
            )
            twin = _answer("direct", response)["data"]["t0"]
            if twin["id"] != f"b-{index}" or twin["properties"] != {"name": str(index)}:
                raise RuntimeError(f"direct: wrong twin {twin}")
            return []

        return Prepared(lambda: http.post(url, content=body, headers=signed), check)

    return Contender("direct", "B's federation endpoint, signed request", prepare)


# -- measuring -------------------------------------------------------------------------------------


def time_round(contender: Contender, ops: int, start: int) -> dict[str, Any]:
    latencies: list[float] = []
    answers: list[tuple[Prepared, httpx.Response]] = []
    gc.collect()
    clock = time.perf_counter_ns
    for n in range(start, start + ops):
        request = contender.prepare(n % BUILDINGS)
        t0 = clock()
        response = request.send()
        latencies.append((clock() - t0) / 1e6)
        answers.append((request, response))  # checked once the round's clock has stopped
    partner = [ms for request, response in answers for ms in request.check(response)]
    latencies.sort()
    return {
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies),
        "partner_call_ms": statistics.median(partner) if partner else None,
    }


def measure(
    contenders: Sequence[Contender],
    rounds: int,
    ops: int,
    warmup: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    for contender in contenders:
        for n in range(warmup):
            request = contender.prepare(n % BUILDINGS)
            request.check(request.send())
    per_round: dict[str, list[dict[str, Any]]] = {c.name: [] for c in contenders}
    for index in range(rounds):
        shift = index % len(contenders)
        for contender in [*contenders[shift:], *contenders[:shift]]:
            per_round[contender.name].append(time_round(contender, ops, index * ops))
        log(
            f"federation round {index + 1}/{rounds}: "
            + ", ".join(f"{n} p50 {rows[-1]['p50_ms']:.2f} ms" for n, rows in per_round.items())
        )
    result: dict[str, Any] = {}
    for contender in contenders:
        rows = per_round[contender.name]
        partner = [row["partner_call_ms"] for row in rows if row["partner_call_ms"] is not None]
        result[contender.name] = {
            "title": contender.title,
            "per_round": rows,
            **{key: spread([row[key] for row in rows]) for key in ("p50_ms", "p99_ms", "mean_ms")},
            "partner_call_ms": spread(partner) if partner else None,
        }
    return result


def goals(operations: Mapping[str, Any]) -> dict[str, Any]:
    local_p50 = operations["local"]["p50_ms"]["median"]
    p50_limit = P50_FACTOR * local_p50 + P50_SLACK_MS
    verdicts: dict[str, Any] = {
        "p50_limit_ms": p50_limit,
        "p99_limit_ms": P99_GOAL_MS,
        "goal_operation": GOAL_OPERATION,
    }
    for name in FEDERATED_OPERATIONS:
        p50, p99 = operations[name]["p50_ms"]["median"], operations[name]["p99_ms"]["median"]
        verdicts[name] = {
            "p50_over_local": p50 / local_p50,
            "p99_over_local": p99 / operations["local"]["p99_ms"]["median"],
            "p50_met": p50 <= p50_limit,
            "p99_met": p99 <= P99_GOAL_MS,
        }
    verdicts["met"] = verdicts[GOAL_OPERATION]["p50_met"] and verdicts[GOAL_OPERATION]["p99_met"]
    return verdicts


# -- signing and verifying, in process ------------------------------------------------------------


def _per_call_us(fn: Callable[[], object]) -> dict[str, float]:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    runs = [t / number * 1e6 for t in timer.repeat(repeat=7, number=number)]
    return spread(runs)


def signature_costs(request_body: bytes, answer_body: bytes) -> dict[str, Any]:
    """µs per call of the four profile functions on a real request and answer of one hop."""
    with tempfile.TemporaryDirectory() as directory:
        keyring = load_or_create(Path(directory) / KEYRING_FILE)
    org, url, key = "a.test", "http://127.0.0.1:8080/federation/v1/graphql", keyring.signing_key()
    public = partner_key(org, keyring.public_document()["keys"][0])
    resolve = {public.key_id: public}.get

    def signed_request() -> dict[str, str]:
        headers = hop_headers(org)
        return sign_request(
            method="POST", url=url, headers=headers, body=request_body, org=org, key=key
        )

    request = signed_request()

    def signed_answer() -> dict[str, str]:
        return sign_response(
            status=200,
            headers={"content-type": "application/json"},
            body=answer_body,
            request_method="POST",
            request_url=url,
            request_signature=request["Signature"],
            org=org,
            key=key,
        )

    answer = signed_answer()
    calls: dict[str, Callable[[], object]] = {
        "sign_request": signed_request,
        "verify_request": lambda: verify_request(
            method="POST", url=url, headers=request, body=request_body, resolve_key=resolve
        ),
        "sign_response": signed_answer,
        "verify_response": lambda: verify_response(
            status=200,
            headers=answer,
            body=answer_body,
            request_method="POST",
            request_url=url,
            request_signature=request["Signature"],
            expected_org=org,
            resolve_key=resolve,
        ),
    }
    for call in calls.values():
        call()  # each works (and verifies) before it is timed
    costs = {name: _per_call_us(call) for name, call in calls.items()}
    return {
        "us_per_call": costs,
        "per_hop_us": sum(c["median"] for c in costs.values()),
        "request_body_bytes": len(request_body),
        "answer_body_bytes": len(answer_body),
    }


# -- the run ---------------------------------------------------------------------------------------


def run(
    *,
    rounds: int = ROUNDS,
    ops: int = OPS,
    warmup: int = WARMUP,
    pinned: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start the three servers, seed, measure; about two and a half minutes on 2 cores."""
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    cpus = sorted(affinity)
    pinning = pinned and len(cpus) >= 2
    server_cpus, client_cpus = ({cpus[-1]}, {cpus[0]}) if pinning else (set(), set())
    with (
        tempfile.TemporaryDirectory(prefix="twinmesh-bench-federation-") as directory,
        three_servers(Path(directory), server_cpus if pinning else None) as orgs,
    ):
        seed(orgs)
        log("federation: three servers up and seeded")
        if pinning:
            os.sched_setaffinity(0, client_cpus)
        client = Client(orgs["a.test"], "viewer")
        direct = httpx.Client(timeout=30)
        try:
            contenders = [
                graphql_contender(client, "local", "local point read on A", 0),
                graphql_contender(client, "one_hop", "federated A→B (depth 0)", 1),
                graphql_contender(client, "two_hop", "federated A→B→C (depth 1)", 2),
                direct_contender(orgs["a.test"], orgs["b.test"], direct),
            ]
            operations = measure(contenders, rounds, ops, warmup, log)
            hop = contenders[-1].prepare(0)
            answer = hop.send()  # B's answer to a hop, signed by B
            hop.check(answer)
        finally:
            client.http.close()
            direct.close()
            if pinning:
                os.sched_setaffinity(0, affinity)
    crypto = signature_costs(hop_query("b-0"), answer.content)
    return {
        "method": {
            "rounds": rounds,
            "ops_per_round": ops,
            "warmup": warmup,
            "buildings": BUILDINGS,
            "client": "one synchronous httpx client per server, keep-alive, one request at a time",
            "store": "embedded (one SQLite file per server)",
            "pinning": (
                {"servers": sorted(server_cpus), "client": sorted(client_cpus)}
                if pinning
                else "not pinned"
            ),
        },
        "operations": operations,
        "goal8": goals(operations),
        "signatures": crypto,
    }


# -- the report -----------------------------------------------------------------------------------


def tables(data: Mapping[str, Any]) -> list[Table]:
    operations, goal, method = data["operations"], data["goal8"], data["method"]
    table = Table(
        title=f"Federated queries across 3 servers (embedded stores), one client, one request at "
        f"a time: ms, median (min-max) of {method['rounds']} interleaved rounds of "
        f"{method['ops_per_round']}; goal 8: p50 <= {goal['p50_limit_ms']:.2f} ms (2 x local "
        f"p50 + 1), p99 <= {goal['p99_limit_ms']:.0f} ms"
    )
    columns = ("operation", "p50", "p99", "mean", "p50 / local", "A's partner call p50")
    for column in (*columns, "goal 8 p50", "goal 8 p99"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    local_p50 = operations["local"]["p50_ms"]["median"]
    for name, row in operations.items():
        verdict = goal.get(name)
        partner = row["partner_call_ms"]
        table.add_row(
            row["title"] + (" (goal 8)" if name == goal["goal_operation"] else ""),
            spread_ms(row["p50_ms"]),
            spread_ms(row["p99_ms"]),
            spread_ms(row["mean_ms"]),
            f"{row['p50_ms']['median'] / local_p50:.2f}x",
            "-" if partner is None else spread_ms(partner),
            "-" if verdict is None else yes_no(verdict["p50_met"]),
            "-" if verdict is None else yes_no(verdict["p99_met"]),
        )
    signatures = data["signatures"]
    crypto = Table(
        title=f"Signing profile (RFC 9421, Ed25519, Content-Digest) in process: µs per call, "
        f"median (min-max) of 7 timeit repeats; request {signatures['request_body_bytes']} B, "
        f"answer {signatures['answer_body_bytes']} B"
    )
    for column in ("function", "µs per call", "who, per hop"):
        crypto.add_column(column, justify="right" if column == "µs per call" else "left")
    who = {
        "sign_request": "caller (A)",
        "verify_request": "partner (B)",
        "sign_response": "partner (B)",
        "verify_response": "caller (A)",
    }
    for name, stats in signatures["us_per_call"].items():
        crypto.add_row(
            name, f"{stats['median']:.0f} ({stats['min']:.0f}-{stats['max']:.0f})", who[name]
        )
    crypto.add_row("all four", f"{signatures['per_hop_us']:.0f}", "one federated hop")
    return [table, crypto]
