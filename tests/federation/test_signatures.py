"""The federation signing profile (RFC 9421 + RFC 9530); SECURITY.md §1.1-1.3, items 1-17.

Negative cases that the signer refuses to produce (another ``alg``, no ``created``, no tag…)
are made by :func:`craft`, which builds the signature base by hand and signs it with the
partner's real key, so each rejection is for the profile rule under test and not for a broken
signature. :func:`test_hand_built_base_matches_the_library` shows that such a request with the
profile's parameters is accepted: the hand-built base and the library's agree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import http_sf
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from twinmesh.federation import (
    HOP_BUDGET,
    HOPS,
    MAX_AGE,
    MAX_SIGNATURE_HEADER_BYTES,
    MAX_SKEW,
    ON_BEHALF_OF,
    REQUEST_COMPONENTS,
    REQUEST_ID,
    RESPONSE_COMPONENTS,
    TAG,
    TARGET_TENANT,
    PartnerKey,
    SignatureRejected,
    VerifiedRequest,
    content_digest,
    key_id_for,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)
from twinmesh.identity import Keyring, OrgKey

T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)

PARTNER = "a.test"  # signs requests
US = "b.test"  # verifies them and answers
OTHER = "c.test"
ORIGIN = "https://twins.b.test"
URL = ORIGIN + "/federation/v1/graphql?a=1&b=2"
BODY = b'{"query": "{ twins(first: 10) { id } }"}'
NONCE = "n" * 22
HEADERS = {
    "content-type": "application/json",
    TARGET_TENANT: "acme",
    ON_BEHALF_OF: "alice@a.test",
    REQUEST_ID: "req-0001",
    HOPS: PARTNER,
    HOP_BUDGET: "2",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
}
SIGNED_FIELDS = [name for name in REQUEST_COMPONENTS if not name.startswith("@")]


def partner_key(org: str, key: OrgKey) -> PartnerKey:
    return PartnerKey(
        key_id=key_id_for(org, key),
        org=org,
        public=key.public,
        not_before=key.not_before,
        not_after=key.not_after,
    )


class Registry:
    """A partner registry stand-in that records every lookup."""

    def __init__(self, *entries: tuple[str, OrgKey]) -> None:
        self.keys = {key_id_for(org, key): partner_key(org, key) for org, key in entries}
        self.calls: list[str] = []

    def __call__(self, key_id: str) -> PartnerKey | None:
        self.calls.append(key_id)
        return self.keys.get(key_id)


@pytest.fixture
def partner() -> OrgKey:
    return Keyring.generate(now=T0 - timedelta(days=1)).signing_key(T0)


@pytest.fixture
def ours() -> OrgKey:
    return Keyring.generate(now=T0 - timedelta(days=1)).signing_key(T0)


@pytest.fixture
def stranger() -> OrgKey:
    return Keyring.generate(now=T0 - timedelta(days=1)).signing_key(T0)


@pytest.fixture
def registry(partner: OrgKey, ours: OrgKey, stranger: OrgKey) -> Registry:
    return Registry((PARTNER, partner), (US, ours), (OTHER, stranger))


def sign(key: OrgKey, *, url: str = URL, now: datetime = T0, **changes: Any) -> dict[str, str]:
    arguments: dict[str, Any] = {"method": "POST", "headers": HEADERS, "body": BODY}
    arguments.update(changes)
    return sign_request(url=url, org=PARTNER, key=key, now=now, **arguments)


def verify(
    headers: Mapping[str, str] | list[tuple[str, str]],
    registry: Registry,
    *,
    url: str = URL,
    body: bytes = BODY,
    now: datetime = T0,
    method: str = "POST",
) -> VerifiedRequest:
    return verify_request(
        method=method, url=url, headers=headers, body=body, resolve_key=registry, now=now
    )


@contextmanager
def rejection(reason: str) -> Iterator[None]:
    with pytest.raises(SignatureRejected) as caught:
        yield
    assert caught.value.reason == reason, f"{caught.value.reason}: {caught.value}"


# -- a hand-written signature base (RFC 9421 §2.5), independent of the library ---------------


def signature_params(components: tuple[str, ...], params: str) -> str:
    return "(" + " ".join(f'"{name}"' for name in components) + ")" + params


def signature_base(
    method: str, url: str, headers: Mapping[str, str], components: tuple[str, ...], params: str
) -> str:
    parts = urlsplit(url)
    derived = {
        "@method": method,
        "@authority": parts.netloc,
        "@path": parts.path,
        "@target-uri": url,
    }
    fields = {name.lower(): value for name, value in headers.items()}
    lines = [
        f'"{name}": {derived[name] if name.startswith("@") else fields[name]}'
        for name in components
    ]
    return "\n".join([*lines, f'"@signature-params": {signature_params(components, params)}'])


def params_for(key: OrgKey, **changes: Any) -> str:
    """Our profile's parameters at ``T0``; a change to ``None`` leaves the parameter out."""
    stamp = int(T0.timestamp())
    values: dict[str, Any] = {
        "created": stamp,
        "expires": stamp + 300,
        "nonce": NONCE,
        "keyid": key_id_for(PARTNER, key),
        "alg": "ed25519",
        "tag": TAG,
    }
    values.update(changes)
    return "".join(
        f";{name}={json.dumps(value) if isinstance(value, str) else value}"
        for name, value in values.items()
        if value is not None
    )


def craft(
    key: OrgKey,
    *,
    params: str | None = None,
    components: tuple[str, ...] = REQUEST_COMPONENTS,
    label: str = "tm",
    url: str = URL,
    digest: str | None = None,
    body: bytes = BODY,
) -> dict[str, str]:
    """A request signed over a hand-built base with exactly the given parameters."""
    assert key.private is not None
    headers = {**HEADERS, "Content-Digest": digest or content_digest(body)}
    params = params_for(key) if params is None else params
    base = signature_base("POST", url, headers, components, params)
    signature = base64.b64encode(key.private.sign(base.encode())).decode()
    return {
        **headers,
        "Signature-Input": f"{label}={signature_params(components, params)}",
        "Signature": f"{label}=:{signature}:",
    }


# -- item 1: RFC 9421 Appendix B.2.6 ----------------------------------------------------------

B26_PRIVATE_PEM = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
    b"-----END PRIVATE KEY-----\n"
)
B26_PUBLIC_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
B26_BODY = b'{"hello": "world"}'
B26_SHA512 = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+"
    "AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
)
B26_COMPONENTS = ("date", "@method", "@path", "@authority", "content-type", "content-length")
B26_PARAMS = ';created=1618884473;keyid="test-key-ed25519"'
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9"
    "EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
)


class B26Request:
    """The request of RFC 9421 Appendix B.2, as the library's message interface."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.method = "POST"
        self.url = "https://example.com/foo?param=Value&Pet=dog"
        self.headers = headers or {
            "Host": "example.com",
            "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
            "Content-Type": "application/json",
            "Content-Digest": B26_SHA512,
            "Content-Length": "18",
        }


@pytest.fixture
def b26_verifier() -> HTTPMessageVerifier:
    private = load_pem_private_key(B26_PRIVATE_PEM, None)
    public = private.public_key()
    resolver = MappingKeyResolver(public_keys={"test-key-ed25519": public}, private_keys={})
    return HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=resolver)


def test_b26_key_is_the_b14_key() -> None:
    public = load_pem_private_key(B26_PRIVATE_PEM, None).public_key()
    raw = public.public_bytes_raw()
    assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == B26_PUBLIC_X


def test_b26_body_digest_is_the_rfc_value() -> None:
    assert http_sf.ser({"sha-512": (hashlib.sha512(B26_BODY).digest(), {})}) == (B26_SHA512)


def test_b26_a_signature_base_byte_for_byte() -> None:
    request = B26Request()
    by_hand = signature_base(
        "POST",
        "https://example.com/foo",
        {k.lower(): v for k, v in request.headers.items()},
        B26_COMPONENTS,
        B26_PARAMS,
    )
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519)
    prepared = signer.prepare(
        request,
        key_id="test-key-ed25519",
        created=datetime.fromtimestamp(1618884473, UTC),
        include_alg=False,
        label="sig-b26",
        covered_component_ids=B26_COMPONENTS,
        use_existing_digest=True,
    )
    assert by_hand == B26_BASE
    assert prepared.signature_base == B26_BASE.encode()
    assert f"sig-b26={prepared.signature_params}" == B26_SIGNATURE_INPUT


def test_b26_b_signing_the_base_gives_the_rfc_signature() -> None:
    private = load_pem_private_key(B26_PRIVATE_PEM, None)
    assert isinstance(private, Ed25519PrivateKey)
    signature = private.sign(B26_BASE.encode())  # deterministic (RFC 8032)
    assert f"sig-b26=:{base64.b64encode(signature).decode()}:" == B26_SIGNATURE


def test_b26_c_the_library_verifies_the_rfc_signature(
    b26_verifier: HTTPMessageVerifier,
) -> None:
    request = B26Request()
    request.headers |= {"Signature-Input": B26_SIGNATURE_INPUT, "Signature": B26_SIGNATURE}
    (result,) = b26_verifier.verify(request, max_age=None)
    assert result.label == "sig-b26"
    assert result.parameters == {"created": 1618884473, "keyid": "test-key-ed25519"}
    assert result.covered_components['"@authority"'] == "example.com"


def test_b26_d_a_changed_content_type_fails(b26_verifier: HTTPMessageVerifier) -> None:
    request = B26Request()
    request.headers |= {
        "Content-Type": "text/plain",
        "Signature-Input": B26_SIGNATURE_INPUT,
        "Signature": B26_SIGNATURE,
    }
    with pytest.raises(InvalidSignature):
        b26_verifier.verify(request, max_age=None)


def test_b26_e_the_body_is_not_covered_without_a_signed_digest(
    b26_verifier: HTTPMessageVerifier,
) -> None:
    request = B26Request()
    request.headers |= {"Signature-Input": B26_SIGNATURE_INPUT, "Signature": B26_SIGNATURE}
    with pytest.raises(InvalidSignature, match="requires a signed Content-Digest"):
        b26_verifier.verify(request, max_age=None, body=B26_BODY)


# -- RFC 9530 Content-Digest -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"hello": "world"}', "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
        (b'{"hello": "world"}\n', "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"),
        (b"", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"),
    ],
    ids=["rfc-body", "rfc-body-lf", "empty"],
)
def test_content_digest_rfc9530_values(body: bytes, expected: str) -> None:
    assert content_digest(body) == expected


# -- the profile: signing ----------------------------------------------------------------------


def test_sign_request_adds_digest_and_one_tagged_signature(partner: OrgKey) -> None:
    signed = sign(partner)
    assert {k: v for k, v in signed.items() if k in HEADERS} == HEADERS
    assert signed["Content-Digest"] == content_digest(BODY)
    inputs = http_sf.parse(signed["Signature-Input"].encode(), tltype="dictionary")
    assert isinstance(inputs, dict)
    assert list(inputs) == ["tm"]
    components, params = inputs["tm"]
    assert isinstance(components, list)
    assert tuple(name for name, _ in components) == REQUEST_COMPONENTS
    assert params["keyid"] == f"{PARTNER}:{partner.kid}"
    assert params["tag"] == TAG
    assert params["alg"] == "ed25519"
    assert params["created"] == int(T0.timestamp())
    assert params["expires"] == int((T0 + MAX_AGE).timestamp())
    assert isinstance(params["nonce"], str)
    assert len(base64.urlsafe_b64decode(params["nonce"] + "==")) >= 16  # 128 bits or more


def test_each_request_has_a_fresh_nonce(partner: OrgKey, registry: Registry) -> None:
    nonces = {verify(sign(partner), registry).nonce for _ in range(5)}
    assert len(nonces) == 5


@pytest.mark.parametrize("missing", [name for name in SIGNED_FIELDS if name != "content-digest"])
def test_sign_request_requires_every_profile_header(partner: OrgKey, missing: str) -> None:
    headers = {name: value for name, value in HEADERS.items() if name != missing}
    with pytest.raises(ValueError, match=missing):
        sign(partner, headers=headers)


@pytest.mark.parametrize("present", ["Content-Digest", "Signature", "signature-input"])
def test_sign_request_refuses_headers_it_adds(partner: OrgKey, present: str) -> None:
    with pytest.raises(ValueError, match="they are added"):
        sign(partner, headers={**HEADERS, present: "x"})


def test_sign_request_refuses_a_lifetime_over_max_age(partner: OrgKey) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        sign(partner, expires_in=MAX_AGE + SECOND)


def test_sign_request_refuses_a_public_only_or_expired_key(partner: OrgKey) -> None:
    public_only = OrgKey(partner.kid, partner.public, None, partner.not_before, partner.not_after)
    with pytest.raises(ValueError, match="no private part"):
        sign(public_only)
    with pytest.raises(ValueError, match="not valid"):
        sign(partner, now=partner.not_after + SECOND)


# -- the profile: verifying requests -----------------------------------------------------------


def test_round_trip(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner)
    result = verify(signed, registry, now=T0 + 10 * SECOND)
    assert result.org == PARTNER
    assert result.key_id == f"{PARTNER}:{partner.kid}"
    assert len(result.nonce) >= 16
    assert result.created == T0
    assert result.expires == T0 + MAX_AGE
    assert result.signature == signed["Signature"]
    assert registry.calls == [result.key_id]  # once, with the key id only


def test_round_trip_with_field_lines_as_a_server_sees_them(
    partner: OrgKey, registry: Registry
) -> None:
    signed = sign(partner)
    lines = [(name.lower(), value) for name, value in signed.items()]
    lines.append(("host", "twins.b.test"))
    assert verify(lines, registry).org == PARTNER


def test_round_trip_uses_the_clock_by_default(partner: OrgKey, registry: Registry) -> None:
    with time_machine.travel(T0, tick=False):
        signed = sign_request(
            method="POST", url=URL, headers=HEADERS, body=BODY, org=PARTNER, key=partner
        )
    with time_machine.travel(T0 + 20 * SECOND, tick=False):
        result = verify_request(
            method="POST", url=URL, headers=signed, body=BODY, resolve_key=registry
        )
    assert result.created == T0
    with time_machine.travel(T0 + MAX_AGE + SECOND, tick=False), rejection("stale"):
        verify_request(method="POST", url=URL, headers=signed, body=BODY, resolve_key=registry)


def test_empty_body_is_covered_by_its_digest(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner, body=b"")
    assert signed["Content-Digest"] == content_digest(b"")
    assert verify(signed, registry, body=b"").org == PARTNER
    with rejection("digest_mismatch"):
        verify(signed, registry, body=b"{}")


def test_hand_built_base_matches_the_library(partner: OrgKey, registry: Registry) -> None:
    assert verify(craft(partner), registry).nonce == NONCE


def test_alg_may_be_omitted_the_key_pins_it(partner: OrgKey, registry: Registry) -> None:
    assert verify(craft(partner, params=params_for(partner, alg=None)), registry).org == PARTNER


@pytest.mark.parametrize("field", SIGNED_FIELDS)
def test_item2_a_changed_covered_header_fails(
    partner: OrgKey, registry: Registry, field: str
) -> None:
    signed = sign(partner)
    name = next(name for name in signed if name.lower() == field)
    tampered = {**signed, name: signed[name].replace("a", "b") + "0"}
    with rejection("bad_signature"):
        verify(tampered, registry)


def test_item2_a_changed_method_fails(partner: OrgKey, registry: Registry) -> None:
    with rejection("bad_signature"):
        verify(sign(partner), registry, method="PUT")


def test_item3_a_swapped_body_fails(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner)
    other = b'{"query": "mutation { deleteTwin(id: \\"x\\") }"}'
    with rejection("digest_mismatch"):
        verify(signed, registry, body=other)
    with rejection("bad_signature"):  # the digest made to match: the signature covers it
        verify({**signed, "Content-Digest": content_digest(other)}, registry, body=other)


def test_item3_a_missing_digest_fails(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner)
    del signed["Content-Digest"]
    with rejection("digest_mismatch"):
        verify(signed, registry)


def test_sha512_digest_is_accepted(partner: OrgKey, registry: Registry) -> None:
    digest = http_sf.ser({"sha-512": (hashlib.sha512(BODY).digest(), {})})
    assert verify(craft(partner, digest=digest), registry).org == PARTNER


@pytest.mark.parametrize(
    "digest",
    [
        "md5=:" + base64.b64encode(hashlib.md5(BODY).digest()).decode() + ":",
        "sha=:" + base64.b64encode(hashlib.sha1(BODY).digest()).decode() + ":",
        "sha-256=:AAAA:",
        "not a digest",
    ],
    ids=["md5", "sha1", "short", "garbage"],
)
def test_only_sha256_and_sha512_digests(partner: OrgKey, registry: Registry, digest: str) -> None:
    with rejection("digest_mismatch"):
        verify(craft(partner, digest=digest), registry)


@pytest.mark.parametrize("omitted", REQUEST_COMPONENTS)
def test_item4_every_profile_component_must_be_covered(
    partner: OrgKey, registry: Registry, omitted: str
) -> None:
    components = tuple(name for name in REQUEST_COMPONENTS if name != omitted)
    with rejection("missing_components"):
        verify(craft(partner, components=components), registry)
    assert registry.calls == []  # refused before any key lookup


def test_item7_stale_created(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner, expires_in=MAX_AGE)
    assert verify(signed, registry, now=T0 + MAX_AGE - SECOND).org == PARTNER
    with rejection("stale"):
        verify(signed, registry, now=T0 + MAX_AGE + SECOND)


def test_item7_created_in_the_future(partner: OrgKey, registry: Registry) -> None:
    assert verify(sign(partner, now=T0 + MAX_SKEW), registry).org == PARTNER
    with rejection("not_yet_valid"):
        verify(sign(partner, now=T0 + MAX_SKEW + SECOND), registry)


def test_item7_past_expires(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner, expires_in=60 * SECOND)
    assert verify(signed, registry, now=T0 + 59 * SECOND).org == PARTNER
    with rejection("expired"):
        verify(signed, registry, now=T0 + 60 * SECOND)


def test_item7_missing_created(partner: OrgKey, registry: Registry) -> None:
    with rejection("stale"):
        verify(craft(partner, params=params_for(partner, created=None)), registry)


def test_item7_missing_expires(partner: OrgKey, registry: Registry) -> None:
    with rejection("expired"):
        verify(craft(partner, params=params_for(partner, expires=None)), registry)


def test_item7_expires_too_far_after_created(partner: OrgKey, registry: Registry) -> None:
    too_far = int(T0.timestamp()) + 301
    with rejection("expired"):
        verify(craft(partner, params=params_for(partner, expires=too_far)), registry)


@pytest.mark.parametrize("value", ['"1764000000"', "1764000000.5", "?1", "999999999999999"])
def test_created_must_be_an_integer(partner: OrgKey, registry: Registry, value: str) -> None:
    params = params_for(partner).replace(f"created={int(T0.timestamp())}", f"created={value}")
    with rejection("malformed"):
        verify(craft(partner, params=params), registry)


def test_item8_signed_for_another_authority(partner: OrgKey, registry: Registry) -> None:
    other_url = "https://twins.c.test/federation/v1/graphql?a=1&b=2"
    signed = sign(partner, url=other_url)
    assert verify(signed, registry, url=other_url).org == PARTNER  # valid where it was meant
    spoofed = [*signed.items(), ("host", "twins.c.test")]
    with rejection("bad_authority"):
        verify(spoofed, registry, url=URL)
    with rejection("bad_signature"):  # without a Host header the cause cannot be named
        verify(signed, registry, url=URL)
    assert registry.calls == [key_id_for(PARTNER, partner)] * 3  # once per request


def test_item8_the_host_header_never_makes_a_request_acceptable(
    partner: OrgKey, registry: Registry
) -> None:
    signed = sign(partner)
    moved = [*signed.items(), ("host", "twins.c.test")]
    assert verify(moved, registry).org == PARTNER  # our URL decides, not Host
    with rejection("bad_signature"):
        verify(moved, registry, url="https://twins.c.test/federation/v1/graphql?a=1&b=2")


@pytest.mark.parametrize(
    ("signed_for", "verified_at"),
    [
        ("https://twins.b.test:443/p?q=1", "https://twins.b.test/p?q=1"),
        ("https://twins.b.test/p?q=1", "https://twins.b.test:443/p?q=1"),
        ("https://TWINS.B.Test/p?q=1", "https://twins.b.test/p?q=1"),
        ("HTTPS://twins.b.test/p?q=1", "https://twins.b.test/p?q=1"),
        ("http://twins.b.test:80/p", "http://twins.b.test/p"),
        ("https://twins.b.test:8443/p", "https://twins.b.test:08443/p"),
        ("https://[::1]:443/p", "https://[::1]/p"),
        ("https://twins.b.test/p#fragment", "https://twins.b.test/p"),
    ],
)
def test_item8_authority_normalisation(
    partner: OrgKey, registry: Registry, signed_for: str, verified_at: str
) -> None:
    signed = sign(partner, url=signed_for)
    assert verify(signed, registry, url=verified_at).org == PARTNER


@pytest.mark.parametrize(
    ("signed_for", "host"),
    [
        ("https://twins.b.test:8443/p", "twins.b.test:8443"),
        ("https://twins.b.test:80/p", "twins.b.test:80"),
        ("https://twins.b.test.evil/p", "TWINS.B.TEST.EVIL:443"),
    ],
)
def test_item8_another_port_or_host_is_another_authority(
    partner: OrgKey, registry: Registry, signed_for: str, host: str
) -> None:
    signed = sign(partner, url=signed_for)
    with rejection("bad_authority"):
        verify([*signed.items(), ("Host", host)], registry, url="https://twins.b.test/p")


def test_item11_alg_mismatch(partner: OrgKey, registry: Registry) -> None:
    with rejection("alg_mismatch"):
        verify(craft(partner, params=params_for(partner, alg="hmac-sha256")), registry)


def test_item11_unknown_parameter(partner: OrgKey, registry: Registry) -> None:
    with rejection("unknown_parameter"):
        verify(craft(partner, params=params_for(partner) + ";foo=1"), registry)


def test_item12_no_tag(partner: OrgKey, registry: Registry) -> None:
    with rejection("wrong_tag"):
        verify(craft(partner, params=params_for(partner, tag=None)), registry)


@pytest.mark.parametrize("tag", ["twin-fed-v1", "twinmesh-fed-v2", "TWINMESH-FED-V1"])
def test_item12_wrong_tag(partner: OrgKey, registry: Registry, tag: str) -> None:
    with rejection("wrong_tag"):
        verify(craft(partner, params=params_for(partner, tag=tag)), registry)


def two_signatures(first: dict[str, str], second: dict[str, str]) -> dict[str, str]:
    return {
        **first,
        "Signature-Input": f"{first['Signature-Input']}, {second['Signature-Input']}",
        "Signature": f"{first['Signature']}, {second['Signature']}",
    }


def test_item12_two_signatures_with_our_tag(partner: OrgKey, registry: Registry) -> None:
    headers = two_signatures(craft(partner), craft(partner, label="tm2"))
    with rejection("multiple_signatures"):
        verify(headers, registry)


def test_item12_one_signature_with_our_tag_among_others(
    partner: OrgKey, registry: Registry
) -> None:
    foreign = craft(partner, label="other", params=params_for(partner, tag="another-protocol"))
    headers = two_signatures(foreign, craft(partner, label="ours"))
    result = verify(headers, registry)
    assert result.signature == craft(partner, label="ours")["Signature"]  # the one verified


def test_item12_two_signatures_without_our_tag(partner: OrgKey, registry: Registry) -> None:
    headers = two_signatures(
        craft(partner, params=params_for(partner, tag=None)),
        craft(partner, label="x", params=params_for(partner, tag="other")),
    )
    with rejection("wrong_tag"):
        verify(headers, registry)


def test_item12_labels_must_match(partner: OrgKey, registry: Registry) -> None:
    signed = craft(partner)
    with rejection("malformed"):
        verify({**signed, "Signature": signed["Signature"].replace("tm=", "xx=")}, registry)


def test_item13_key_outside_its_validity(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner)
    registry.keys[key_id_for(PARTNER, partner)] = PartnerKey(
        key_id=key_id_for(PARTNER, partner),
        org=PARTNER,
        public=partner.public,
        not_before=T0 + SECOND,  # published as valid only after the signature was made
        not_after=T0 + timedelta(days=1),
    )
    with rejection("key_not_valid"):
        verify(signed, registry, now=T0 + 10 * SECOND)


def test_item13_rotation_overlap_then_old_key_ends() -> None:
    old_ring = Keyring.generate(now=T0 - timedelta(days=30))
    ring = old_ring.rotated(now=T0, overlap=timedelta(hours=1))
    old, new = ring.keys
    assert ring.signing_key(T0) == new
    registry = Registry((PARTNER, old), (PARTNER, new))
    assert verify(sign(new), registry).key_id == key_id_for(PARTNER, new)  # at once
    assert verify(sign(old), registry).key_id == key_id_for(PARTNER, old)  # during the overlap
    end = old.not_after
    late = sign(old, now=end - 10 * SECOND)
    assert verify(late, registry, now=end).org == PARTNER
    with rejection("key_not_valid"):
        verify(late, registry, now=end + SECOND)


def test_item16_a_huge_signature_header_is_refused_before_parsing(
    partner: OrgKey, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed = sign(partner)
    parsed: list[bytes] = []
    monkeypatch.setattr(http_sf, "parse", lambda value, *a, **k: parsed.append(value))
    for field in ("Signature", "Signature-Input"):
        huge = {**signed, field: "tm=:" + "A" * 1024 * 1024 + ":"}
        started = time.perf_counter()
        with rejection("too_large"):
            verify(huge, registry)
        assert time.perf_counter() - started < 0.5
    assert parsed == []
    assert registry.calls == []


def test_item16_many_labels_are_too_large(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner)
    member = signed["Signature-Input"].removeprefix("tm=")
    many = ", ".join(f"l{i}={member}" for i in range(MAX_SIGNATURE_HEADER_BYTES // len(member)))
    with rejection("too_large"):
        verify({**signed, "Signature-Input": many}, registry)


def test_item16_at_the_limit_is_parsed(partner: OrgKey, registry: Registry) -> None:
    signed = sign(partner)
    padding = MAX_SIGNATURE_HEADER_BYTES - len(signed["Signature-Input"]) - len(", x=()")
    with rejection("malformed"):  # labels differ from Signature's: parsed, not too large
        verify(
            {**signed, "Signature-Input": signed["Signature-Input"] + ", x=()" + " " * padding},
            registry,
        )


@pytest.mark.parametrize(
    "received",
    [
        ORIGIN + "/federation/v1/graphql?b=2&a=1",
        ORIGIN + "/federation/v1/graphql?a=1",
        ORIGIN + "/federation/v1/graphql?a=1&b=2&c=3",
        ORIGIN + "/federation/v1/graphql",
        ORIGIN + "/federation/v1/graphql?a=1&b=3",
    ],
    ids=["reordered", "removed", "extra", "none", "changed"],
)
def test_item17_query_tampering(partner: OrgKey, registry: Registry, received: str) -> None:
    with rejection("bad_signature"):
        verify(sign(partner), registry, url=received)


def test_unknown_key_id(partner: OrgKey, stranger: OrgKey) -> None:
    registry = Registry((OTHER, stranger))
    signed = sign(partner)
    with rejection("unknown_key"):
        verify(signed, registry)
    assert registry.calls == [key_id_for(PARTNER, partner)]


def test_a_registry_answer_for_another_key_id_is_not_trusted(
    partner: OrgKey, stranger: OrgKey
) -> None:
    wrong = partner_key(OTHER, stranger)
    with rejection("unknown_key"):
        verify(sign(partner), lambda key_id: wrong)  # type: ignore[arg-type]


def test_missing_key_id(partner: OrgKey, registry: Registry) -> None:
    with rejection("unknown_key"):
        verify(craft(partner, params=params_for(partner, keyid=None)), registry)
    assert registry.calls == []


@pytest.mark.parametrize("nonce", [None, "short", 12345])
def test_nonce_required(partner: OrgKey, registry: Registry, nonce: Any) -> None:
    reason = "malformed" if isinstance(nonce, int) else "missing_nonce"
    with rejection(reason):
        verify(craft(partner, params=params_for(partner, nonce=nonce)), registry)


def test_unsigned_request(registry: Registry) -> None:
    with rejection("missing_signature"):
        verify({**HEADERS, "Content-Digest": content_digest(BODY)}, registry)
    with rejection("missing_signature"):
        verify({**HEADERS, "Signature": "tm=:AAAA:"}, registry)


@pytest.mark.parametrize(
    ("signature_input", "signature"),
    [
        ("tm=(", "tm=:AAAA:"),
        ('tm=("@method");tag="twinmesh-fed-v1"', "tm=AAAA"),
        ('tm="@method";tag="twinmesh-fed-v1"', "tm=:AAAA:"),
        ('tm=("@method");tag="twinmesh-fed-v1", tm=("@method")', "tm=:AAAA:"),
        ('tm=("@method");tag="twinmesh-fed-v1";keyid="\u00e9"', "tm=:AAAA:"),
        ('tm=("@method" 1);tag="twinmesh-fed-v1"', "tm=:AAAA:"),
        ('tm=("@method");tag="twinmesh-fed-v1";keyid=1', "tm=:AAAA:"),
    ],
    ids=[
        "unparseable",
        "signature-not-bytes",
        "input-not-a-list",
        "duplicate",
        "non-ascii",
        "component-not-a-string",
        "keyid-not-a-string",
    ],
)
def test_malformed_signature_headers(
    registry: Registry, signature_input: str, signature: str
) -> None:
    headers = {**HEADERS, "Signature-Input": signature_input, "Signature": signature}
    with rejection("malformed"):
        verify(headers, registry)


def test_rejection_messages_are_short_and_carry_no_key_material(
    partner: OrgKey, registry: Registry
) -> None:
    signed = sign(partner)
    with pytest.raises(SignatureRejected) as caught:
        verify(signed, registry, body=b"other")
    message = str(caught.value)
    assert len(message) < 80
    assert signed["Signature"].split(":")[1] not in message
    assert partner.kid not in message


# -- responses ---------------------------------------------------------------------------------


@pytest.fixture
def exchange(partner: OrgKey, ours: OrgKey, registry: Registry) -> dict[str, Any]:
    """A request from the partner, verified by us, and our signed answer."""
    request = sign(partner)
    verified = verify(request, registry)
    body = b'{"data": {"twins": []}}'
    answer = sign_response(
        status=200,
        headers={"content-type": "application/json"},
        body=body,
        request_method="POST",
        request_url=URL,
        request_signature=verified.signature,
        org=US,
        key=ours,
        now=T0 + SECOND,
    )
    return {"request": request, "answer": answer, "body": body}


def check_answer(
    exchange: dict[str, Any],
    registry: Registry,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    request_signature: str | None = None,
    request_url: str = URL,
    expected_org: str = US,
    now: datetime = T0 + 2 * SECOND,
) -> None:
    verify_response(
        status=status,
        headers=exchange["answer"] if headers is None else headers,
        body=exchange["body"] if body is None else body,
        request_method="POST",
        request_url=request_url,
        request_signature=request_signature or exchange["request"]["Signature"],
        expected_org=expected_org,
        resolve_key=registry,
        now=now,
    )


def test_response_genuine_verifies(exchange: dict[str, Any], registry: Registry) -> None:
    check_answer(exchange, registry)
    check_answer(exchange, registry, headers=list(exchange["answer"].items()))


def test_response_covers_the_binding_components(exchange: dict[str, Any]) -> None:
    inputs = http_sf.parse(exchange["answer"]["Signature-Input"].encode(), tltype="dictionary")
    assert isinstance(inputs, dict)
    components, params = inputs["tm"]
    assert isinstance(components, list)
    expected = [http_sf.parse(c.encode(), tltype="item") for c in RESPONSE_COMPONENTS[3:]]
    assert [(name, {}) for name in RESPONSE_COMPONENTS[:3]] + expected == components
    assert params["tag"] == TAG
    assert params["keyid"].startswith(f"{US}:")


def test_response_tampered_body(exchange: dict[str, Any], registry: Registry) -> None:
    with rejection("digest_mismatch"):
        check_answer(exchange, registry, body=b'{"data": {"twins": [{"id": "forged"}]}}')


def test_response_tampered_status(exchange: dict[str, Any], registry: Registry) -> None:
    with rejection("bad_signature"):
        check_answer(exchange, registry, status=403)


def test_response_tampered_content_type(exchange: dict[str, Any], registry: Registry) -> None:
    headers = {**exchange["answer"], "content-type": "text/html"}
    with rejection("bad_signature"):
        check_answer(exchange, registry, headers=headers)


def test_response_unsigned(exchange: dict[str, Any], registry: Registry) -> None:
    headers = {"content-type": "application/json"}
    with rejection("missing_signature"):
        check_answer(exchange, registry, headers=headers)


def test_response_signed_by_another_organisation(
    exchange: dict[str, Any], registry: Registry, stranger: OrgKey
) -> None:
    forged = sign_response(
        status=200,
        headers={"content-type": "application/json"},
        body=exchange["body"],
        request_method="POST",
        request_url=URL,
        request_signature=exchange["request"]["Signature"],
        org=OTHER,
        key=stranger,
        now=T0 + SECOND,
    )
    check_answer(exchange, registry, headers=forged, expected_org=OTHER)  # valid as c.test's
    with rejection("unknown_key"):
        check_answer(exchange, registry, headers=forged)


def test_response_bound_to_another_request(
    exchange: dict[str, Any], registry: Registry, partner: OrgKey
) -> None:
    another = sign(partner)["Signature"]
    assert another != exchange["request"]["Signature"]
    with rejection("bad_signature"):
        check_answer(exchange, registry, request_signature=another)
    with rejection("bad_signature"):
        check_answer(exchange, registry, request_url=URL.replace("a=1", "a=2"))


def test_response_stale(exchange: dict[str, Any], registry: Registry) -> None:
    with rejection("stale"):
        check_answer(exchange, registry, now=T0 + MAX_AGE + 2 * SECOND)


def test_a_request_signature_is_not_an_answer(exchange: dict[str, Any], registry: Registry) -> None:
    with rejection("missing_components"):
        check_answer(exchange, registry, headers=exchange["request"], body=BODY)


def test_an_answer_signature_is_not_a_request(exchange: dict[str, Any], registry: Registry) -> None:
    with rejection("missing_nonce"):
        verify(exchange["answer"], registry, body=exchange["body"])


def test_sign_response_binds_to_a_request_signature_only(ours: OrgKey) -> None:
    for bad in ("not a signature", "", "a=:AAAA:, b=:AAAA:", "tm=:" + "A" * 9000 + ":"):
        with pytest.raises(ValueError, match="request_signature"):
            sign_response(
                status=200,
                headers={"content-type": "application/json"},
                body=b"{}",
                request_method="POST",
                request_url=URL,
                request_signature=bad,
                org=US,
                key=ours,
                now=T0,
            )


def test_partner_key_id_must_name_its_org(partner: OrgKey) -> None:
    for key_id in (partner.kid, f"{OTHER}:{partner.kid}", f"{PARTNER}:"):
        with pytest.raises(ValueError, match="is not '<org>:<kid>'"):
            PartnerKey(key_id, PARTNER, partner.public, partner.not_before, partner.not_after)


def test_sign_response_needs_a_content_type(ours: OrgKey, exchange: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="content-type"):
        sign_response(
            status=204,
            headers={},
            body=b"",
            request_method="POST",
            request_url=URL,
            request_signature=exchange["request"]["Signature"],
            org=US,
            key=ours,
            now=T0,
        )


def test_response_to_a_request_with_several_signatures_binds_to_ours(
    partner: OrgKey, ours: OrgKey, registry: Registry
) -> None:
    foreign = craft(partner, label="other", params=params_for(partner, tag="another-protocol"))
    request = two_signatures(foreign, sign(partner))
    answer = sign_response(
        status=200,
        headers={"content-type": "application/json"},
        body=b"{}",
        request_method="POST",
        request_url=URL,
        request_signature=request["Signature"],
        org=US,
        key=ours,
        now=T0,
    )
    assert '"signature";req;key="tm"' in answer["Signature-Input"]
    verify_response(
        status=200,
        headers=answer,
        body=b"{}",
        request_method="POST",
        request_url=URL,
        request_signature=request["Signature"],
        expected_org=US,
        resolve_key=registry,
        now=T0,
    )


# -- caller errors -----------------------------------------------------------------------------


def test_sign_request_caller_errors(partner: OrgKey) -> None:
    with pytest.raises(ValueError, match="repeat a name"):
        sign(partner, headers={**HEADERS, "Content-Type": "application/json"})
    with pytest.raises(ValueError, match="cannot be signed"):
        sign(partner, method="post")
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(partner, now=datetime(2026, 11, 22, 10, 0, 0))
    with pytest.raises(ValueError, match="absolute"):
        sign(partner, url="/federation/v1/graphql")


@pytest.mark.parametrize(
    "url", ["/federation/v1/graphql", "https://user@twins.b.test/", "https://twins.b.test:x/"]
)
def test_verify_request_needs_an_absolute_url(
    partner: OrgKey, registry: Registry, url: str
) -> None:
    with pytest.raises(ValueError, match="URL"):
        verify(sign(partner), registry, url=url)


@pytest.mark.parametrize("hosts", [["twins.c.test", "twins.c.test"], ["bad host@"], []])
def test_an_unusable_host_header_leaves_bad_signature(
    partner: OrgKey, registry: Registry, hosts: list[str]
) -> None:
    signed = sign(partner, url="https://twins.c.test/federation/v1/graphql?a=1&b=2")
    with rejection("bad_signature"):
        verify([*signed.items(), *(("host", host) for host in hosts)], registry)


def test_partner_key_validity_window_is_checked(partner: OrgKey) -> None:
    key_id = key_id_for(PARTNER, partner)
    with pytest.raises(ValueError, match="timezone-aware"):
        PartnerKey(key_id, PARTNER, partner.public, datetime(2026, 1, 1), T0)
    with pytest.raises(ValueError, match="not_before is after not_after"):
        PartnerKey(key_id, PARTNER, partner.public, T0, T0 - SECOND)
