"""The audit log through the API, on both stores (SECURITY.md items 37, 42, 46, 50, 51).

Every mutation, denial, policy change and attributable authentication failure leaves one
schema-valid record in the caller's tenant's chain; an auditor's export holds only its own
tenant's records and verifies offline.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
import pytest
from pydantic import BaseModel, ConfigDict

from graphql_client import AUTH_DIR, bearer, error_codes, settings_for_tests
from twinmesh.audit.verify import verify_export
from twinmesh.auth import DevIssuer
from twinmesh.bootstrap import Services, build_services
from twinmesh.domain import TenantId, TenantRecord
from twinmesh.http.app import create_app
from twinmesh.ontology import load_paths
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.port import GraphStore

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
OFFICE = "dtmi:twinmesh:building:Office;1"
UPLOAD = "mutation($models: [JSON!]!) { uploadModels(models: $models) { id } }"
CREATE = "mutation($input: CreateTwinInput!) { createTwin(input: $input) { id etag } }"
UPDATE = """mutation($id: ID!, $patch: [JSONPatchOperation!]!, $ifMatch: String) {
  updateTwin(id: $id, patch: $patch, ifMatch: $ifMatch) { id etag } }"""
DELETE = "mutation($id: ID!) { deleteTwin(id: $id) }"
READ = "query($id: ID!) { twin(id: $id) { id } }"
ACTIVATE = "mutation($text: String!) { activatePolicySet(text: $text) }"


class Principal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["user", "service", "partner", "system", "anonymous"]
    id: str
    roles: list[str]
    clientId: str | None


class Record(BaseModel):
    """AU-3 content of a record: what, when, where, source, outcome, identity, correlation."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["record"]
    seq: int
    time: str
    tenant: str
    principal: Principal
    action: str
    resource: dict[str, str]
    decision: dict[str, Any]
    outcome: Literal["success", "denied", "failure"]
    error: str | None
    requestId: str
    traceId: str
    source: dict[str, str | None]
    details: dict[str, Any]
    prevHash: str
    hash: str


class Client:
    def __init__(self, http: httpx.AsyncClient, services: Services, tenant: str) -> None:
        self.http, self.services, self.tenant = http, services, tenant

    async def gql(self, query: str, role: str = "admin", **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers=bearer(self.services, self.tenant, roles=(role,)),
        )
        body: dict[str, Any] = response.json()
        return body

    async def records(self) -> list[Record]:
        head, _ = await self.services.store.audit_head(TenantId(self.tenant))
        sealed = await self.services.store.read_audit(
            TenantId(self.tenant), after_seq=0, through_seq=head, limit=10_000
        )
        return [Record.model_validate(orjson.loads(r.text)) for r in sealed]


@pytest.fixture
async def client(store: GraphStore, tenant: TenantId) -> AsyncIterator[Client]:
    services = build_services(settings_for_tests(), store=store)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://twinmesh.test") as http:
        c = Client(http, services, tenant)
        body = await c.gql(UPLOAD, models=[d.content for d in load_paths([ONTOLOGY])])
        assert "errors" not in body, body
        yield c


async def office(c: Client, twin_id: str = "o1") -> dict[str, Any]:
    body = await c.gql(CREATE, input={"id": twin_id, "model": OFFICE, "properties": {}})
    assert "errors" not in body, body
    created: dict[str, Any] = body["data"]["createTwin"]
    return created


async def test_changes_denials_and_failures_are_recorded(client: Client) -> None:
    created = await office(client)
    patch = [{"op": "add", "path": "/name", "value": "Corner office"}]
    assert "errors" not in await client.gql(UPDATE, id="o1", patch=patch)
    # A viewer may not update: denied, recorded with the decision.
    assert error_codes(await client.gql(UPDATE, role="viewer", id="o1", patch=patch)) == [
        "FORBIDDEN"
    ]
    # A stale etag: the change fails, recorded with its error code.
    stale = await client.gql(UPDATE, id="o1", patch=patch, ifMatch=created["etag"])
    assert error_codes(stale) == ["CONFLICT"]
    records = await client.records()
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    # The tenant's first request gave it the demo policies: twinmesh itself recorded that.
    adoption, *records = records
    assert (adoption.principal.type, adoption.action) == ("system", "activatePolicies")
    summary = [(r.action, r.outcome, r.error, r.decision["effect"]) for r in records]
    assert summary == [
        ("uploadModels", "success", None, "allow"),
        ("createTwin", "success", None, "allow"),
        ("updateTwin", "success", None, "allow"),
        ("updateTwin", "denied", "FORBIDDEN", "deny"),
        ("updateTwin", "failure", "CONFLICT", "allow"),
    ]
    update = records[2]
    assert update.decision["policies"]  # the ids of the permitting policies
    assert update.resource == {"type": "Twin", "id": "o1"}
    assert update.details["properties"] == ["name"]
    assert update.principal.roles == ["admin"]
    assert update.source["ip"] is not None
    assert len(update.traceId) == 32
    assert len({r.requestId for r in records}) == len(records)  # one request each


async def test_reads_follow_the_tenant_setting(client: Client) -> None:
    await office(client)
    before = len(await client.records())
    assert (await client.gql(READ, id="o1"))["data"]["twin"] == {"id": "o1"}
    assert len(await client.records()) == before  # denied-only: allowed reads are not kept
    # A viewer may read spaces only; an office is a space, a meter is not: deny by listing.
    await client.gql(READ, role="nobody", id="o1")  # no policy permits role "nobody"
    denied = (await client.records())[before:]
    assert [(r.action, r.outcome, r.resource["id"]) for r in denied] == [
        ("readTwin", "denied", "o1")
    ]


async def test_the_traceparent_trace_id_is_recorded(client: Client) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    await client.http.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": {"id": "t", "model": OFFICE}}},
        headers={
            **bearer(client.services, client.tenant),
            "traceparent": f"00-{trace}-00f067aa0ba902b7-01",
        },
    )
    assert (await client.records())[-1].traceId == trace


async def test_policy_activations_are_recorded_with_their_version(client: Client) -> None:
    text = '@id("all") permit(principal, action, resource);'
    assert error_codes(await client.gql(ACTIVATE, role="viewer", text=text)) == ["FORBIDDEN"]
    version = (await client.gql(ACTIVATE, text=text))["data"]["activatePolicySet"]
    refusal, activation = (await client.records())[-2:]
    assert (activation.action, activation.outcome) == ("activatePolicies", "success")
    assert activation.details == {"version": version, "source": "api"}
    assert (refusal.action, refusal.outcome) == ("activatePolicies", "denied")


async def test_another_tenants_twin_cannot_be_changed_and_the_attempt_is_kept(
    client: Client, other_tenant: TenantId
) -> None:
    """Item 37: A mutates B's twin: B is unchanged, A's log holds the refused attempt."""
    await office(client, "shared-id")
    other = Client(client.http, client.services, other_tenant)
    body = await other.gql(
        UPDATE, id="shared-id", patch=[{"op": "add", "path": "/name", "value": "x"}]
    )
    assert error_codes(body) == ["NOT_FOUND"]
    [attempt] = [r for r in await other.records() if r.action == "updateTwin"]
    assert (attempt.outcome, attempt.error, attempt.tenant) == (
        "failure",
        "NOT_FOUND",
        other_tenant,
    )
    assert all(r.tenant == client.tenant for r in await client.records())
    twin = await client.services.store.get_twin(TenantId(client.tenant), "shared-id")
    assert twin is not None
    assert "name" not in twin.properties


async def test_an_engine_error_denies_and_is_recorded(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 42: the policy engine fails: the write is refused (fail closed) and audited."""
    import cedarpy

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(cedarpy, "is_authorized_batch", broken)
    body = await client.gql(CREATE, input={"id": "x", "model": OFFICE})
    assert error_codes(body) == ["FORBIDDEN"]
    last = (await client.records())[-1]
    assert (last.action, last.outcome, last.decision["effect"]) == ("createTwin", "denied", "deny")
    assert await client.services.store.get_twin(TenantId(client.tenant), "x") is None


async def test_refused_tokens_are_recorded_when_attributable(client: Client) -> None:
    past = DevIssuer.load_or_create(AUTH_DIR, clock=lambda: time.time() - 86_400)
    expired = past.issue_token(client.tenant, "mallory", ttl=timedelta(hours=1))
    response = await client.http.post(
        "/graphql",
        json={"query": READ, "variables": {"id": "o1"}},
        headers={"authorization": f"Bearer {expired}"},
    )
    assert response.status_code == 401
    last = (await client.records())[-1]
    assert (last.action, last.outcome, last.principal.id) == ("authenticate", "denied", "mallory")
    assert last.details == {"reason": "expired"}
    # A token nobody signed is attributable to no one: nothing is recorded.
    before = len(await client.records())
    forged = expired.rsplit(".", 1)[0] + ".AAAA"
    await client.http.post(
        "/graphql", json={"query": READ}, headers={"authorization": f"Bearer {forged}"}
    )
    assert len(await client.records()) == before


async def test_an_auditors_export_verifies_and_holds_only_its_tenant(
    client: Client, other_tenant: TenantId
) -> None:
    """Items 46 and 51: an untouched export verifies offline; B's records never appear."""
    await office(client)
    other = Client(client.http, client.services, other_tenant)
    await other.gql(UPLOAD, models=[d.content for d in load_paths([ONTOLOGY])])
    await office(other, "b-only-twin")

    refused = await client.http.get(
        "/audit/export", headers=bearer(client.services, client.tenant, roles=("viewer",))
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    for fmt in ("ndjson", "csv", "ocsf"):
        response = await client.http.get(
            f"/audit/export?format={fmt}",
            headers=bearer(client.services, client.tenant, roles=("auditor",)),
        )
        assert response.status_code == 200
        lines = response.text.split("\n")[:-1]  # RFC 8785 leaves U+2028 unescaped
        report = verify_export(lines)
        assert report.ok, report.problem
        assert report.tenant == client.tenant
        assert other_tenant not in response.text
        assert "b-only-twin" not in response.text
    records = await client.records()
    exports = [r.outcome for r in records if r.action == "exportAudit"]
    assert exports == ["denied", "success", "success", "success"]


async def test_export_rejects_bad_parameters(client: Client) -> None:
    headers = bearer(client.services, client.tenant, roles=("auditor",))
    for query in ("format=xml", "since=yesterday", "until=2026-01-01T00:00:00"):
        response = await client.http.get(f"/audit/export?{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "VALIDATION_FAILED"
    assert (await client.http.get("/audit/export")).status_code == 401


async def test_a_failing_audit_sink_refuses_the_change(tmp_path: Path) -> None:
    """Item 50: the audit record cannot be written (disk full, I/O error): the mutation is
    refused with STORE_UNAVAILABLE (the code of a 503) and nothing changes (fail closed,
    never silently unaudited). The GraphQL response itself is a 200 with ``data: null``, as
    GraphQL over HTTP asks for a field error."""
    path = tmp_path / "store.sqlite3"
    services = build_services(settings_for_tests(), store=EmbeddedStore(path))
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as http:
            c = Client(http, services, "sink")
            await c.gql(UPLOAD, models=[d.content for d in load_paths([ONTOLOGY])])
            with sqlite3.connect(path) as conn:  # the sink starts failing
                conn.execute(
                    "CREATE TRIGGER sink_full BEFORE INSERT ON audit_records "
                    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )
            response = await http.post(
                "/graphql",
                json={"query": CREATE, "variables": {"input": {"id": "x", "model": OFFICE}}},
                headers={**bearer(services, "sink"), "accept": "application/graphql-response+json"},
            )
            assert error_codes(response.json()) == ["STORE_UNAVAILABLE"]
            assert "disk" not in response.text  # no internals leak
            assert await services.store.get_twin(TenantId("sink"), "x") is None


async def test_a_disabled_tenants_requests_are_recorded(
    client: Client, other_tenant: TenantId
) -> None:
    record = TenantRecord(other_tenant, disabled=True, created_at=datetime.now(UTC))
    await client.services.store.save_tenant(record)
    other = Client(client.http, client.services, other_tenant)
    response = await client.http.post(
        "/graphql",
        json={"query": READ, "variables": {"id": "x"}},
        headers=bearer(client.services, other_tenant),
    )
    assert response.status_code == 403
    [last] = await other.records()
    assert (last.action, last.outcome, last.error) == ("authenticate", "denied", "FORBIDDEN")
    assert last.details == {"reason": "tenant_disabled"}
