"""Issuer key sets: JWKS parsing and algorithm pinning, and the cache policy of SECURITY.md §5.3
(checklist item 24, and the jku/x5u part of item 23) against a JWKS endpoint behind
``httpx.MockTransport`` and, once, a real loopback server (pytest-httpserver)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from joserfc.jwk import OKPKey
from pytest_httpserver import HTTPServer

from auth.idp import (
    ISSUER,
    FakeClock,
    JwksServer,
    TestIdp,
    VerifierFactory,
    jwks,
    rejected,
    signing_key,
)
from twinmesh.auth import IssuerConfig, TokenVerifier, parse_jwks
from twinmesh.auth.compact import sign_compact
from twinmesh.auth.jwks import JwksCache, JwksUnavailable, pin_algorithm

ALL = ("ES256", "ES384", "RS256", "PS256", "EdDSA", "Ed25519")


# --- parsing and pinning -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jwk", "allowed", "expected"),
    [
        ({"kty": "EC", "crv": "P-256"}, ALL, "ES256"),
        ({"kty": "EC", "crv": "P-384"}, ALL, "ES384"),
        ({"kty": "EC", "crv": "P-256", "alg": "ES256"}, ALL, "ES256"),
        ({"kty": "EC", "crv": "P-256", "alg": "ES384"}, ALL, None),  # contradicts the curve
        ({"kty": "EC", "crv": "P-256", "alg": "HS256"}, ALL, None),
        ({"kty": "EC", "crv": "secp256k1"}, ALL, None),
        ({"kty": "RSA"}, ALL, "RS256"),  # RFC 9068: RS256 when the JWK does not say
        ({"kty": "RSA", "alg": "PS256"}, ALL, "PS256"),
        ({"kty": "RSA", "alg": "HS256"}, ALL, None),
        ({"kty": "RSA", "alg": "RS512"}, ALL, None),  # not allowed for this issuer
        ({"kty": "OKP", "crv": "Ed25519"}, ALL, "EdDSA"),
        ({"kty": "OKP", "crv": "Ed25519"}, ("Ed25519",), "Ed25519"),
        ({"kty": "OKP", "crv": "Ed25519", "alg": "ES256"}, ALL, None),
        ({"kty": "OKP", "crv": "Ed448"}, ALL, None),
        ({"kty": "oct"}, ALL, None),
        ({"kty": "oct", "alg": "HS256"}, ("HS256",), None),
        ({"kty": "EC", "crv": "P-256", "use": "enc"}, ALL, None),
        ({"kty": "EC", "crv": "P-256", "key_ops": ["encrypt"]}, ALL, None),
        ({"kty": "EC", "crv": "P-256", "key_ops": ["verify"]}, ALL, "ES256"),
        ({"kty": "EC", "crv": "P-256"}, ("RS256",), None),
    ],
)
def test_algorithm_is_pinned_from_the_jwk_never_from_a_token(
    jwk: dict[str, Any], allowed: tuple[str, ...], expected: str | None
) -> None:
    assert pin_algorithm(jwk, allowed) == expected


def test_parse_jwks_keeps_only_usable_uniquely_named_signing_keys() -> None:
    es, rs, ed = signing_key("ES256"), signing_key("RS256"), signing_key("EdDSA")
    small_rsa = {"kty": "RSA", "kid": "small", "n": "AQAB" * 10, "e": "AQAB"}  # < 2048 bits
    twin = signing_key("ES256", kid="twin")
    document = {
        "keys": [
            es.public_jwk(),
            rs.public_jwk(alg=None),
            ed.public_jwk(),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            small_rsa,
            {"kty": "EC", "crv": "P-256", "x": "bad", "y": "bad", "kid": "broken"},
            signing_key("ES256", kid="nokid").public_jwk(kid=None),
            twin.public_jwk(),
            signing_key("EdDSA", kid="twin").public_jwk(),
            "not a key",
        ]
    }
    keys = parse_jwks(document, ("ES256", "RS256", "EdDSA"))
    assert {kid: key.algorithm for kid, key in keys.items()} == {
        "es256-1": "ES256",
        "rs256-1": "RS256",
        "eddsa-1": "EdDSA",
    }
    assert all(not key.key.is_private for key in keys.values())


def test_parse_jwks_ignores_published_private_parts() -> None:
    key = OKPKey.generate_key("Ed25519")
    leaked = dict(key.as_dict(private=True), kid="leaky")
    parsed = parse_jwks({"keys": [leaked]}, ("EdDSA",))
    assert not parsed["leaky"].key.is_private


@pytest.mark.parametrize("document", [{}, {"keys": {}}, {"keys": "x"}])
def test_parse_jwks_rejects_documents_that_are_not_key_sets(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="keys"):
        parse_jwks(document, ("ES256",))


# --- item 24: rotation, single flight, outage ---------------------------------------------------


async def test_item24_keys_are_fetched_once_and_cached_within_the_ttl(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    for _ in range(20):
        assert (await verifier.verify(idp.token())).tenant == "acme"
        clock.advance(29)  # 580 s in all: still inside the 600 s TTL
    assert jwks_server.fetches == 1
    request = jwks_server.requests[0]
    assert request.method == "GET"
    assert str(request.url) == JwksServer.uri
    assert "application/jwk-set+json" in request.headers["accept"]


async def test_item24_new_kid_is_accepted_after_exactly_one_single_flight_refresh(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    old, new = signing_key("ES256"), signing_key("ES256", kid="es256-2")
    assert (await verifier.verify(idp.token(old))).subject == "ada"
    assert jwks_server.fetches == 1

    clock.advance(61)  # past the refresh interval, well inside the TTL
    jwks_server.document = jwks(old, new)  # the IdP publishes the new key...
    jwks_server.delay = 0.05  # ...and its endpoint is slow enough for requests to pile up
    tokens = [idp.token(new, jti=f"jti-{i}") for i in range(50)]
    principals = await asyncio.gather(*(verifier.verify(t) for t in tokens))

    assert {p.token_id for p in principals} == {f"jti-{i}" for i in range(50)}
    assert jwks_server.fetches == 2  # one refresh for all 50 concurrent requests
    assert (await verifier.verify(idp.token(old))).subject == "ada"  # old key still published
    assert jwks_server.fetches == 2


async def test_item24_kid_published_within_the_refresh_interval_waits_for_it(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    new = signing_key("ES256", kid="es256-2")
    await verifier.verify(idp.token())
    jwks_server.document = jwks(signing_key("ES256"), new)
    clock.advance(30)
    assert await rejected(verifier, idp.token(new)) == "unknown_kid"
    assert jwks_server.fetches == 1
    clock.advance(30)
    assert (await verifier.verify(idp.token(new))).subject == "ada"
    assert jwks_server.fetches == 2


async def test_item24_removed_key_is_rejected_after_the_ttl(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    old, new = signing_key("ES256"), signing_key("ES256", kid="es256-2")
    await verifier.verify(idp.token(old))
    jwks_server.document = jwks(new)  # the IdP retires the old key

    clock.advance(599)
    assert (await verifier.verify(idp.token(old, iat=int(clock())))).subject == "ada"
    assert jwks_server.fetches == 1
    clock.advance(1)  # TTL reached: the next request refetches
    assert await rejected(verifier, idp.token(old, iat=int(clock()))) == "unknown_kid"
    assert (await verifier.verify(idp.token(new, iat=int(clock())))).subject == "ada"
    assert jwks_server.fetches == 2


async def test_item24_jwks_down_serves_cached_keys_until_the_hard_cap_then_fails_closed(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    await verifier.verify(idp.token())
    jwks_server.down = True

    # Every TTL the cache retries once; failures keep the last good keys.
    for hour in range(1, 24):
        clock.now = 1_800_000_000.0 + hour * 3600
        assert (await verifier.verify(idp.token(iat=int(clock())))).subject == "ada"
    fetches_while_down = jwks_server.fetches - 1
    assert 1 <= fetches_while_down <= 23

    clock.now = 1_800_000_000.0 + 24 * 3600  # 24 h after the last successful fetch
    assert await rejected(verifier, idp.token(iat=int(clock()))) == "jwks_unavailable"
    clock.advance(30)
    assert await rejected(verifier, idp.token(iat=int(clock()))) == "jwks_unavailable"

    jwks_server.down = False  # the IdP comes back: recovery without restart
    clock.advance(60)
    assert (await verifier.verify(idp.token(iat=int(clock())))).subject == "ada"


async def test_item24_unreachable_at_start_fails_closed_and_retries_once_per_interval(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    jwks_server.down = True
    for _ in range(10):
        assert await rejected(verifier, idp.token()) == "jwks_unavailable"
    assert jwks_server.fetches == 1
    clock.advance(60)
    jwks_server.down = False
    assert (await verifier.verify(idp.token(iat=int(clock())))).subject == "ada"
    assert jwks_server.fetches == 2


async def test_item24_unknown_kid_flood_fetches_at_most_once_per_interval(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    await verifier.verify(idp.token())
    assert jwks_server.fetches == 1
    attacker = OKPKey.generate_key("Ed25519")

    async def flood(n: int) -> None:
        tokens = [
            sign_compact(
                {"typ": "at+jwt", "kid": uuid.uuid4().hex}, idp.claims(), attacker, "EdDSA"
            )
            for _ in range(n)
        ]
        reasons = await asyncio.gather(*(rejected(verifier, t) for t in tokens))
        assert set(reasons) == {"unknown_kid"}

    await flood(500)  # 0 s after the last fetch: no fetch at all
    assert jwks_server.fetches == 1
    for _ in range(10):  # 10 minutes of floods, one burst every 6 s
        clock.advance(6)
        await flood(100)
    assert jwks_server.fetches == 2  # 60 s elapsed: exactly one more fetch
    before = jwks_server.fetches
    for _ in range(9):  # 9 more minutes
        clock.advance(60)
        await flood(20)
    assert jwks_server.fetches - before == 9  # one per 60 s interval, however many requests
    # The legitimate key kept working throughout.
    assert (await verifier.verify(idp.token(iat=int(clock())))).subject == "ada"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, json={"error": "boom"}),
        httpx.Response(302, headers={"location": "https://evil.test/jwks"}),
        httpx.Response(200, text="<html>captive portal</html>"),
        httpx.Response(200, json={"no": "keys"}),
        httpx.Response(200, content=b"{" + b" " * (300 * 1024) + b"}"),
    ],
    ids=["http-500", "redirect", "html", "not-a-key-set", "oversized"],
)
async def test_item24_bad_jwks_responses_are_failed_fetches(
    idp: TestIdp, clock: FakeClock, response: httpx.Response
) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return response

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        config = idp.config(jwks=None, jwks_uri=JwksServer.uri)
        async with TokenVerifier([config], http_client=client, clock=clock) as verifier:
            assert await rejected(verifier, idp.token()) == "jwks_unavailable"
    assert [str(r.url) for r in requests] == [JwksServer.uri]  # the redirect was not followed


async def test_item24_a_hanging_jwks_endpoint_is_cut_off_by_the_fetch_timeout(
    idp: TestIdp, clock: FakeClock
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        cache = JwksCache(
            JwksServer.uri, algorithms=("ES256",), client=client, clock=clock, fetch_timeout=0.2
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(JwksUnavailable):
            await cache.get("es256-1")
        assert loop.time() - started < 1.0
        await cache.aclose()


def test_jwks_fetch_timeout_is_at_most_two_seconds(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="fetch_timeout"):
        JwksCache(
            JwksServer.uri, algorithms=("ES256",), client=httpx.AsyncClient(), fetch_timeout=5
        )


async def test_item24_a_cancelled_request_does_not_cancel_the_shared_fetch(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    jwks_server.delay = 0.05
    first = asyncio.create_task(verifier.verify(idp.token()))
    second = asyncio.create_task(verifier.verify(idp.token()))
    await asyncio.sleep(0.01)
    first.cancel()
    assert (await second).subject == "ada"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert jwks_server.fetches == 1


async def test_item24_rotation_against_a_loopback_jwks_server(
    idp: TestIdp, clock: FakeClock, httpserver: HTTPServer
) -> None:
    old, new = signing_key("ES256"), signing_key("RS256", kid="rs256-2")
    current = {"document": jwks(old)}
    httpserver.expect_request("/jwks").respond_with_handler(
        lambda _request: _json_response(current["document"])
    )
    config = idp.config(jwks=None, jwks_uri=httpserver.url_for("/jwks"))
    async with TokenVerifier([config], clock=clock) as verifier:
        assert (await verifier.verify(idp.token(old))).subject == "ada"
        current["document"] = jwks(new)
        clock.advance(61)
        assert (await verifier.verify(idp.token(new, iat=int(clock())))).subject == "ada"
        clock.advance(600)
        assert await rejected(verifier, idp.token(old, iat=int(clock()))) == "unknown_kid"
    assert [entry[0].path for entry in httpserver.log] == ["/jwks", "/jwks", "/jwks"]


def _json_response(document: dict[str, Any]) -> Any:
    from werkzeug import Response

    return Response(json.dumps(document), content_type="application/jwk-set+json")


# --- item 23: jku / x5u are never followed -----------------------------------------------------


@pytest.mark.parametrize("header_name", ["jku", "x5u"])
async def test_item23_jku_and_x5u_headers_are_never_fetched(
    idp: TestIdp, clock: FakeClock, httpserver: HTTPServer, header_name: str
) -> None:
    attacker = OKPKey.generate_key("Ed25519")
    attacker_jwks = {"keys": [dict(attacker.as_dict(private=False), kid="evil", alg="EdDSA")]}
    httpserver.expect_request("/attacker/jwks").respond_with_json(attacker_jwks)
    httpserver.expect_request("/jwks").respond_with_json(jwks(signing_key("ES256")))
    evil_url = httpserver.url_for("/attacker/jwks")
    config = idp.config(jwks=None, jwks_uri=httpserver.url_for("/jwks"))
    async with TokenVerifier([config], clock=clock) as verifier:
        forged = sign_compact(
            {"typ": "at+jwt", "kid": "evil", header_name: evil_url}, idp.claims(), attacker, "EdDSA"
        )
        assert await rejected(verifier, forged) == "unknown_kid"
        # A genuine token that happens to carry the header: verified with our keys, header ignored.
        genuine = idp.token(header={header_name: evil_url})
        assert (await verifier.verify(genuine)).subject == "ada"
    paths = [entry[0].path for entry in httpserver.log]
    assert "/attacker/jwks" not in paths
    assert paths == ["/jwks"]


async def test_item23_jku_is_not_fetched_for_an_inline_issuer_either(
    idp: TestIdp, verifier: TokenVerifier, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/attacker/jwks").respond_with_json({"keys": []})
    token = idp.token(header={"jku": httpserver.url_for("/attacker/jwks"), "kid": "evil"})
    assert await rejected(verifier, token) == "unknown_kid"
    assert httpserver.log == []


@pytest.mark.parametrize("kid", ["../../../etc/passwd", "' OR 1=1 --", "?kid=x#", "%2e%2e/keys"])
async def test_item23_kid_never_shapes_the_jwks_request(
    idp: TestIdp, jwks_server: JwksServer, remote_verifier: VerifierFactory, kid: str
) -> None:
    verifier = await remote_verifier()
    assert await rejected(verifier, idp.token(header={"kid": kid})) == "unknown_kid"
    assert [str(r.url) for r in jwks_server.requests] == [JwksServer.uri]


async def test_prefetch_warms_the_cache_at_start_up(
    idp: TestIdp, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    await verifier.prefetch()
    assert jwks_server.fetches == 1
    assert (await verifier.verify(idp.token())).subject == "ada"
    assert jwks_server.fetches == 1
    jwks_server.down = True
    await verifier.prefetch()  # a failure is logged, never raised
    assert jwks_server.fetches == 2


async def test_unknown_issuer_causes_no_fetch(
    idp: TestIdp, jwks_server: JwksServer, remote_verifier: VerifierFactory
) -> None:
    verifier = await remote_verifier()
    assert await rejected(verifier, idp.token(iss=ISSUER + "/other")) == "unknown_issuer"
    assert jwks_server.fetches == 0


def test_inline_and_remote_issuers_share_one_config_type() -> None:
    inline = IssuerConfig(issuer="a", audience="b", jwks={"keys": []})
    remote = IssuerConfig(issuer="a", audience="b", jwks_uri="https://idp.test/jwks")
    assert inline.algorithms == remote.algorithms == ("ES256", "RS256", "EdDSA")
