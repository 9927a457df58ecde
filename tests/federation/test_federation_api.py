"""Federation end to end, in process: three organisations, signed requests both ways."""

from __future__ import annotations

from typing import Any

from federation.orgs import TENANT, building, federation

TRAVERSE = """query($id: ID!, $depth: Int!) { twin(id: $id) { id relationships { edges { node {
  targetRef remoteTarget(depth: $depth) { org status reason twin } } } } } }"""


def remote_targets(body: dict[str, Any]) -> list[dict[str, Any]]:
    edges = body["data"]["twin"]["relationships"]["edges"]
    return [edge["node"]["remoteTarget"] for edge in edges]


async def test_a_traversal_crosses_three_organisations() -> None:
    async with federation() as (orgs, _):
        a, b, c = orgs["a.test"], orgs["b.test"], orgs["c.test"]
        await building(c, "c-hq", name="C headquarters")
        await building(b, "b-hq", name="B headquarters", links=(f"twin://c.test/{TENANT}/c-hq",))
        await building(a, "a-hq", name="A headquarters", links=(f"twin://b.test/{TENANT}/b-hq",))

        body = await a.gql(TRAVERSE, id="a-hq", depth=1)
        assert "errors" not in body, body
        [to_b] = remote_targets(body)
        assert (to_b["org"], to_b["status"]) == ("b.test", "ok")
        assert to_b["twin"]["properties"] == {"name": "B headquarters"}
        [edge] = to_b["twin"]["relationships"]["edges"]
        to_c = edge["node"]["remoteTarget"]
        assert (to_c["org"], to_c["status"]) == ("c.test", "ok")
        assert to_c["twin"]["properties"] == {"name": "C headquarters"}
        entries = body["extensions"]["federation"]
        assert [(e["partner"], e["status"], e.get("via")) for e in entries] == [
            ("b.test", "ok", None),
            ("c.test", "ok", "b.test"),
        ]
        # Both sides audited the exchange under one request id.
        [sent] = await a.records("federationQuery")
        [received] = await b.records("federationRequest")
        assert sent["requestId"] == received["requestId"]
        assert received["principal"] == {
            "type": "partner",
            "id": "a.test",
            "roles": [],
            "clientId": None,
        }


async def test_a_denying_partner_does_not_hide_the_others() -> None:
    grants = {"b.test": [], "c.test": ["a.test"], "a.test": []}  # B lets nobody in
    async with federation(grants=grants) as (orgs, _):
        a = orgs["a.test"]
        await building(orgs["b.test"], "b-hq", name="B")
        await building(orgs["c.test"], "c-hq", name="C")
        links = (f"twin://b.test/{TENANT}/b-hq", f"twin://c.test/{TENANT}/c-hq")
        await building(a, "a-hq", name="A", links=links)
        body = await a.gql(TRAVERSE, id="a-hq", depth=0)
        by_org = {t["org"]: t for t in remote_targets(body)}
        assert by_org["b.test"]["status"] == "denied"
        assert by_org["b.test"]["twin"] is None
        assert by_org["c.test"]["status"] == "ok"
        assert by_org["c.test"]["twin"]["properties"] == {"name": "C"}


async def test_a_stopped_partner_is_unreachable() -> None:
    async with federation() as (orgs, network):
        a = orgs["a.test"]
        await building(orgs["b.test"], "b-hq", name="B")
        await building(a, "a-hq", name="A", links=(f"twin://b.test/{TENANT}/b-hq",))
        network.down.add("b.test")
        body = await a.gql(TRAVERSE, id="a-hq", depth=0)
        [to_b] = remote_targets(body)
        assert to_b["status"] == "unreachable"
        assert body["extensions"]["federation"][0]["status"] == "unreachable"


async def test_fan_out_asks_every_partner_in_parallel() -> None:
    async with federation() as (orgs, _):
        await building(orgs["b.test"], "b-hq", name="B")
        await building(orgs["c.test"], "c-hq", name="C")
        body = await orgs["a.test"].gql(
            '{ partnerTwins(model: "dtmi:twinmesh:building:Building;1") '
            "{ org status totalCount twins } }"
        )
        assert "errors" not in body, body
        answers = {p["org"]: p for p in body["data"]["partnerTwins"]}
        assert answers["b.test"]["twins"] == [
            {
                "id": "b-hq",
                "model": "dtmi:twinmesh:building:Building;1",
                "properties": {"name": "B"},
            }
        ]
        assert answers["c.test"]["totalCount"] == 1


REGISTER = "mutation($i: PartnerInput!) { registerPartner(input: $i) }"


async def test_a_revoked_grant_denies_the_next_request() -> None:
    """SECURITY.md item 43: the grant is withdrawn over the platform API; the partner's next
    request is refused (on this replica at once; other replicas re-read partners every 5 s)."""
    async with federation() as (orgs, _):
        a, b = orgs["a.test"], orgs["b.test"]
        await building(b, "b-hq", name="B")
        await building(a, "a-hq", name="A", links=(f"twin://b.test/{TENANT}/b-hq",))
        assert remote_targets(await a.gql(TRAVERSE, id="a-hq", depth=0))[0]["status"] == "ok"

        assert b.services.dev_issuer is not None
        platform = b.services.dev_issuer.issue_token("platform", "root", roles=("platform-admin",))
        keys = public_keys_of(a)
        response = await b.client.post(
            "/graphql",
            json={
                "query": REGISTER,
                "variables": {
                    "i": {"org": "a.test", "baseUrl": "http://a.test", "tenants": [], "keys": keys}
                },
            },
            headers={"authorization": f"Bearer {platform}"},
        )
        assert "errors" not in response.json(), response.json()
        [after] = remote_targets(await a.gql(TRAVERSE, id="a-hq", depth=0))
        assert after["status"] == "denied"
        assert after["twin"] is None


def public_keys_of(org: Any) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = org.services.audit.keyring.public_document()["keys"]
    return keys
