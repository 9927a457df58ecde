"""The built-in development issuer: real EdDSA ``at+jwt`` tokens through the same verifier."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from auth.idp import FakeClock, TestIdp, rejected
from twinmesh.auth import DEV_AUDIENCE, DEV_ISSUER, DevIssuer, DevIssuerKeyError, TokenVerifier
from twinmesh.auth.compact import parse_compact
from twinmesh.auth.dev_issuer import KEY_FILE_NAME
from twinmesh.errors import ValidationFailed


async def test_dev_issuer_round_trip_through_the_token_verifier(
    tmp_path: Path, clock: FakeClock
) -> None:
    issuer = DevIssuer.load_or_create(tmp_path, clock=clock)
    token = issuer.issue_token("demo", "ada", roles=("operator", "viewer"))
    async with TokenVerifier([issuer.issuer_config()], clock=clock) as verifier:
        principal = await verifier.verify(token)
    assert principal.tenant == "demo"
    assert principal.subject == "ada"
    assert principal.roles == frozenset({"operator", "viewer"})
    assert principal.client_id == "twinmesh-dev"
    assert principal.kind == "user"
    assert principal.token_id


def test_dev_tokens_are_rfc9068_access_tokens(tmp_path: Path, clock: FakeClock) -> None:
    issuer = DevIssuer.load_or_create(tmp_path, clock=clock)
    jws = parse_compact(issuer.issue_token("demo", "ada", ttl=timedelta(minutes=5)))
    assert jws.header == {"typ": "at+jwt", "kid": issuer.kid, "alg": "EdDSA"}
    claims = jws.claims
    assert claims["iss"] == DEV_ISSUER == "urn:twinmesh:dev"
    assert claims["aud"] == DEV_AUDIENCE == "twinmesh"
    assert claims["exp"] - claims["iat"] == 300
    assert {"sub", "client_id", "jti", "iat", "exp", "tenant"} <= claims.keys()
    other = parse_compact(issuer.issue_token("demo", "ada")).claims
    assert other["jti"] != claims["jti"]


def test_issuer_config_trusts_only_the_public_key(tmp_path: Path) -> None:
    issuer = DevIssuer.load_or_create(tmp_path)
    config = issuer.issuer_config()
    assert config.issuer == DEV_ISSUER
    assert config.audience == DEV_AUDIENCE
    assert config.jwks_uri is None
    assert config.algorithms == ("EdDSA",)
    assert config.jwks is not None
    (key,) = config.jwks["keys"]
    assert "d" not in key
    assert key["kid"] == issuer.kid
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")


def test_key_file_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"  # does not exist yet
    first = DevIssuer.load_or_create(data_dir)
    path = data_dir / KEY_FILE_NAME
    assert path.name == "dev-issuer.jwk"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["kty"] == "OKP"
    assert stored["crv"] == "Ed25519"
    assert "d" in stored
    second = DevIssuer.load_or_create(data_dir)
    assert second.kid == first.kid
    assert [p.name for p in data_dir.iterdir()] == ["dev-issuer.jwk"]  # no temp files left


async def test_a_token_from_one_process_verifies_in_another(
    tmp_path: Path, clock: FakeClock
) -> None:
    token = DevIssuer.load_or_create(tmp_path, clock=clock).issue_token("demo", "ada")
    server_side = DevIssuer.load_or_create(tmp_path, clock=clock)
    async with TokenVerifier([server_side.issuer_config()], clock=clock) as verifier:
        assert (await verifier.verify(token)).tenant == "demo"


async def test_a_token_from_another_dev_key_is_rejected(tmp_path: Path, clock: FakeClock) -> None:
    mine = DevIssuer.load_or_create(tmp_path / "mine", clock=clock)
    theirs = DevIssuer.load_or_create(tmp_path / "theirs", clock=clock)
    async with TokenVerifier([mine.issuer_config()], clock=clock) as verifier:
        assert await rejected(verifier, theirs.issue_token("demo", "eve")) == "unknown_kid"


async def test_dev_tokens_are_not_trusted_unless_the_dev_issuer_is_configured(
    tmp_path: Path, idp: TestIdp, clock: FakeClock
) -> None:
    token = DevIssuer.load_or_create(tmp_path, clock=clock).issue_token("demo", "ada")
    async with TokenVerifier([idp.config()], clock=clock) as verifier:
        assert await rejected(verifier, token) == "unknown_issuer"


async def test_dev_tokens_expire_after_their_ttl(tmp_path: Path, clock: FakeClock) -> None:
    issuer = DevIssuer.load_or_create(tmp_path, clock=clock)
    token = issuer.issue_token("demo", "ada", ttl=timedelta(hours=8))
    async with TokenVerifier([issuer.issuer_config()], clock=clock) as verifier:
        clock.advance(8 * 3600 - 1)
        assert (await verifier.verify(token)).subject == "ada"
        clock.advance(61)
        assert await rejected(verifier, token) == "expired"


def test_too_open_key_file_is_refused(tmp_path: Path) -> None:
    DevIssuer.load_or_create(tmp_path)
    path = tmp_path / KEY_FILE_NAME
    os.chmod(path, 0o644)
    with pytest.raises(DevIssuerKeyError, match="chmod 600"):
        DevIssuer.load_or_create(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}',
        '{"kty": "oct", "k": "c2VjcmV0"}',
    ],
)
def test_unusable_key_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(DevIssuerKeyError):
        DevIssuer.load_or_create(tmp_path)


@pytest.mark.parametrize("tenant", ["Demo", "", "-demo", "a" * 64, "de mo"])
def test_issue_token_validates_the_tenant_id(tmp_path: Path, tenant: str) -> None:
    with pytest.raises(ValidationFailed):
        DevIssuer.load_or_create(tmp_path).issue_token(tenant, "ada")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ttl": timedelta(0)}, "ttl"),
        ({"ttl": timedelta(days=31)}, "ttl"),
        ({"roles": ("",)}, "roles"),
        ({"client_id": ""}, "client_id"),
        ({"roles": "admin"}, "roles"),
    ],
)
def test_issue_token_validates_its_arguments(
    tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    issuer = DevIssuer.load_or_create(tmp_path)
    with pytest.raises(ValueError, match=match):
        issuer.issue_token("demo", "ada", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="subject"):
        issuer.issue_token("demo", "")
