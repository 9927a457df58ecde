"""Fixtures for tests/auth; the helpers live in ``auth.idp``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from auth.idp import AUDIT_SINKS, FakeClock, JwksServer, TestIdp, VerifierFactory, jwks
from twinmesh.auth import TokenVerifier


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def idp(clock: FakeClock) -> TestIdp:
    return TestIdp(clock)


@pytest.fixture
async def verifier(idp: TestIdp, clock: FakeClock) -> AsyncIterator[TokenVerifier]:
    async with TokenVerifier([idp.config()], clock=clock) as v:
        yield v


@pytest.fixture
def jwks_server(idp: TestIdp) -> JwksServer:
    return JwksServer(jwks(idp.keys[0]))


@pytest.fixture
async def remote_verifier(
    idp: TestIdp, clock: FakeClock, jwks_server: JwksServer
) -> AsyncIterator[VerifierFactory]:
    """Build verifiers whose issuer keys come from ``jwks_server`` (closed after the test)."""
    made: list[tuple[TokenVerifier, httpx.AsyncClient]] = []

    async def make(**kwargs: Any) -> TokenVerifier:
        client = jwks_server.client()
        config = idp.config(jwks=None, jwks_uri=JwksServer.uri)
        verifier = TokenVerifier([config], http_client=client, clock=clock, **kwargs)
        made.append((verifier, client))
        return verifier

    yield make
    for verifier, client in made:
        await verifier.aclose()
        await client.aclose()


@pytest.fixture
def no_network_or_files() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Record file opens, socket connects and sqlite connects made while the test body runs."""
    events: list[tuple[str, tuple[Any, ...]]] = []
    AUDIT_SINKS.append(events)
    try:
        yield events
    finally:
        AUDIT_SINKS.remove(events)
