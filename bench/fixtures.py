"""What several benchmarks set up alike: the sample ontology, a campus as import batches, and
an HTTP client of the full app in process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from twinmesh.bootstrap import Services
from twinmesh.devtools.campus import Campus
from twinmesh.domain import NewRelationship, NewTwin
from twinmesh.http.app import create_app
from twinmesh.ontology import load_paths

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = ROOT / "ontology"


def ontology_documents() -> list[Any]:
    """The sample ontology's documents, as ``ModelService.upload`` takes them."""
    return [d.content for d in load_paths([ONTOLOGY])]


def campus_batch(campus: Campus) -> tuple[list[NewTwin], list[NewRelationship]]:
    """A generated campus as the twins and relationships of ``GraphStore.import_batch``."""
    return (
        [NewTwin(t.id, t.model, t.properties, dict(t.components)) for t in campus.twins],
        [NewRelationship(r.source_id, r.id, r.name, r.target_id, r.properties)
         for r in campus.relationships],
    )  # fmt: skip


@contextlib.asynccontextmanager
async def app_http_client(
    services: Services, tenant: str, roles: Sequence[str] = ("admin",)
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the full app, signed in to ``tenant`` with a development token."""
    assert services.dev_issuer is not None
    token = services.dev_issuer.issue_token(tenant, "bench", roles=roles)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)),
        base_url="http://twinmesh.bench",
        headers={"authorization": f"Bearer {token}"},
    ) as client:
        yield client
