"""Tenant isolation, on both stores (SECURITY.md items 25, 36-39, 44).

Tenant A and tenant C hold the same data; tenant B also holds twins, relationships and models
whose ids collide with A's, plus ids that only B has. Every root query and mutation, listed
from the schema itself, is sent as A and as C with B's ids: the two answers must be
byte-identical (B's existence is invisible to A, including through "not found"), and B's data
must be unchanged afterwards. A new root field without a case here fails the suite.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from graphql_client import bearer, settings_for_tests
from twinmesh.bootstrap import Services, build_services
from twinmesh.domain import NewRelationship, NewTwin, TenantId
from twinmesh.graphql.schema import schema
from twinmesh.http.app import create_app
from twinmesh.store.port import GraphStore

BASE = "dtmi:iso:Thing;1"
B_ONLY_MODEL = "dtmi:iso:Secret;1"
SECRET = "SECRET-OF-B"


def interface(dtmi: str, *contents: dict[str, Any], extends: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": "dtmi:dtdl:context;3",
        "@id": dtmi,
        "@type": "Interface",
        "contents": list(contents),
    }
    if extends:
        document["extends"] = extends
    return document


THING = interface(
    BASE,
    {"@type": "Property", "name": "label", "schema": "string", "writable": True},
    {"@type": "Relationship", "name": "link", "target": BASE},
)
SECRET_MODEL = interface(B_ONLY_MODEL, extends=BASE)

# (root field, operation, variables): every request names ids that exist only in B,
# or that collide with A's.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("twin", "query($id: ID!) { twin(id: $id) { id properties } }", {"id": "b-only"}),
    ("twin", "query($id: ID!) { twin(id: $id) { id properties } }", {"id": "shared"}),
    ("twins", "{ twins(first: 100) { totalCount edges { node { id properties } } } }", {}),
    (
        "twins",
        "query($m: String) { twins(model: $m) { totalCount edges { node { id } } } }",
        {"m": B_ONLY_MODEL},
    ),
    ("models", "{ models { id } }", {}),
    ("model", "query($id: String!) { model(id: $id) { id } }", {"id": B_ONLY_MODEL}),
    (
        "uploadModels",
        "mutation($m: [JSON!]!) { uploadModels(models: $m) { id } }",
        {"m": [interface("dtmi:iso:Child;1", extends=B_ONLY_MODEL)]},
    ),
    (
        "decommissionModel",
        "mutation($id: String!) { decommissionModel(id: $id) { id } }",
        {"id": B_ONLY_MODEL},
    ),
    ("deleteModel", "mutation($id: String!) { deleteModel(id: $id) }", {"id": B_ONLY_MODEL}),
    (
        "createTwin",
        "mutation($i: CreateTwinInput!) { createTwin(input: $i) { id } }",
        {"i": {"id": "new-one", "model": B_ONLY_MODEL}},
    ),
    (
        "createRelationship",
        "mutation($i: CreateRelationshipInput!) { createRelationship(input: $i) { id } }",
        {"i": {"sourceId": "shared", "id": "x", "name": "link", "targetId": "b-only"}},
    ),
    (
        "createRelationship",
        "mutation($i: CreateRelationshipInput!) { createRelationship(input: $i) { id } }",
        {"i": {"sourceId": "b-only", "id": "x", "name": "link", "targetId": "shared"}},
    ),
    (
        "updateTwin",
        "mutation($id: ID!, $p: [JSONPatchOperation!]!) { updateTwin(id: $id, patch: $p) { id } }",
        {"id": "b-only", "p": [{"op": "replace", "path": "/label", "value": "pwned"}]},
    ),
    ("deleteTwin", "mutation($id: ID!) { deleteTwin(id: $id, cascade: true) }", {"id": "b-only"}),
    (
        "deleteRelationship",
        'mutation { deleteRelationship(sourceId: "shared", id: "b-rel") }',
        {},
    ),
    (
        "deleteRelationship",
        'mutation { deleteRelationship(sourceId: "b-only", id: "b-rel") }',
        {},
    ),
    (
        "policySets",
        "{ policySets { activeVersion versions { version source policyIds active } } }",
        {},
    ),
    (
        "simulate",
        'query($r: SimulatedResource!) { simulate(principal: {subject: "x", roles: '
        '["viewer"]}, action: "readTwin", resource: $r) { allowed policyIds errors } }',
        {"r": {"type": "Twin", "id": "b-only"}},
    ),
    (
        "validatePolicySet",
        "mutation($t: String!) { validatePolicySet(text: $t) }",
        {"t": '@id("x") permit(principal, action, resource) when { resource.nope };'},
    ),
    (
        "activatePolicySet",
        "mutation($t: String!) { activatePolicySet(text: $t) }",
        {"t": '@id("all") permit(principal, action, resource);'},
    ),
    ("rollbackPolicySet", "mutation { rollbackPolicySet(version: 1) }", {}),
    ("tenants", "{ tenants { id disabled } }", {}),
    ("createTenant", 'mutation { createTenant(id: "new-one") { id } }', {}),
    ("disableTenant", "mutation($id: String!) { disableTenant(id: $id) { id } }", {"id": "b"}),
    ("enableTenant", "mutation($id: String!) { enableTenant(id: $id) { id } }", {"id": "b"}),
    ("partnerTwins", "{ partnerTwins { org tenant status twins } }", {}),
    # Subscriptions run over WebSocket only; over HTTP both tenants get the same refusal.
    ("twinChanges", 'subscription { twinChanges(ids: ["b-only"]) { twinId } }', {}),
    ("partners", "{ partners { org tenants } }", {}),
    (
        "registerPartner",
        "mutation($i: PartnerInput!) { registerPartner(input: $i) }",
        {"i": {"org": "b-partner.example", "baseUrl": "http://127.0.0.1:9", "tenants": ["b"]}},
    ),
    ("removePartner", 'mutation { removePartner(org: "b-partner.example") }', {}),
    (
        "updateRelationship",
        'mutation($p: [JSONPatchOperation!]!) { updateRelationship(sourceId: "shared", '
        'id: "b-rel", patch: $p) { id } }',
        {"p": [{"op": "add", "path": "/x", "value": 1}]},
    ),
]


def test_every_root_field_has_an_isolation_case() -> None:
    graphql_schema = schema._schema
    root_fields = set()
    for type_name in ("Query", "Mutation", "Subscription"):
        root = graphql_schema.type_map.get(type_name)
        if root is not None:
            root_fields |= set(root.fields)  # type: ignore[attr-defined]
    assert root_fields == {field for field, _, _ in CASES}


async def seed(services: Services, tenant: TenantId, *, secret: bool) -> None:
    await services.models.upload(tenant, [THING, *([SECRET_MODEL] if secret else [])])
    label = SECRET if secret else "mine"
    await services.twins.create_twin(tenant, NewTwin("shared", BASE, {"label": label}))
    await services.twins.create_twin(tenant, NewTwin("other", BASE, {"label": label}))
    await services.twins.create_relationship(
        tenant, NewRelationship("shared", "a-rel", "link", "other")
    )
    if secret:
        await services.twins.create_twin(tenant, NewTwin("b-only", B_ONLY_MODEL, {"label": SECRET}))
        await services.twins.create_relationship(
            tenant, NewRelationship("shared", "b-rel", "link", "b-only", {})
        )
        await services.twins.create_relationship(
            tenant, NewRelationship("b-only", "b-rel", "link", "shared", {})
        )


async def snapshot(services: Services, tenant: TenantId) -> Any:
    store = services.store
    twins = [await store.get_twin(tenant, i) for i in ("shared", "other", "b-only")]
    rels = [await store.list_relationships(tenant, i) for i in ("shared", "b-only")]
    return twins, rels, await store.list_models(tenant)


@dataclass(frozen=True)
class Tenants:
    services: Services
    ids: dict[str, TenantId]


@pytest.fixture
async def tenants(store: GraphStore) -> Tenants:
    run = uuid.uuid4().hex[:8]
    services = build_services(settings_for_tests(), store=store)
    tenants = {name: TenantId(f"{name}-{run}") for name in ("a", "b", "c")}
    await seed(services, tenants["b"], secret=True)  # B first: it warms every cache
    await seed(services, tenants["a"], secret=False)
    await seed(services, tenants["c"], secret=False)
    return Tenants(services, tenants)


async def post(
    tenants: Tenants,
    name: str,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> str:
    """One request by tenant ``name``'s user, through one app shared by every tenant."""
    transport = httpx.ASGITransport(app=create_app(tenants.services))
    auth = bearer(tenants.services, tenants.ids[name], subject="same-user-everywhere")
    async with httpx.AsyncClient(transport=transport, base_url="http://iso.test") as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={**auth, **(headers or {})},
        )
    return f"{response.status_code} {response.text}"


@pytest.mark.parametrize(("field", "query", "variables"), CASES, ids=[c[0] for c in CASES])
async def test_tenant_a_sees_nothing_of_tenant_b(
    tenants: Tenants, field: str, query: str, variables: dict[str, Any]
) -> None:
    store = tenants.services.store
    before = await snapshot(tenants.services, tenants.ids["b"])
    b_head = await store.audit_head(tenants.ids["b"])
    a_seq, _ = await store.audit_head(tenants.ids["a"])

    as_a = await post(tenants, "a", query, variables)
    as_c = await post(tenants, "c", query, variables)

    assert SECRET not in as_a
    assert as_a == as_c  # byte-identical: B's ids are indistinguishable from absent ones
    assert await snapshot(tenants.services, tenants.ids["b"]) == before
    # B's audit log holds nothing of A's attempt; A's holds a record of every change attempt
    # (SECURITY.md item 46: every mutation, allowed or denied, is audited).
    assert await store.audit_head(tenants.ids["b"]) == b_head
    if query.startswith("mutation") and field != "validatePolicySet":  # validating changes nothing
        new = await store.read_audit(tenants.ids["a"], after_seq=a_seq, through_seq=10**9, limit=50)
        action = {"activatePolicySet": "activatePolicies", "rollbackPolicySet": "rollbackPolicies"}
        actions = [orjson.loads(r.text)["action"] for r in new]
        assert action.get(field, field) in actions, (field, actions)


async def test_a_tenant_named_by_the_client_is_ignored(tenants: Tenants) -> None:
    query = "query($tenant: String) { twins(first: 10) { edges { node { id properties } } } }"
    b_tenant = tenants.ids["b"]
    plain = await post(tenants, "a", query, {})
    spoofed = await post(
        tenants,
        "a",
        query,
        {"tenant": b_tenant, "tenantId": b_tenant},
        headers={"x-tenant": b_tenant, "x-twinmesh-tenant": b_tenant, "tenant": b_tenant},
    )
    assert SECRET not in spoofed
    assert spoofed == plain
