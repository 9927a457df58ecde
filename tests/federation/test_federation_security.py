"""SECURITY.md §8 items 2-17 and 58 at the endpoint: ``POST /federation/v1/graphql`` of real apps.

The organisations of :mod:`federation.orgs` run in process; requests that a row needs crafted
are signed here with :func:`~twinmesh.federation.sign_request` (or, where the signer refuses to
make them, with the library or by editing its output) and posted to the answering app. Every
refusal is checked twice: the HTTP answer, and the ``federationRequest`` record with its
reason in the target tenant's audit log. test_signatures.py covers the same items at the
signature level; these tests show the endpoint wires that profile in.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import time_machine
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from federation.orgs import (
    TENANT,
    Network,
    Org,
    building,
    federation,
    partner_headers,
    restart,
    signed,
)
from twinmesh.config import PartnerSettings
from twinmesh.federation import (
    HOP_BUDGET,
    MAX_AGE,
    MAX_SIGNATURE_HEADER_BYTES,
    REQUEST_COMPONENTS,
    TAG,
    PartnerKey,
    content_digest,
    key_id_for,
    sign_response,
    verify_response,
)
from twinmesh.federation.inbound import UNVERIFIED_RECORDS
from twinmesh.federation.outbound import (
    BREAKER_FAILURES,
    BREAKER_OPEN_S,
    FEDERATION_PATH,
    MAX_RESPONSE_BYTES,
)
from twinmesh.federation.partners import FETCH_TIMEOUT_S, KEYS_PATH, PartnerRegistry
from twinmesh.identity import Keyring, OrgKey

A, B, C = "a.test", "b.test", "c.test"
QUERY = '{ twin(id: "b-hq") { id properties } }'
BODY = orjson.dumps({"query": QUERY})
TRAVERSE = """query($id: ID!, $depth: Int!) { twin(id: $id) { id relationships { edges { node {
  targetRef remoteTarget(depth: $depth) { org status reason twin } } } } } }"""
SECOND = timedelta(seconds=1)


@pytest.fixture
async def orgs() -> AsyncIterator[dict[str, Org]]:
    async with federation() as (organisations, _):
        await building(organisations[B], "b-hq", name="B headquarters")
        yield organisations


async def post(
    to: Org, headers: dict[str, str], body: bytes = BODY, *, url: str = FEDERATION_PATH
) -> httpx.Response:
    return await to.client.post(url, content=body, headers=headers)


async def answered(to: Org, headers: dict[str, str], body: bytes = BODY) -> dict[str, Any]:
    response = await post(to, headers, body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def refused(
    response: httpx.Response, org: Org, status: int, reason: str, *, by: str = "unknown"
) -> dict[str, Any]:
    """Check the HTTP refusal and its audit record in ``org``'s tenant; return the record.

    A refusal of a request whose ``Signature`` can be bound to is signed by ``org``."""
    assert response.status_code == status, response.text
    code = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 431: "LIMIT_EXCEEDED"}[status]
    error = response.json()["error"]
    assert (list(response.json()), error["code"]) == (["error"], code)
    if len(response.request.headers.get("signature", "")) <= MAX_SIGNATURE_HEADER_BYTES:
        assert_signed_by(response, org)
    records = await org.records("federationRequest")
    record = records[-1]
    assert (record["outcome"], record["decision"]["effect"], record["error"]) == (
        "denied",
        "deny",
        code,
    )
    assert record["details"]["reason"] == reason
    assert record["principal"]["id"] == by
    assert record["resource"] == {"type": "Tenant", "id": TENANT}
    return record


def assert_signed_by(response: httpx.Response, org: Org) -> None:
    """``response`` is ``org``'s answer, bound to the request it answers."""
    keys = {
        key_id_for(org.name, key): PartnerKey(
            key_id_for(org.name, key), org.name, key.public, key.not_before, key.not_after
        )
        for key in org.services.audit.keyring.keys
    }
    verify_response(
        status=response.status_code,
        headers=list(response.headers.multi_items()),
        body=response.content,
        request_method="POST",
        request_url=f"http://{org.name}{response.request.url.raw_path.decode()}",
        request_signature=response.request.headers["signature"],
        expected_org=org.name,
        resolve_key=keys.get,
    )


# -- item 2: a covered header modified in transit ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("content-type", "text/plain"),
        ("twinmesh-on-behalf-of", "mallory@a.test"),
        ("twinmesh-hop-budget", "8"),
        ("twinmesh-hops", ""),
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ],
)
async def test_item2_a_modified_covered_header_is_refused_and_audited(
    orgs: dict[str, Org], name: str, value: str
) -> None:
    headers = signed(orgs[A], B, BODY)
    headers[name] = value
    record = await refused(await post(orgs[B], headers), orgs[B], 401, "bad_signature")
    assert record["requestId"] == "req-0001"  # the partner's id, though unproven, correlates


# -- item 3: body swapped ----------------------------------------------------------------------


async def test_item3_a_swapped_body_is_refused(orgs: dict[str, Org]) -> None:
    headers = signed(orgs[A], B, BODY)
    other = orjson.dumps({"query": '{ twin(id: "b-secret") { id } }'})
    await refused(await post(orgs[B], headers, other), orgs[B], 401, "digest_mismatch")


# -- item 4: required components not covered ---------------------------------------------------


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str]


def signed_over(sender: Org, components: tuple[str, ...], body: bytes = BODY) -> dict[str, str]:
    """A request signed by the library over ``components`` only, with our other parameters."""
    key = sender.signing_key()
    assert key.private is not None
    key_id = key_id_for(sender.name, key)
    headers = {**partner_headers(sender.name), "Content-Digest": content_digest(body)}
    message = _Message("POST", f"http://{B}{FEDERATION_PATH}", headers)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key.private}),
    )
    created = datetime.now(UTC).replace(microsecond=0)
    signer.sign(
        message,
        key_id=key_id,
        created=created,
        expires=created + MAX_AGE,
        nonce=secrets.token_urlsafe(24),
        label="tm",
        tag=TAG,
        covered_component_ids=components,
        use_existing_digest=True,
    )
    return message.headers


async def test_item4_the_library_signer_here_is_accepted_with_every_component(
    orgs: dict[str, Org],
) -> None:
    """The control for item 4: the hand-made request differs only in what it covers."""
    answer = await answered(orgs[B], signed_over(orgs[A], REQUEST_COMPONENTS))
    assert answer["data"]["twin"]["id"] == "b-hq"


@pytest.mark.parametrize("omitted", ["content-digest", "@target-uri"])
async def test_item4_a_signature_without_a_required_component_is_refused(
    orgs: dict[str, Org], omitted: str
) -> None:
    components = tuple(c for c in REQUEST_COMPONENTS if c != omitted)
    headers = signed_over(orgs[A], components)
    await refused(await post(orgs[B], headers), orgs[B], 401, "missing_components")


# -- items 5 and 6: replays --------------------------------------------------------------------


async def test_item5_an_exact_replay_is_refused(orgs: dict[str, Org]) -> None:
    headers = signed(orgs[A], B, BODY)
    first = await answered(orgs[B], headers)
    assert first["data"]["twin"]["id"] == "b-hq"
    record = await refused(await post(orgs[B], headers), orgs[B], 401, "replay")
    success, _ = await orgs[B].records("federationRequest")
    assert success["outcome"] == "success"
    assert success["requestId"] == record["requestId"] == "req-0001"


async def test_item5_concurrent_copies_of_one_request_are_answered_once(
    orgs: dict[str, Org],
) -> None:
    headers = signed(orgs[A], B, BODY)
    responses = await asyncio.gather(*(post(orgs[B], headers) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401, 401]
    outcomes = [r["outcome"] for r in await orgs[B].records("federationRequest")]
    assert sorted(outcomes) == ["denied"] * 4 + ["success"]


async def test_item6_a_replay_after_a_restart_is_refused() -> None:
    async with federation((A, B), file_stores=True) as (orgs, network):
        await building(orgs[B], "b-hq", name="B headquarters")
        headers = signed(orgs[A], B, BODY)
        await answered(orgs[B], headers)
        before = orgs[B].services
        b = await restart(orgs, network, B)
        assert b.services is not before  # new services, same database file
        await refused(await post(b, headers), b, 401, "replay")
        outcomes = [r["outcome"] for r in await b.records("federationRequest")]
        assert outcomes == ["success", "denied"]


# -- item 7: times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "lifetime", "reason"),
    [
        (MAX_AGE + SECOND, MAX_AGE, "stale"),
        (-60 * SECOND, MAX_AGE, "not_yet_valid"),
        (200 * SECOND, 100 * SECOND, "expired"),
    ],
)
async def test_item7_a_request_outside_its_time_window_is_refused(
    orgs: dict[str, Org], age: timedelta, lifetime: timedelta, reason: str
) -> None:
    now = datetime.now(UTC)
    key = Keyring.generate(now=now - timedelta(days=1)).signing_key()  # valid when signing
    await pin(orgs[B], A, [key.public_jwk()])
    headers = signed(orgs[A], B, BODY, key=key, now=now - age, expires_in=lifetime)
    await refused(await post(orgs[B], headers), orgs[B], 401, reason)


# -- item 8: another audience with a spoofed Host ----------------------------------------------


async def test_item8_signed_for_another_authority_with_a_spoofed_host(
    orgs: dict[str, Org],
) -> None:
    headers = signed(orgs[A], C, BODY)  # a request A made for C
    response = await post(orgs[B], headers, url=f"http://{C}{FEDERATION_PATH}")
    assert response.request.headers["host"] == C
    await refused(response, orgs[B], 401, "bad_authority")


# -- item 9: unknown key id flood --------------------------------------------------------------


def with_key_id(headers: dict[str, str], key_id: str) -> dict[str, str]:
    current = headers["Signature-Input"].split('keyid="', 1)[1].split('"', 1)[0]
    return {**headers, "Signature-Input": headers["Signature-Input"].replace(current, key_id)}


async def test_item9_a_flood_of_unknown_key_ids_costs_one_key_fetch_per_interval() -> None:
    async with federation((A, B), fetch_keys=True) as (orgs, network):
        await building(orgs[B], "b-hq", name="B headquarters")
        registry = orgs[B].services.federation.registry
        clock = [1000.0]
        registry._clock = lambda: clock[0]
        template = signed(orgs[A], B, BODY)

        async def flood(org: str, count: int) -> list[int]:
            statuses = []
            for batch in range(0, count, 50):
                requests = [
                    post(orgs[B], with_key_id(template, f"{org}:{secrets.token_hex(8)}"))
                    for _ in range(batch, min(count, batch + 50))
                ]
                statuses += [r.status_code for r in await asyncio.gather(*requests)]
            return statuses

        # Random key ids of a partner that publishes its keys: one fetch, not one per request.
        assert await flood(A, 1000) == [401] * 1000
        assert registry.fetches == 1
        assert network.contacts(A, KEYS_PATH) == 1
        # That one fetch brought A's real keys: A's genuine requests need no further fetch.
        await answered(orgs[B], signed(orgs[A], B, BODY))
        # The next interval allows one more fetch.
        clock[0] += registry.refresh_interval_s
        assert await flood(A, 100) == [401] * 100
        assert (registry.fetches, network.contacts(A, KEYS_PATH)) == (2, 2)
        # Key ids of organisations that are not partners: no fetch at all.
        clock[0] += registry.refresh_interval_s
        assert await flood("z.test", 1000) == [401] * 1000
        assert (registry.fetches, network.contacts(A, KEYS_PATH)) == (2, 2)
        assert network.contacts("z.test") == 0
        # The 2,100 refusals are audited, but a flood of unverifiable requests cannot flood the
        # tenant's log: at most UNVERIFIED_RECORDS a minute are kept, the rest counted.
        records = await orgs[B].records("federationRequest")
        refusals = [r["details"]["reason"] for r in records if r["outcome"] == "denied"]
        assert refusals == ["unknown_key"] * UNVERIFIED_RECORDS


# -- item 10: keys are bound to their organisation; grants per partner ------------------------


@pytest.fixture
async def c_grants_only_b() -> AsyncIterator[dict[str, Org]]:
    async with federation(grants={A: [], B: [], C: [B]}) as (organisations, _):
        await building(organisations[C], "c-hq", name="C headquarters")
        yield organisations


C_QUERY = orjson.dumps({"query": '{ twin(id: "c-hq") { id properties } }'})


async def test_item10_the_granted_partner_reads(c_grants_only_b: dict[str, Org]) -> None:
    orgs = c_grants_only_b
    answer = await answered(orgs[C], signed(orgs[B], C, C_QUERY), C_QUERY)
    assert answer["data"]["twin"]["properties"] == {"name": "C headquarters"}


@pytest.mark.parametrize(
    "claims",
    [{}, {"on_behalf_of": f"alice@{B}", "hops": B}],
    ids=["as-itself", "claiming-b-in-headers"],
)
async def test_item10_a_partner_cannot_read_a_tenant_granted_to_another(
    c_grants_only_b: dict[str, Org], claims: dict[str, str]
) -> None:
    orgs = c_grants_only_b
    headers = signed(orgs[A], C, C_QUERY, **claims)
    await refused(await post(orgs[C], headers, C_QUERY), orgs[C], 403, "not_granted", by=A)


async def test_item10_a_partner_key_does_not_sign_for_another_organisation(
    c_grants_only_b: dict[str, Org],
) -> None:
    """A's key under B's name: the key id ``b.test:<A's kid>`` names no key of B's, so the
    request is not authenticated at all (401, not 403)."""
    orgs = c_grants_only_b
    headers = signed(orgs[A], C, C_QUERY, org=B)
    assert f'keyid="{B}:' in headers["Signature-Input"]
    await refused(await post(orgs[C], headers, C_QUERY), orgs[C], 401, "unknown_key")


# -- items 11 and 12: parameters and signature selection --------------------------------------


def edit_input(headers: dict[str, str], old: str, new: str) -> dict[str, str]:
    assert old in headers["Signature-Input"]
    return {**headers, "Signature-Input": headers["Signature-Input"].replace(old, new)}


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (('alg="ed25519"', 'alg="hmac-sha256"'), "alg_mismatch"),
        ((f'tag="{TAG}"', f'tag="{TAG}";foo=1'), "unknown_parameter"),
        ((f';tag="{TAG}"', ""), "wrong_tag"),
        ((f'tag="{TAG}"', 'tag="activitypub"'), "wrong_tag"),
    ],
    ids=["item11-alg", "item11-unknown-parameter", "item12-no-tag", "item12-wrong-tag"],
)
async def test_items11_12_parameters_and_tags(
    orgs: dict[str, Org], edit: tuple[str, str], reason: str
) -> None:
    headers = edit_input(signed(orgs[A], B, BODY), *edit)
    await refused(await post(orgs[B], headers), orgs[B], 401, reason)


def two_signatures(first: dict[str, str], second: dict[str, str]) -> dict[str, str]:
    """``first`` with ``second``'s signature added under the label ``other``."""
    other_input = second["Signature-Input"].replace("tm=", "other=", 1)
    other_signature = second["Signature"].replace("tm=", "other=", 1)
    return {
        **first,
        "Signature-Input": f"{first['Signature-Input']}, {other_input}",
        "Signature": f"{first['Signature']}, {other_signature}",
    }


async def test_item12_two_signatures_with_our_tag_are_refused(orgs: dict[str, Org]) -> None:
    headers = two_signatures(signed(orgs[A], B, BODY), signed(orgs[A], B, BODY))
    await refused(await post(orgs[B], headers), orgs[B], 401, "multiple_signatures")


async def test_item12_one_tagged_signature_among_others_is_accepted(
    orgs: dict[str, Org],
) -> None:
    untagged = edit_input(signed(orgs[A], B, BODY), f'tag="{TAG}"', 'tag="something-else"')
    headers = two_signatures(signed(orgs[A], B, BODY), untagged)
    answer = await answered(orgs[B], headers)
    assert answer["data"]["twin"]["id"] == "b-hq"


# -- item 13: partner key rotation -------------------------------------------------------------


async def pin(org: Org, partner: str, keys: list[dict[str, Any]]) -> None:
    """Replace ``partner``'s pinned keys in ``org``'s registry (a platform API record)."""
    settings = PartnerSettings(
        org=partner,
        base_url=f"http://{partner}",
        keys=keys,
        tenants=[TENANT],
        remote_tenant=TENANT,
    )
    await org.services.store.save_partner(PartnerRegistry.record(settings))
    org.services.federation.registry.forget_cache()


def rotate(keyring: Keyring) -> tuple[Keyring, OrgKey]:
    """``keyring`` rotated with a one-hour overlap, and its new key (picked by kid: within the
    second the old key was made, both start alike and signing_key() may return either)."""
    rotated = keyring.rotated(overlap=timedelta(hours=1))
    known = {key.kid for key in keyring.keys}
    [new] = [key for key in rotated.keys if key.kid not in known]
    return rotated, new


async def test_item13_rotation_new_key_at_once_old_key_until_its_end(
    orgs: dict[str, Org],
) -> None:
    a, b = orgs[A], orgs[B]
    old_keyring = a.services.audit.keyring
    old = old_keyring.signing_key()
    rotated, new = rotate(old_keyring)
    assert new.kid != old.kid
    old_end = rotated.find(old.kid).not_after  # type: ignore[union-attr]

    # Before B learns the new key, a request signed with it is not authenticated.
    await refused(await post(b, signed(a, B, BODY, key=new)), b, 401, "unknown_key")
    await pin(b, A, rotated.public_document()["keys"])
    await answered(b, signed(a, B, BODY, key=new))
    await answered(b, signed(a, B, BODY, key=old))

    # Signed shortly before the old key ends: accepted until then, refused after.
    before_end = signed(a, B, BODY, key=old, now=old_end - 60 * SECOND)
    after_end = signed(a, B, BODY, key=old, now=old_end - 60 * SECOND)
    with time_machine.travel(old_end - 30 * SECOND, tick=True):
        await answered(b, before_end)
    with time_machine.travel(old_end + 30 * SECOND, tick=True):
        await refused(await post(b, after_end), b, 401, "key_not_valid", by="unknown")
        await answered(b, signed(a, B, BODY, key=new))


async def test_item13_a_key_removed_from_the_pinned_set_is_refused(
    orgs: dict[str, Org],
) -> None:
    a, b = orgs[A], orgs[B]
    old = a.signing_key()
    await answered(b, signed(a, B, BODY, key=old))  # the old key is known and cached
    _, new = rotate(a.services.audit.keyring)
    await pin(b, A, [new.public_jwk()])  # the old key withdrawn early
    await refused(await post(b, signed(a, B, BODY, key=old)), b, 401, "unknown_key")
    await answered(b, signed(a, B, BODY, key=new))


async def test_item13_a_key_a_partner_stops_publishing_is_refused_after_the_next_fetch() -> None:
    async with federation((A, B), fetch_keys=True) as (orgs, network):
        await building(orgs[B], "b-hq", name="B headquarters")
        a, b = orgs[A], orgs[B]
        registry = b.services.federation.registry
        clock = [1000.0]
        registry._clock = lambda: clock[0]
        old = a.signing_key()
        await answered(b, signed(a, B, BODY, key=old))  # fetched and cached
        _, new = rotate(a.services.audit.keyring)

        async def revoke_old(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            return httpx.Response(200, json={"org": A, "keys": [new.public_jwk()]})

        network.rewrite[A] = revoke_old  # A now publishes only its new key
        clock[0] += registry.refresh_interval_s
        await answered(b, signed(a, B, BODY, key=new))  # an unknown kid: B fetches again
        assert registry.fetches == 2
        await refused(await post(b, signed(a, B, BODY, key=old)), b, 401, "unknown_key")


# -- item 14: partner key endpoint down --------------------------------------------------------


async def test_item14_a_dead_key_endpoint_starves_no_one() -> None:
    async with federation((A, B), fetch_keys=True) as (orgs, network):
        await building(orgs[B], "b-hq", name="B headquarters")
        a, b = orgs[A], orgs[B]
        registry = b.services.federation.registry
        clock = [1000.0]
        registry._clock = lambda: clock[0]
        await answered(b, signed(a, B, BODY))  # B fetched and cached A's keys
        assert registry.fetches == 1

        network.stalled.add(A)  # A's key endpoint accepts connections and never answers
        clock[0] += registry.refresh_interval_s  # a new fetch is allowed
        template = signed(a, B, BODY)
        unknown = [
            asyncio.create_task(post(b, with_key_id(template, f"{A}:{secrets.token_hex(8)}")))
            for _ in range(25)
        ]
        deadline = time.monotonic() + 5
        while network.contacts(A, KEYS_PATH) < 2:
            assert time.monotonic() < deadline, "the key fetch never started"
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        # While the fetch hangs, requests signed with cached keys are answered.
        known = await asyncio.gather(*(post(b, signed(a, B, BODY)) for _ in range(25)))
        assert [r.status_code for r in known] == [200] * 25
        assert not any(task.done() for task in unknown)
        # The unknown key ids wait for that one fetch, which gives up within its timeout.
        statuses = [r.status_code for r in await asyncio.gather(*unknown)]
        assert statuses == [401] * 25
        assert time.perf_counter() - started < FETCH_TIMEOUT_S + 0.5
        assert FETCH_TIMEOUT_S <= 2.0
        assert (registry.fetches, network.contacts(A, KEYS_PATH)) == (2, 2)


# -- item 15: tampered or unsigned answers -----------------------------------------------------


def rewritten(response: httpx.Response, content: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(response.status_code, headers=headers, content=content)


def forged_body(response: httpx.Response) -> bytes:
    """B's answer with the twin's name changed and a partner call it never made."""
    answer = orjson.loads(response.content)
    answer["data"]["t0"]["properties"]["name"] = "Mallory's building"
    answer["extensions"] = {"federation": [{"partner": "evil.test", "status": "ok"}]}
    return orjson.dumps(answer)


async def tamper_body(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    return rewritten(response, forged_body(response), dict(response.headers))


async def drop_signature(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    headers = {
        k: v for k, v in response.headers.items() if k not in ("signature", "signature-input")
    }
    return rewritten(response, response.content, headers)


def resign_with(key: OrgKey, org: str) -> Any:
    async def resign(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = forged_body(response)
        headers = sign_response(
            status=response.status_code,
            headers={"content-type": "application/json"},
            body=body,
            request_method="POST",
            request_url=str(request.url),
            request_signature=request.headers["signature"],
            org=org,
            key=key,
        )
        return rewritten(response, body, headers)

    return resign


@pytest.fixture
async def a_links_to_b() -> AsyncIterator[tuple[dict[str, Org], Network]]:
    async with federation() as (orgs, network):
        await building(orgs[B], "b-hq", name="B headquarters")
        await building(orgs[A], "a-hq", name="A headquarters", links=(f"twin://{B}/{TENANT}/b-hq",))
        yield orgs, network


async def assert_unverified(orgs: dict[str, Org], reason: str) -> None:
    body = await orgs[A].gql(TRAVERSE, id="a-hq", depth=0)
    assert "errors" not in body, body
    [edge] = body["data"]["twin"]["relationships"]["edges"]
    target = edge["node"]["remoteTarget"]
    assert (target["status"], target["reason"], target["twin"]) == (
        "invalid_signature",
        reason,
        None,
    )
    # Nothing of the answer is used: not its data, not the partner calls it lists.
    [entry] = body["extensions"]["federation"]
    assert (entry["partner"], entry["status"], entry["reason"]) == (B, "invalid_signature", reason)
    assert "Mallory" not in orjson.dumps(body).decode()
    [record] = await orgs[A].records("federationQuery")
    assert (record["outcome"], record["error"]) == ("failure", "invalid_signature")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (tamper_body, "digest_mismatch"),
        (drop_signature, "missing_signature"),
    ],
    ids=["body-changed", "unsigned"],
)
async def test_item15_a_tampered_answer_is_not_used(
    a_links_to_b: tuple[dict[str, Org], Network], tamper: Any, reason: str
) -> None:
    orgs, network = a_links_to_b
    network.rewrite[B] = tamper
    await assert_unverified(orgs, reason)


async def test_item15_an_answer_signed_by_another_key_is_not_used(
    a_links_to_b: tuple[dict[str, Org], Network],
) -> None:
    orgs, network = a_links_to_b
    network.rewrite[B] = resign_with(orgs[C].signing_key(), B)  # C's key, B's name
    await assert_unverified(orgs, "unknown_key")
    network.rewrite[B] = resign_with(orgs[C].signing_key(), C)  # C signing as itself
    body = await orgs[A].gql(TRAVERSE, id="a-hq", depth=0)
    [edge] = body["data"]["twin"]["relationships"]["edges"]
    assert edge["node"]["remoteTarget"]["status"] == "invalid_signature"
    assert edge["node"]["remoteTarget"]["twin"] is None


async def test_item15_an_answer_to_another_request_is_not_used(
    a_links_to_b: tuple[dict[str, Org], Network],
) -> None:
    orgs, network = a_links_to_b
    kept: list[httpx.Response] = []

    async def keep(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        kept.append(response)
        return response

    async def replay(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return rewritten(kept[0], kept[0].content, dict(kept[0].headers))

    network.rewrite[B] = keep
    first = await orgs[A].gql(TRAVERSE, id="a-hq", depth=0)
    assert first["extensions"]["federation"][0]["status"] == "ok"
    network.rewrite[B] = replay  # B's genuine, signed answer to the first request
    body = await orgs[A].gql(TRAVERSE, id="a-hq", depth=0)
    [edge] = body["data"]["twin"]["relationships"]["edges"]
    target = edge["node"]["remoteTarget"]
    assert (target["status"], target["reason"], target["twin"]) == (
        "invalid_signature",
        "bad_signature",
        None,
    )


# -- item 16: oversized signature headers -------------------------------------------------------


@pytest.mark.parametrize("field", ["Signature", "Signature-Input"])
async def test_item16_a_one_megabyte_signature_header_is_refused_quickly(
    orgs: dict[str, Org], field: str
) -> None:
    headers = signed(orgs[A], B, BODY)
    headers[field] = headers[field] + ", x=:" + "A" * (1024 * 1024) + ":"
    started = time.perf_counter()
    response = await post(orgs[B], headers)
    assert time.perf_counter() - started < 1.0
    await refused(response, orgs[B], 431, "too_large")
    # An answer is bound to the request's Signature: to an oversized one, it goes unsigned.
    assert ("signature" in response.headers) is (field != "Signature")


async def test_item16_many_labels_are_refused(orgs: dict[str, Org]) -> None:
    headers = signed(orgs[A], B, BODY)
    extra = [f"l{n}" for n in range(2000)]
    headers["Signature-Input"] += "".join(f', {label}=("@method");created=1' for label in extra)
    headers["Signature"] += "".join(f", {label}=:AAAA:" for label in extra)
    await refused(await post(orgs[B], headers), orgs[B], 431, "too_large")


# -- item 17: query string tampering ------------------------------------------------------------


SIGNED_QUERY = "?a=1&b=2"


@pytest.mark.parametrize("sent", ["?b=2&a=1", "?a=1", "?a=1&b=2&c=3", ""])
async def test_item17_a_changed_query_string_is_refused(orgs: dict[str, Org], sent: str) -> None:
    headers = signed(orgs[A], B, BODY, url=f"http://{B}{FEDERATION_PATH}{SIGNED_QUERY}")
    response = await post(orgs[B], headers, url=FEDERATION_PATH + sent)
    await refused(response, orgs[B], 401, "bad_signature")


async def test_item17_the_signed_query_string_is_accepted(orgs: dict[str, Org]) -> None:
    headers = signed(orgs[A], B, BODY, url=f"http://{B}{FEDERATION_PATH}{SIGNED_QUERY}")
    response = await post(orgs[B], headers, url=FEDERATION_PATH + SIGNED_QUERY)
    assert response.status_code == 200, response.text


# -- read-only, hops and loops ------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        'mutation { createTwin(input: {id: "planted", model: "dtmi:twinmesh:building:Building;1",'
        ' properties: {name: "x"}}) { id } }',
        "subscription { twinChanges { twinId } }",
    ],
    ids=["mutation", "subscription"],
)
async def test_a_partner_request_is_read_only(orgs: dict[str, Org], operation: str) -> None:
    body = orjson.dumps({"query": operation})
    response = await post(orgs[B], signed(orgs[A], B, body), body)
    await refused(response, orgs[B], 403, "read_only", by=A)
    assert await orgs[B].gql('{ twin(id: "planted") { id } }') == {"data": {"twin": None}}


async def test_a_traversal_back_to_its_origin_is_a_loop_and_not_sent() -> None:
    async with federation((A, B)) as (orgs, network):
        await building(orgs[B], "b-hq", name="B", links=(f"twin://{A}/{TENANT}/a-hq",))
        await building(orgs[A], "a-hq", name="A", links=(f"twin://{B}/{TENANT}/b-hq",))
        body = await orgs[A].gql(TRAVERSE, id="a-hq", depth=1)
        [edge] = body["data"]["twin"]["relationships"]["edges"]
        to_b = edge["node"]["remoteTarget"]
        assert to_b["status"] == "ok"
        [back] = to_b["twin"]["relationships"]["edges"]
        assert back["node"]["remoteTarget"]["status"] == "denied"
        assert back["node"]["remoteTarget"]["reason"] == "loop"
        assert network.contacts(A, FEDERATION_PATH) == 0
        entries = [
            (e["partner"], e["status"], e.get("via")) for e in body["extensions"]["federation"]
        ]
        assert entries == [(B, "ok", None), (A, "denied", B)]


async def test_a_request_that_already_passed_through_us_is_refused(
    orgs: dict[str, Org],
) -> None:
    headers = signed(orgs[A], B, BODY, hops=f"{B},{A}")
    await refused(await post(orgs[B], headers), orgs[B], 403, "loop", by=A)


REMOTE_OF_B = orjson.dumps(
    {
        "query": '{ twin(id: "b-hq") { relationships { edges { node { '
        "remoteTarget(depth: 0) { org status reason twin } } } } } }"
    }
)


@pytest.fixture
async def b_links_to_c() -> AsyncIterator[tuple[dict[str, Org], Network]]:
    async with federation(hop_budget=2) as (orgs, network):
        await building(orgs[C], "c-hq", name="C")
        await building(orgs[B], "b-hq", name="B", links=(f"twin://{C}/{TENANT}/c-hq",))
        yield orgs, network


async def test_a_spent_hop_budget_stops_the_traversal(
    b_links_to_c: tuple[dict[str, Org], Network],
) -> None:
    orgs, network = b_links_to_c
    answer = await answered(orgs[B], signed(orgs[A], B, REMOTE_OF_B, budget="0"), REMOTE_OF_B)
    [edge] = answer["data"]["twin"]["relationships"]["edges"]
    assert edge["node"]["remoteTarget"]["status"] == "denied"
    assert edge["node"]["remoteTarget"]["reason"] == "hop budget exhausted"
    assert network.contacts(C) == 0


async def test_a_partner_cannot_raise_our_hop_budget(
    b_links_to_c: tuple[dict[str, Org], Network],
) -> None:
    orgs, network = b_links_to_c
    answer = await answered(orgs[B], signed(orgs[A], B, REMOTE_OF_B, budget="100"), REMOTE_OF_B)
    [edge] = answer["data"]["twin"]["relationships"]["edges"]
    assert edge["node"]["remoteTarget"]["status"] == "ok"
    [to_c] = [r for r in network.requests if r.url.host == C]
    assert to_c.headers[HOP_BUDGET] == "1"  # B's own budget (2), less B's hop


async def test_the_partners_request_id_and_trace_reach_our_audit_record(
    orgs: dict[str, Org],
) -> None:
    trace_id = secrets.token_hex(16)
    headers = signed(
        orgs[A],
        B,
        BODY,
        request_id="a-request-42",
        traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01",
    )
    await answered(orgs[B], headers)
    [record] = await orgs[B].records("federationRequest")
    assert (record["requestId"], record["traceId"], record["outcome"]) == (
        "a-request-42",
        trace_id,
        "success",
    )
    assert record["principal"]["id"] == A
    assert record["details"] == {"onBehalfOf": f"alice@{A}", "hops": [A]}


# -- item 58: a slow partner --------------------------------------------------------------------


async def test_item58_slow_partner_times_out_then_the_circuit_opens() -> None:
    async with federation((A, B), timeout_s=0.2) as (orgs, network):
        a = orgs[A]
        await building(orgs[B], "b-hq", name="B")
        await building(a, "a-hq", name="A", links=(f"twin://{B}/{TENANT}/b-hq",))
        client = a.services.federation.client
        clock = [1000.0]
        client._clock = lambda: clock[0]
        network.stalled.add(B)

        async def status() -> tuple[str, str | None]:
            body = await a.gql(TRAVERSE, id="a-hq", depth=0)
            [edge] = body["data"]["twin"]["relationships"]["edges"]
            target = edge["node"]["remoteTarget"]
            assert (target["twin"] is None) is (target["status"] != "ok")
            assert body["extensions"]["federation"][0]["status"] == target["status"]
            return target["status"], target["reason"]

        # A local query runs while a federated one waits for the stalled partner.
        pending = asyncio.create_task(status())
        deadline = time.monotonic() + 5
        while network.contacts(B) < 1:
            assert time.monotonic() < deadline, "the partner was never contacted"
            await asyncio.sleep(0.005)
        local = await a.gql('{ twin(id: "a-hq") { id properties } }')
        assert local == {"data": {"twin": {"id": "a-hq", "properties": {"name": "A"}}}}
        assert not pending.done()
        assert await pending == ("timeout", None)

        for _ in range(BREAKER_FAILURES - 1):
            assert await status() == ("timeout", None)
        assert network.contacts(B) == BREAKER_FAILURES
        # Open: calls fail fast without contacting the partner.
        assert await status() == ("unreachable", "circuit open")
        assert await status() == ("unreachable", "circuit open")
        assert network.contacts(B) == BREAKER_FAILURES
        # After the open period one call tries again; the partner answers once more.
        network.stalled.discard(B)
        clock[0] += BREAKER_OPEN_S
        assert await status() == ("ok", None)
        assert network.contacts(B) == BREAKER_FAILURES + 1
        statuses = [r["details"]["status"] for r in await a.records("federationQuery")]
        assert statuses == ["timeout"] * 3 + ["unreachable"] * 2 + ["ok"]


async def test_item58_a_drip_feeding_partner_is_cut_off_by_the_deadline() -> None:
    """httpx timeouts bound each read, not the exchange: the partner's timeout is a total."""
    async with federation((A, B), timeout_s=0.3) as (orgs, network):
        a = orgs[A]
        await building(orgs[B], "b-hq", name="B")
        await building(a, "a-hq", name="A", links=(f"twin://{B}/{TENANT}/b-hq",))

        class Drip(httpx.AsyncByteStream):
            """A byte every 50 ms, well within any read timeout, for 5 s."""

            async def __aiter__(self) -> AsyncIterator[bytes]:
                for _ in range(100):
                    yield b" "
                    await asyncio.sleep(0.05)

        async def drip(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            return httpx.Response(200, headers=dict(response.headers), stream=Drip())

        network.rewrite[B] = drip
        started = time.perf_counter()
        body = await a.gql(TRAVERSE, id="a-hq", depth=0)
        assert time.perf_counter() - started < 2.0
        [edge] = body["data"]["twin"]["relationships"]["edges"]
        assert edge["node"]["remoteTarget"]["status"] == "timeout"


async def test_an_oversized_answer_is_not_read_to_the_end(
    a_links_to_b: tuple[dict[str, Org], Network],
) -> None:
    orgs, network = a_links_to_b
    sent = [0]

    class Endless(httpx.AsyncByteStream):
        """64 MB, a megabyte at a time."""

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for _ in range(64):
                sent[0] += 1
                yield b" " * (1024 * 1024)
                await asyncio.sleep(0)

    async def endless(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return httpx.Response(200, headers=dict(response.headers), stream=Endless())

    network.rewrite[B] = endless
    body = await orgs[A].gql(TRAVERSE, id="a-hq", depth=0)
    [edge] = body["data"]["twin"]["relationships"]["edges"]
    target = edge["node"]["remoteTarget"]
    assert (target["status"], target["reason"]) == ("unreachable", "answer too large")
    assert sent[0] <= MAX_RESPONSE_BYTES // (1024 * 1024) + 1
