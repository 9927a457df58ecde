"""A GraphQL client for tests: posts operations to the app as a tenant's client would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from twinmesh.bootstrap import Services
from twinmesh.domain import TenantId


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
