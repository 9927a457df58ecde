"""A GraphQL client over the app, on each store, in a fresh tenant per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from graphql_client import Api, bearer, settings_for_tests
from twinmesh.bootstrap import build_services
from twinmesh.domain import TenantId
from twinmesh.http.app import create_app
from twinmesh.store.port import GraphStore


@pytest.fixture
async def api(store: GraphStore, tenant: TenantId) -> AsyncIterator[Api]:
    services = build_services(settings_for_tests(), store=store)
    # No lifespan: the session's store is already open and outlives this app.
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://twinmesh.test", headers=bearer(services, tenant)
    ) as client:
        yield Api(client, services, tenant)
