"""RFC 9068 access-token verification: SECURITY.md checklist items 18-23 and the happy paths."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from auth.idp import (
    ABSENT,
    AUDIENCE,
    ISSUER,
    FakeClock,
    TestIdp,
    jwks,
    rejected,
    signing_key,
    unsigned,
)
from twinmesh.auth import (
    InvalidToken,
    IssuerConfig,
    Principal,
    TokenVerifier,
    parse_bearer,
)
from twinmesh.auth.compact import b64url_encode, sign_compact
from twinmesh.errors import Unauthenticated

# --- accepted tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
async def test_es256_rs256_and_eddsa_tokens_are_accepted(
    idp: TestIdp, verifier: TokenVerifier, alg: str
) -> None:
    principal = await verifier.verify(idp.token(signing_key(alg)))
    assert principal == Principal(
        tenant="acme",
        subject="ada",
        roles=frozenset({"engineer"}),
        client_id="console",
        kind="user",
        token_id="jti-1",
    )


async def test_aud_list_containing_ours_is_accepted(idp: TestIdp, verifier: TokenVerifier) -> None:
    token = idp.token(aud=["https://other.example.test", AUDIENCE])
    assert (await verifier.verify(token)).subject == "ada"


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"])
async def test_both_rfc9068_typ_spellings_are_accepted_case_insensitively(
    idp: TestIdp, verifier: TokenVerifier, typ: str
) -> None:
    assert (await verifier.verify(idp.token(header={"typ": typ}))).tenant == "acme"


async def test_client_credentials_token_is_a_service_principal(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(idp.token(sub="ingest-bot", client_id="ingest-bot"))
    assert principal.kind == "service"
    assert principal.client_id == "ingest-bot"


async def test_roles_are_optional_and_come_from_the_configured_claim(
    idp: TestIdp, clock: FakeClock
) -> None:
    async with TokenVerifier([idp.config(roles_claim="groups")], clock=clock) as verifier:
        assert (await verifier.verify(idp.token(roles=ABSENT))).roles == frozenset()
        principal = await verifier.verify(idp.token(groups=["ops", "viewer", "ops"]))
        assert principal.roles == frozenset({"ops", "viewer"})


async def test_tenant_comes_from_the_configured_claim(idp: TestIdp, clock: FakeClock) -> None:
    async with TokenVerifier([idp.config(tenant_claim="org")], clock=clock) as verifier:
        assert (await verifier.verify(idp.token(org="globex"))).tenant == "globex"
        assert await rejected(verifier, idp.token(org=ABSENT)) == "bad_tenant"


async def test_fixed_tenant_issuer_ignores_absent_claim_and_refuses_another_tenant(
    idp: TestIdp, clock: FakeClock
) -> None:
    async with TokenVerifier([idp.config(fixed_tenant="acme")], clock=clock) as verifier:
        assert (await verifier.verify(idp.token(tenant=ABSENT))).tenant == "acme"
        assert (await verifier.verify(idp.token(tenant="acme"))).tenant == "acme"
        assert await rejected(verifier, idp.token(tenant="globex")) == "tenant_mismatch"


@pytest.mark.parametrize(
    "tenant", ["ACME", "-acme", "acme-", "a" * 64, "ac_me", "", "acme\n", 7, ["acme"], None]
)
async def test_tenant_claim_must_be_a_tenant_id(
    idp: TestIdp, verifier: TokenVerifier, tenant: Any
) -> None:
    assert await rejected(verifier, idp.token(tenant=tenant)) == "bad_tenant"


@pytest.mark.parametrize("roles", ["admin", [""], ["admin", 1], {"admin": True}])
async def test_malformed_roles_are_rejected(
    idp: TestIdp, verifier: TokenVerifier, roles: Any
) -> None:
    assert await rejected(verifier, idp.token(roles=roles)) == "bad_roles"


async def test_several_issuers_each_with_their_own_keys(idp: TestIdp, clock: FakeClock) -> None:
    other_key = signing_key("ES256", kid="other-1")
    other = IssuerConfig(
        issuer="https://login.other.test", audience="api://twins", jwks=jwks(other_key)
    )
    async with TokenVerifier([idp.config(), other], clock=clock) as verifier:
        token = idp.token(other_key, iss="https://login.other.test", aud="api://twins", tenant="b")
        assert (await verifier.verify(token)).tenant == "b"
        # The other issuer's key is not trusted for ours, even with a matching kid.
        forged = idp.token(other_key, tenant="b")
        assert await rejected(verifier, forged) == "unknown_kid"


# --- item 18: alg=none -------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"x"])
async def test_item18_alg_none_is_rejected(
    idp: TestIdp, verifier: TokenVerifier, alg: str, signature: bytes
) -> None:
    token = unsigned({"alg": alg, "typ": "at+jwt", "kid": "es256-1"}, idp.claims(), signature)
    if not signature:
        token = token.rstrip(".") + "."  # the classic "header.payload." form
        assert await rejected(verifier, token) == "malformed"
    else:
        assert await rejected(verifier, token) == "alg_not_allowed"


async def test_item18_alg_none_without_signature_segment_is_rejected(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    token = unsigned({"alg": "none", "typ": "at+jwt", "kid": "es256-1"}, idp.claims())
    for candidate in (token, token.rsplit(".", 1)[0]):
        assert await rejected(verifier, candidate) in {"malformed", "alg_not_allowed"}


async def test_item18_missing_alg_is_rejected(idp: TestIdp, verifier: TokenVerifier) -> None:
    token = idp.token()
    header = {"typ": "at+jwt", "kid": "es256-1"}
    forged = unsigned(header, idp.claims(), b"sig")
    assert await rejected(verifier, forged) == "alg_not_allowed"
    assert (await verifier.verify(token)).subject == "ada"


# --- item 19: HS256 keyed with the IdP's public key --------------------------------------------


def _public_pem(alg: str) -> bytes:
    public = signing_key(alg).private.as_pem(private=False)
    assert b"PUBLIC KEY" in public
    return public


def _hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    head = b64url_encode(json.dumps(header).encode())
    body = b64url_encode(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url_encode(mac)}"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
@pytest.mark.parametrize("secret_form", ["pem", "pkcs1_or_raw", "jwk_json"])
async def test_item19_hs256_signed_with_the_public_key_is_rejected(
    idp: TestIdp, verifier: TokenVerifier, alg: str, secret_form: str
) -> None:
    key = signing_key(alg)
    if secret_form == "pem":
        secret = _public_pem(alg)
    elif secret_form == "jwk_json":  # CVE-2026-48526: a JWK JSON accepted as an HMAC secret
        secret = json.dumps(key.public_jwk()).encode()
    else:
        raw = key.private.public_key
        if alg == "RS256":
            secret = raw.public_bytes(  # type: ignore[union-attr]
                serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
            )
        else:
            secret = raw.public_bytes(  # type: ignore[union-attr]
                serialization.Encoding.Raw if alg == "EdDSA" else serialization.Encoding.X962,
                serialization.PublicFormat.Raw
                if alg == "EdDSA"
                else serialization.PublicFormat.UncompressedPoint,
            )
    for hs in ("HS256", "HS384", "HS512"):
        token = _hs256({"alg": hs, "typ": "at+jwt", "kid": key.kid}, idp.claims(), secret)
        assert await rejected(verifier, token) == "alg_not_allowed"


async def test_item19_header_alg_other_than_the_keys_pinned_alg_is_rejected(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    rsa = signing_key("RS256")
    # A valid RSA signature, but PS256/RS512 are not what this key is pinned to.
    for alg in ("PS256", "RS512"):
        token = idp.token(rsa, alg=alg)
        async with TokenVerifier(
            [idp.config(algorithms=("RS256", "PS256", "RS512"))], clock=idp.clock
        ) as wide:
            assert await rejected(wide, token) == "alg_mismatch"
    # An EC key named by kid while the header claims EdDSA.
    ec = signing_key("ES256")
    eddsa = signing_key("EdDSA")
    token = sign_compact({"typ": "at+jwt", "kid": ec.kid}, idp.claims(), eddsa.private, "EdDSA")
    assert await rejected(verifier, token) == "alg_mismatch"


async def test_item19_algorithm_not_configured_for_the_issuer_is_rejected(
    idp: TestIdp, clock: FakeClock
) -> None:
    async with TokenVerifier([idp.config(algorithms=("ES256",))], clock=clock) as verifier:
        assert (await verifier.verify(idp.token(signing_key("ES256")))).tenant == "acme"
        assert await rejected(verifier, idp.token(signing_key("RS256"))) == "alg_not_allowed"
        assert await rejected(verifier, idp.token(signing_key("EdDSA"))) == "alg_not_allowed"


@pytest.mark.parametrize("algorithms", [("HS256",), ("ES256", "none"), ()])
def test_item19_symmetric_or_none_algorithms_cannot_be_configured(
    algorithms: tuple[str, ...],
) -> None:
    with pytest.raises(ValueError, match="algorithms"):
        IssuerConfig(issuer=ISSUER, audience=AUDIENCE, jwks={"keys": []}, algorithms=algorithms)


# --- item 20: typ --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ", [ABSENT, "JWT", "jwt", "application/jwt", "id_token+jwt", "at+jwt ", "", None, 1]
)
async def test_item20_missing_or_wrong_typ_is_rejected(
    idp: TestIdp, verifier: TokenVerifier, typ: Any
) -> None:
    token = idp.token(header={"typ": typ})
    assert await rejected(verifier, token) == "bad_typ"


async def test_item20_an_id_token_of_the_same_issuer_is_not_an_access_token(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    id_token = idp.token(header={"typ": "JWT"}, aud="console", nonce="n-0S6_WzA2Mj")
    assert await rejected(verifier, id_token) == "bad_typ"


@pytest.mark.parametrize("name", ["crit", "b64", "zip"])
async def test_item20_processing_extensions_in_the_header_are_rejected(
    idp: TestIdp, verifier: TokenVerifier, name: str
) -> None:
    value: Any = {"crit": ["exp"], "b64": False, "zip": "DEF"}[name]
    token = idp.token(header={name: value})
    assert await rejected(verifier, token) == "unsupported_header"


# --- item 21: aud, iss, required claims --------------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [
        "https://other.example.test",
        AUDIENCE + "/",
        AUDIENCE.upper(),
        ["https://other.example.test"],
        [],
        ABSENT,
        None,
        [AUDIENCE, 5],
        {"aud": AUDIENCE},
    ],
)
async def test_item21_wrong_aud_is_rejected(
    idp: TestIdp, verifier: TokenVerifier, aud: Any
) -> None:
    assert await rejected(verifier, idp.token(aud=aud)) == "bad_audience"


@pytest.mark.parametrize(
    "iss", ["https://evil.test", ISSUER + "/", ISSUER.upper(), ISSUER + " ", ABSENT, None, [ISSUER]]
)
async def test_item21_wrong_iss_is_rejected(
    idp: TestIdp, verifier: TokenVerifier, iss: Any
) -> None:
    assert await rejected(verifier, idp.token(iss=iss)) == "unknown_issuer"


_BAD_REQUIRED = [
    (claim, value)
    for claim in ("client_id", "jti", "sub", "iat", "exp")
    for value in (ABSENT, None, "", True, [], 0 if claim in {"client_id", "jti", "sub"} else "0")
]


@pytest.mark.parametrize(("claim", "value"), _BAD_REQUIRED)
async def test_item21_missing_or_malformed_required_claims_are_rejected(
    idp: TestIdp, verifier: TokenVerifier, claim: str, value: Any
) -> None:
    assert await rejected(verifier, idp.token(**{claim: value})) == "missing_claim"


async def test_item21_tampered_payload_is_rejected(idp: TestIdp, verifier: TokenVerifier) -> None:
    header, _, signature = idp.token().split(".")
    other_body = idp.token(tenant="globex").split(".")[1]
    assert await rejected(verifier, f"{header}.{other_body}.{signature}") == "bad_signature"


async def test_item21_signature_by_an_untrusted_key_with_a_trusted_kid_is_rejected(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    attacker = OKPKey.generate_key("Ed25519")
    kid = signing_key("EdDSA").kid
    token = sign_compact({"typ": "at+jwt", "kid": kid}, idp.claims(), attacker, "EdDSA")
    assert await rejected(verifier, token) == "bad_signature"


# --- item 22: time -----------------------------------------------------------------------------


async def test_item22_expired_token_is_rejected_after_the_leeway(
    idp: TestIdp, verifier: TokenVerifier, clock: FakeClock
) -> None:
    assert verifier.leeway == 60
    token = idp.token(exp=int(clock()) + 300)
    clock.advance(300 + 59)  # 59 s past exp: inside the leeway
    assert (await verifier.verify(token)).subject == "ada"
    clock.advance(1)  # exactly exp + leeway
    assert await rejected(verifier, token) == "expired"
    clock.advance(86_400)
    assert await rejected(verifier, token) == "expired"


async def test_item22_future_nbf_is_rejected_beyond_the_leeway(
    idp: TestIdp, verifier: TokenVerifier, clock: FakeClock
) -> None:
    now = int(clock())
    assert (await verifier.verify(idp.token(nbf=now + 60))).subject == "ada"
    assert await rejected(verifier, idp.token(nbf=now + 61)) == "not_yet_valid"
    assert await rejected(verifier, idp.token(nbf=now + 3600, iat=now)) == "not_yet_valid"
    assert (await verifier.verify(idp.token(nbf=ABSENT))).subject == "ada"


async def test_item22_iat_far_in_the_future_is_rejected(
    idp: TestIdp, verifier: TokenVerifier, clock: FakeClock
) -> None:
    now = int(clock())
    assert (await verifier.verify(idp.token(iat=now + 60, nbf=ABSENT))).subject == "ada"
    assert await rejected(verifier, idp.token(iat=now + 61, nbf=ABSENT)) == "iat_in_future"
    far = now + 10 * 365 * 86_400
    assert await rejected(verifier, idp.token(iat=far, nbf=ABSENT, exp=far + 300)) in {
        "iat_in_future"
    }


async def test_item22_leeway_is_configurable_and_capped(idp: TestIdp, clock: FakeClock) -> None:
    async with TokenVerifier([idp.config()], clock=clock, leeway=0) as strict:
        token = idp.token(exp=int(clock()) + 10)
        clock.advance(9.999)
        assert (await strict.verify(token)).subject == "ada"
        clock.advance(0.001)
        assert await rejected(strict, token) == "expired"
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier([idp.config()], leeway=301)
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier([idp.config()], leeway=-1)


@pytest.mark.parametrize(
    "value",
    ["1800000300", pytest.param(10**400, id="huge"), pytest.param(-(10**400), id="-huge"), [1]],
)
async def test_item22_non_numeric_dates_are_rejected(
    idp: TestIdp, verifier: TokenVerifier, value: Any
) -> None:
    assert await rejected(verifier, idp.token(exp=value)) == "missing_claim"


async def test_item22_fractional_numeric_dates_are_accepted(
    idp: TestIdp, verifier: TokenVerifier, clock: FakeClock
) -> None:
    token = idp.token(iat=clock() - 0.5, exp=clock() + 0.5)
    assert (await verifier.verify(token)).subject == "ada"


# --- item 23: kid and key-locating headers -----------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "unknown-kid",
        "../../../../etc/passwd",
        "/dev/null",
        "..%2f..%2fetc%2fpasswd",
        "' OR 1=1 --",
        '" OR ""="',
        "es256-1' UNION SELECT 'x",
        "*)(uid=*))(|(uid=*",
        "https://evil.test/key.pem",
        "es256-1\x00",
        "ES256-1",
        "x" * 2000,
    ],
)
async def test_item23_unknown_or_injected_kid_is_just_unknown(
    idp: TestIdp,
    verifier: TokenVerifier,
    kid: str,
    no_network_or_files: list[tuple[str, tuple[Any, ...]]],
) -> None:
    token = idp.token(header={"kid": kid})
    assert await rejected(verifier, token) == "unknown_kid"
    assert no_network_or_files == []  # no file, socket or SQLite access was attempted


def test_the_file_and_network_probe_is_not_vacuous(
    tmp_path: Any, no_network_or_files: list[tuple[str, tuple[Any, ...]]]
) -> None:
    (tmp_path / "probe").write_text("x")
    assert [event for event, _ in no_network_or_files] == ["open"]


@pytest.mark.parametrize("kid", [ABSENT, None, "", 7, ["es256-1"]])
async def test_item23_missing_kid_is_rejected(
    idp: TestIdp, verifier: TokenVerifier, kid: Any
) -> None:
    assert await rejected(verifier, idp.token(header={"kid": kid})) == "missing_kid"


async def test_item23_embedded_jwk_header_is_not_trusted(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    attacker = OKPKey.generate_key("Ed25519")
    public = dict(attacker.as_dict(private=False))
    header = {"typ": "at+jwt", "kid": "attacker", "jwk": public}
    token = sign_compact(header, idp.claims(), attacker, "EdDSA")
    assert await rejected(verifier, token) == "unknown_kid"
    header["kid"] = signing_key("EdDSA").kid  # claim a trusted kid, sign with the embedded key
    token = sign_compact(header, idp.claims(), attacker, "EdDSA")
    assert await rejected(verifier, token) == "bad_signature"


# --- token shape, header parsing and the error contract ----------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "a",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "..",
        "eyJhbGciOiJFUzI1NiJ9.e30.",
        "eyJhbGciOiJFUzI1NiJ9==.e30.c2ln",
        "eyJhbGciOiJFUzI1NiJ9.e30.c2ln.",
        "W10.e30.c2ln",  # header is a JSON array
        "bnVsbA.e30.c2ln",  # header is JSON null
        "e30.W10.c2ln",  # payload is a JSON array
        "e30.e30.c2l+",  # standard (not url-safe) base64
        "\u00e9.e30.c2ln",
        "e30.e30.c2ln ",
    ],
)
async def test_malformed_tokens_are_rejected(verifier: TokenVerifier, token: str) -> None:
    assert await rejected(verifier, token) == "malformed"


async def test_duplicate_json_members_are_rejected(idp: TestIdp, verifier: TokenVerifier) -> None:
    key = signing_key("ES256")
    header = b64url_encode(b'{"alg":"ES256","typ":"at+jwt","kid":"es256-1"}')
    claims = json.dumps(idp.claims())[:-1] + ', "tenant": "globex"}'
    body = b64url_encode(claims.encode())
    # Signed by hand: a JSON serialiser would never emit the duplicate member.
    raw = JWSRegistry.algorithms["ES256"].sign(f"{header}.{body}".encode(), key.private)
    assert await rejected(verifier, f"{header}.{body}.{b64url_encode(raw)}") == "malformed"


async def test_oversized_and_empty_tokens_are_rejected(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    assert await rejected(verifier, idp.token(padding="x" * 9000)) == "token_too_large"
    assert await rejected(verifier, "") == "missing_token"


async def test_every_rejection_is_an_unauthenticated_with_no_oracle(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    bad = [
        idp.token(header={"typ": "JWT"}),
        idp.token(aud="x"),
        idp.token(iss="x"),
        idp.token(header={"kid": "nope"}),
        idp.token(exp=1),
        "garbage",
    ]
    seen: set[tuple[str, str, str]] = set()
    for token in bad:
        with pytest.raises(Unauthenticated) as caught:
            await verifier.verify(token)
        assert isinstance(caught.value, InvalidToken)
        seen.add((caught.value.code, caught.value.message, repr(caught.value.details)))
        assert caught.value.reason not in caught.value.message
    assert len(seen) == 1


def test_invalid_token_reasons_are_a_closed_set() -> None:
    with pytest.raises(ValueError, match="unknown"):
        InvalidToken("typo")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("  Bearer   abc.def.ghi  ", "abc.def.ghi"),
    ],
)
def test_parse_bearer_accepts_rfc6750_credentials(header: str, expected: str) -> None:
    assert parse_bearer(header) == expected


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("   ", "missing_token"),
        ("Basic YWRhOnB3", "bad_scheme"),
        ("Bearer", "bad_scheme"),
        ("Bearer a b", "bad_scheme"),
        ("Bearerabc", "bad_scheme"),
        ("Bearer a\nb", "bad_scheme"),
    ],
)
def test_parse_bearer_rejects_other_credentials(header: str | None, reason: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        parse_bearer(header)
    assert caught.value.reason == reason


async def test_authenticate_verifies_the_authorization_header(
    idp: TestIdp, verifier: TokenVerifier
) -> None:
    assert (await verifier.authenticate(f"Bearer {idp.token()}")).tenant == "acme"
    with pytest.raises(InvalidToken):
        await verifier.authenticate(None)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"jwks": None}, "exactly one"),
        ({"jwks_uri": "https://idp.test/jwks"}, "exactly one"),
        ({"jwks": None, "jwks_uri": "http://idp.example.test/jwks"}, "https"),
        ({"jwks": None, "jwks_uri": "file:///etc/jwks.json"}, "https"),
        ({"fixed_tenant": "Not A Tenant"}, "tenant"),
        ({"audience": ""}, "audience"),
        ({"tenant_claim": ""}, "claim"),
    ],
)
def test_issuer_config_is_validated(kwargs: dict[str, Any], match: str) -> None:
    values: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": {"keys": []}}
    values.update(kwargs)
    with pytest.raises(ValueError, match=match):
        IssuerConfig(**values)


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:8081/jwks", "http://localhost/jwks", "http://[::1]/j"]
)
def test_plain_http_jwks_uri_is_allowed_to_loopback_only(uri: str) -> None:
    assert IssuerConfig(issuer=ISSUER, audience=AUDIENCE, jwks_uri=uri).jwks_uri == uri


def test_an_issuer_cannot_be_configured_twice(idp: TestIdp) -> None:
    with pytest.raises(ValueError, match="twice"):  # and no HTTP client is leaked
        TokenVerifier([idp.config(), idp.config()])
