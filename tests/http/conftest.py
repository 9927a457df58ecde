"""Clients over the real app (``create_app`` on an in-memory embedded store), per configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette

from twinmesh.bootstrap import build_services
from twinmesh.config import Settings
from twinmesh.http.app import create_app
from twinmesh.store.embedded import EmbeddedStore


async def serve_app(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twinmesh.test") as c:
            yield c


@pytest.fixture
def serve() -> Callable[[Starlette], AsyncIterator[httpx.AsyncClient]]:
    """Runs an app's lifespan and yields a client over it: ``async for c in serve(app)``."""
    return serve_app


@pytest.fixture
async def production() -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: ``create_app(services)`` with its defaults."""
    async for client in serve_app(create_app(build_services(Settings(), store=EmbeddedStore()))):
        yield client


@pytest.fixture
async def development() -> AsyncIterator[httpx.AsyncClient]:
    """The app as ``twinmesh serve --demo`` runs it: ``dev=True``."""
    app = create_app(build_services(Settings(), store=EmbeddedStore()), dev=True)
    async for client in serve_app(app):
        yield client
