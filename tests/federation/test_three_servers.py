"""Federation between real processes (deliverable 7): three ``twinmesh serve`` servers.

Organisations ``a.test``, ``b.test`` and ``c.test`` each run their own server on a free
loopback port, with their own data directory, organisation keys and ``public_origin``, and
know each other from a TOML settings file passed with ``--config`` (keys pinned, ``tenants``
granted, ``remote_tenant``). The ports are picked first, then the configs written, then the
servers started (all by :mod:`twinmesh.devtools.processes`). Each organisation trusts the
development issuer, so the tests mint tokens with ``DevIssuer.load_or_create(data_dir)``, seed
over GraphQL as an administrator (the sample ontology, Building twins, ``hasPart``
relationships to ``twin://org/tenant/id``) and read the audit logs as auditors through
``GET /audit/export``.

Tests that deny, stop or freeze a partner start their own servers first; then the main trio
is started once per store of A (embedded, then Neo4j with a unique tenant id), so that the
session's Neo4j server is not running yet while the others start.
"""

from __future__ import annotations

import secrets
import signal
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from twinmesh.auth import DevIssuer
from twinmesh.devtools.neo4j_server import Neo4jServer
from twinmesh.devtools.processes import (
    FederatedOrg,
    TwinmeshServer,
    prepare_federation,
    running_federation,
)
from twinmesh.ontology import load_paths

ROOT = Path(__file__).resolve().parents[2]
ONTOLOGY = ROOT / "ontology"
BUILDING = "dtmi:twinmesh:building:Building;1"
ORGS = ("a.test", "b.test", "c.test")
PARTNER_TIMEOUT_S = 2.0  # each partner's timeout_s in the settings files
FROZEN_TIMEOUT_S = 1.0  # a shorter one where a test waits for it to run out
REQUEST_TIMEOUT_S = 30.0

UPLOAD = "mutation($models: [JSON!]!) { uploadModels(models: $models) { id } }"
CREATE_TWIN = "mutation($input: CreateTwinInput!) { createTwin(input: $input) { id } }"
CREATE_RELATIONSHIP = (
    "mutation($input: CreateRelationshipInput!) { createRelationship(input: $input) { id } }"
)
TRAVERSE = """query($id: ID!, $depth: Int!) { twin(id: $id) { id relationships { edges { node {
  targetRef remoteTarget(depth: $depth) { org status reason twin } } } } } }"""


# -- one organisation's server -------------------------------------------------------------------


@dataclass
class OrgServer:
    """One organisation: where its ``twinmesh serve`` process runs, the process, a GraphQL
    client."""

    site: FederatedOrg
    server: TwinmeshServer
    issuer: DevIssuer = field(init=False)

    def __post_init__(self) -> None:
        self.issuer = DevIssuer.load_or_create(self.site.data_dir)  # the file the server loads

    @property
    def org(self) -> str:
        return self.site.org

    @property
    def tenant(self) -> str:
        return self.site.tenant

    @property
    def origin(self) -> str:
        return self.site.origin

    def ref(self, twin_id: str) -> str:
        return self.site.ref(twin_id)

    def token(self, role: str = "admin") -> str:
        return self.issuer.issue_token(self.tenant, f"{role}-user", roles=(role,))

    def gql(
        self, query: str, *, role: str = "admin", trace_id: str | None = None, **variables: Any
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {self.token(role)}"}
        if trace_id is not None:
            headers["traceparent"] = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        response = httpx.post(
            f"{self.origin}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
        )
        body: dict[str, Any] = response.json()
        return body

    def mutate(self, query: str, **variables: Any) -> None:
        body = self.gql(query, **variables)
        assert "errors" not in body, body

    def building(self, twin_id: str, name: str, links: Sequence[str] = ()) -> None:
        """A Building twin with a ``hasPart`` relationship to each of ``links``."""
        twin = {"id": twin_id, "model": BUILDING, "properties": {"name": name}}
        self.mutate(CREATE_TWIN, input=twin)
        for n, ref in enumerate(links):
            relationship = {"id": f"{twin_id}-link{n}", "sourceId": twin_id, "name": "hasPart"}
            self.mutate(CREATE_RELATIONSHIP, input={**relationship, "targetId": ref})

    def audit_records(self) -> list[dict[str, Any]]:
        """The tenant's audit records, exported as an auditor."""
        response = httpx.get(
            f"{self.origin}/audit/export?format=ndjson",
            headers={"authorization": f"Bearer {self.token('auditor')}"},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text
        documents = map(orjson.loads, response.text.splitlines())
        return [d for d in documents if d["type"] == "record"]


@contextmanager
def organisations(
    root: Path,
    *,
    names: Sequence[str] = ORGS,
    grants: Mapping[str, Sequence[str]] | None = None,
    timeout_s: float = PARTNER_TIMEOUT_S,
    stores: Mapping[str, str] | None = None,
    neo4j_uri: str | None = None,
) -> Iterator[dict[str, OrgServer]]:
    """Servers for ``names``, all partners of each other, started and seeded with the
    sample ontology; killed on exit. ``grants[org]`` lists the partners that may query
    ``org``'s tenant (default: all); ``stores[org]`` is ``embedded`` (default) or ``neo4j``."""
    tenant = f"fed-{uuid.uuid4().hex[:12]}"  # unique: a Neo4j store is shared by the session
    store_settings: dict[str, dict[str, object]] = {}
    for name, store in (stores or {}).items():
        store_settings[name] = {"store": store}
        if store == "neo4j" and neo4j_uri is not None:
            store_settings[name]["neo4j_uri"] = neo4j_uri
    sites = prepare_federation(
        root,
        names,
        tenant=tenant,
        policies_dir=ROOT / "policies",
        partner_timeout_s=timeout_s,
        grants=grants,
        org_settings=store_settings,
    )
    with running_federation(sites) as servers:
        orgs = {name: OrgServer(sites[name], servers[name]) for name in names}
        models = [d.content for d in load_paths([ONTOLOGY])]
        for org in orgs.values():
            org.mutate(UPLOAD, models=models)
        yield orgs


def remote_targets(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The remote targets of the queried twin's relationships, by organisation."""
    assert "errors" not in body, body
    edges = body["data"]["twin"]["relationships"]["edges"]
    return {e["node"]["remoteTarget"]["org"]: e["node"]["remoteTarget"] for e in edges}


def statuses(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``extensions.federation`` as sorted (partner, status, via) entries (via "" if direct)."""
    entries = body["extensions"]["federation"]
    return sorted((e["partner"], e["status"], e.get("via", "")) for e in entries)


# -- partners that refuse, stop or freeze ----------------------------------------------------------


def test_a_partner_that_denies_does_not_hide_the_others(tmp_path: Path) -> None:
    grants = {"a.test": [], "b.test": [], "c.test": ["a.test"]}  # B's config gives A no tenant
    with organisations(tmp_path, grants=grants) as orgs:
        a, b, c = (orgs[name] for name in ORGS)
        b.building("b-hq", "B")
        c.building("c-hq", "C")
        a.building("a-hq", "A", links=[b.ref("b-hq"), c.ref("c-hq")])

        body = a.gql(TRAVERSE, id="a-hq", depth=0)

        targets = remote_targets(body)
        assert (targets["b.test"]["status"], targets["b.test"]["twin"]) == ("denied", None)
        assert targets["b.test"]["reason"] == "FORBIDDEN"
        assert targets["c.test"]["status"] == "ok"
        assert targets["c.test"]["twin"]["properties"] == {"name": "C"}
        assert statuses(body) == [("b.test", "denied", ""), ("c.test", "ok", "")]
        [refused] = [r for r in b.audit_records() if r["action"] == "federationRequest"]
        assert refused["principal"]["id"] == "a.test"
        assert (refused["outcome"], refused["details"]["reason"]) == ("denied", "not_granted")


def test_a_stopped_partner_is_unreachable_within_its_timeout(tmp_path: Path) -> None:
    with organisations(tmp_path) as orgs:
        a, b, c = (orgs[name] for name in ORGS)
        c.building("c-hq", "C")
        b.building("b-hq", "B", links=[c.ref("c-hq")])
        a.building("a-hq", "A", links=[b.ref("b-hq"), c.ref("c-hq")])
        c.server.stop()

        body = a.gql(TRAVERSE, id="a-hq", depth=1)

        targets = remote_targets(body)
        assert (targets["c.test"]["status"], targets["c.test"]["twin"]) == ("unreachable", None)
        to_b = targets["b.test"]
        assert to_b["status"] == "ok"
        assert to_b["twin"]["properties"] == {"name": "B"}
        [edge] = to_b["twin"]["relationships"]["edges"]
        assert edge["node"]["remoteTarget"]["status"] == "unreachable"  # B could not reach C
        assert statuses(body) == [
            ("b.test", "ok", ""),
            ("c.test", "unreachable", ""),
            ("c.test", "unreachable", "b.test"),
        ]
        # A refused connection is reported as such, not after waiting for the timeout.
        for entry in body["extensions"]["federation"]:
            if entry["partner"] == "c.test":
                assert entry["latencyMs"] < PARTNER_TIMEOUT_S * 1000, entry


def test_a_frozen_partner_times_out(tmp_path: Path) -> None:
    names = ("a.test", "b.test")
    with organisations(tmp_path, names=names, timeout_s=FROZEN_TIMEOUT_S) as orgs:
        a, b = orgs["a.test"], orgs["b.test"]
        b.building("b-hq", "B")
        a.building("a-hq", "A", links=[b.ref("b-hq")])
        b.server.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
        try:
            body = a.gql(TRAVERSE, id="a-hq", depth=0)
        finally:
            b.server.process.send_signal(signal.SIGCONT)

        targets = remote_targets(body)
        assert (targets["b.test"]["status"], targets["b.test"]["twin"]) == ("timeout", None)
        [entry] = body["extensions"]["federation"]
        assert (entry["partner"], entry["status"]) == ("b.test", "timeout")
        assert entry["latencyMs"] >= FROZEN_TIMEOUT_S * 1000  # it waited for the timeout


# -- A -> B -> C, on the embedded store and with A on Neo4j ----------------------------------------


@pytest.fixture(scope="module", params=["embedded", "neo4j"])
def trio(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, OrgServer]]:
    """A, B and C, all granting each other, A on ``request.param``; A's ``a-hq`` has a part
    ``b-hq`` at B, which has a part ``c-hq`` at C."""
    uri = None
    if request.param == "neo4j":
        neo4j: Neo4jServer = request.getfixturevalue("neo4j_server")
        uri = neo4j.uri
    root = tmp_path_factory.mktemp(f"federation-{request.param}")
    with organisations(root, stores={"a.test": request.param}, neo4j_uri=uri) as orgs:
        a, b, c = (orgs[name] for name in ORGS)
        c.building("c-hq", "C headquarters")
        b.building("b-hq", "B headquarters", links=[c.ref("c-hq")])
        a.building("a-hq", "A headquarters", links=[b.ref("b-hq")])
        yield orgs


def test_a_traversal_crosses_three_servers(trio: dict[str, OrgServer]) -> None:
    body = trio["a.test"].gql(TRAVERSE, id="a-hq", depth=1)

    to_b = remote_targets(body)["b.test"]
    assert (to_b["status"], to_b["reason"]) == ("ok", None)
    assert to_b["twin"]["id"] == "b-hq"
    assert to_b["twin"]["model"] == BUILDING
    assert to_b["twin"]["properties"] == {"name": "B headquarters"}
    [edge] = to_b["twin"]["relationships"]["edges"]
    assert edge["node"]["targetRef"] == trio["c.test"].ref("c-hq")
    to_c = edge["node"]["remoteTarget"]
    assert (to_c["org"], to_c["status"]) == ("c.test", "ok")
    assert to_c["twin"]["id"] == "c-hq"
    assert to_c["twin"]["properties"] == {"name": "C headquarters"}
    assert [
        (e["partner"], e["status"], e.get("via")) for e in body["extensions"]["federation"]
    ] == [
        ("b.test", "ok", None),
        ("c.test", "ok", "b.test"),
    ]


def test_every_server_audits_the_exchange_under_one_request_id(
    trio: dict[str, OrgServer],
) -> None:
    a, b, c = (trio[name] for name in ORGS)
    trace_id = secrets.token_hex(16)  # finds this request's records among the module's
    body = a.gql(TRAVERSE, id="a-hq", depth=1, trace_id=trace_id)
    assert statuses(body) == [("b.test", "ok", ""), ("c.test", "ok", "b.test")]

    [sent] = [
        r
        for r in a.audit_records()
        if r["action"] == "federationQuery" and r["traceId"] == trace_id
    ]
    assert sent["resource"] == {"type": "Partner", "id": "b.test"}
    assert (sent["outcome"], sent["details"]["status"]) == ("success", "ok")
    assert sent["principal"]["id"] == "admin-user"
    request_id = sent["requestId"]

    def of_request(org: OrgServer, action: str) -> list[dict[str, Any]]:
        records = org.audit_records()
        return [r for r in records if r["action"] == action and r["requestId"] == request_id]

    [received] = of_request(b, "federationRequest")
    assert received["principal"] == {
        "type": "partner",
        "id": "a.test",
        "roles": [],
        "clientId": None,
    }
    assert (received["outcome"], received["tenant"]) == ("success", b.tenant)
    assert received["details"]["onBehalfOf"] == "admin-user"
    assert received["traceId"] == trace_id  # one trace spans the servers
    # B's own call to C, and C's record of it, carry the same request id.
    [forwarded] = of_request(b, "federationQuery")
    assert forwarded["resource"] == {"type": "Partner", "id": "c.test"}
    assert forwarded["principal"]["type"] == "partner"
    [at_c] = of_request(c, "federationRequest")
    assert at_c["principal"]["id"] == "b.test"
    assert at_c["details"]["hops"] == ["a.test", "b.test"]
    assert at_c["traceId"] == trace_id
