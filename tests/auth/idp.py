"""Test helpers for tests/auth (imported as ``auth.idp``; ``tests`` is on sys.path): a local
test IdP with real keys (EC P-256, RSA-2048, Ed25519), a fake clock, a JWKS endpoint behind
``httpx.MockTransport``, and helpers to mint, forge and verify RFC 9068 access tokens. Nothing
here mocks the verifier."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from twinmesh.auth import InvalidToken, IssuerConfig, TokenVerifier
from twinmesh.auth.compact import b64url_encode, sign_compact
from twinmesh.auth.errors import PUBLIC_MESSAGE

ISSUER = "https://idp.example.test/realms/acme"
AUDIENCE = "https://twins.example.test"
T0 = 1_800_000_000.0


class FakeClock:
    """Seconds since the epoch, moved by the test instead of sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: Key

    def public_jwk(self, **extra: Any) -> dict[str, Any]:
        jwk = dict(self.private.as_dict(private=False))
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        jwk.update(extra)
        return {k: v for k, v in jwk.items() if v is not None}


@cache
def _signing_key(alg: str, kid: str) -> SigningKey:
    key: Key
    if alg == "ES256":
        key = ECKey.generate_key("P-256")
    elif alg == "RS256":
        key = RSAKey.generate_key(2048)
    elif alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519")
    else:
        raise ValueError(alg)
    return SigningKey(kid=kid, alg=alg, private=key)


def signing_key(alg: str, kid: str | None = None) -> SigningKey:
    """A real key pair, generated once per (alg, kid) per test session."""
    return _signing_key(alg, kid or f"{alg.lower()}-1")


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


VerifierFactory = Callable[..., Awaitable[TokenVerifier]]

_ABSENT = object()


@dataclass
class TestIdp:
    """Mints tokens as ``ISSUER`` for ``AUDIENCE``; every claim/header can be overridden."""

    clock: FakeClock
    keys: tuple[SigningKey, ...] = field(
        default_factory=lambda: (signing_key("ES256"), signing_key("RS256"), signing_key("EdDSA"))
    )

    __test__ = False  # not a test class despite the name

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "ada",
            "client_id": "console",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": "jti-1",
            "tenant": "acme",
            "roles": ["engineer"],
        }
        for name, value in overrides.items():
            if value is _ABSENT:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def token(
        self,
        key: SigningKey | None = None,
        *,
        header: dict[str, Any] | None = None,
        alg: str | None = None,
        **claim_overrides: Any,
    ) -> str:
        key = key or self.keys[0]
        full_header: dict[str, Any] = {"typ": "at+jwt", "kid": key.kid}
        for name, value in (header or {}).items():
            if value is _ABSENT:
                full_header.pop(name, None)
            else:
                full_header[name] = value
        return sign_compact(
            full_header, self.claims(**claim_overrides), key.private, alg or key.alg
        )

    def config(self, **overrides: Any) -> IssuerConfig:
        values: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks(*self.keys)}
        values.update(overrides)
        return IssuerConfig(**values)


ABSENT: Any = _ABSENT


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A hand-assembled compact JWS (for forgeries the library would refuse to produce)."""

    def segment(value: dict[str, Any]) -> str:
        return b64url_encode(json.dumps(value, separators=(",", ":")).encode())

    return f"{segment(header)}.{segment(claims)}.{b64url_encode(signature)}"


async def rejected(verifier: TokenVerifier, token: str) -> str:
    """Assert the token is refused with the one generic message; return the private reason."""
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    error = caught.value
    assert error.message == PUBLIC_MESSAGE
    assert str(error) == PUBLIC_MESSAGE
    assert error.details == {}
    assert error.code == "UNAUTHENTICATED"
    assert error.http_status == 401
    return error.reason


class JwksServer:
    """An IdP's ``jwks_uri`` behind ``httpx.MockTransport``: counts fetches, can go down/slow."""

    uri = "https://idp.example.test/realms/acme/protocol/openid-connect/certs"

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.requests: list[httpx.Request] = []
        self.down = False
        self.delay = 0.0
        self.status = 200

    @property
    def fetches(self) -> int:
        return len(self.requests)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(self.status, json=self.document)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


#: Lists that the audit hook appends file/socket/SQLite events to (see ``no_network_or_files``).
AUDIT_SINKS: list[list[tuple[str, tuple[Any, ...]]]] = []
_WATCHED_EVENTS = frozenset({"open", "os.listdir", "socket.connect", "sqlite3.connect"})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if AUDIT_SINKS and event in _WATCHED_EVENTS:
        for sink in AUDIT_SINKS:
            sink.append((event, args))


# Audit hooks cannot be removed; this module is imported once, and the hook is idle unless a
# test has registered a sink.
sys.addaudithook(_audit)
