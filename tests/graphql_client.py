"""A GraphQL client for tests: posts operations to the app as a tenant's client would."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from twinmesh.bootstrap import Services, build_services
from twinmesh.config import Settings
from twinmesh.domain import TenantId
from twinmesh.http.app import create_app
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.port import GraphStore

# One development-issuer key for the whole test run.
AUTH_DIR = Path(tempfile.mkdtemp(prefix="twinmesh-test-auth-"))


def settings_for_tests(**overrides: Any) -> Settings:
    """Settings for tests: the development issuer is trusted (its key lives in AUTH_DIR)."""
    return Settings(auth_dev_issuer=True, data_dir=AUTH_DIR, **overrides)


def bearer(
    services: Services,
    tenant: str = "demo",
    subject: str = "tester",
    roles: tuple[str, ...] = ("admin",),
) -> dict[str, str]:
    """The Authorization header of a development token for ``tenant``."""
    assert services.dev_issuer is not None
    token = services.dev_issuer.issue_token(tenant, subject, roles=roles)
    return {"authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: httpx.AsyncClient
    services: Services
    tenant: TenantId

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def serve_app(
    app: Starlette, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://twinmesh.test", headers=headers
        ) as c:
            yield c


def authorised_app(
    store: GraphStore | None = None, **options: Any
) -> tuple[Starlette, dict[str, str]]:
    """The app over a store, and the Authorization header of a user of tenant ``demo``."""
    services = build_services(settings_for_tests(), store=store or EmbeddedStore())
    return create_app(services, **options), bearer(services)
