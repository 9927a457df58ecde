"""Clients over the real app (``create_app`` on an in-memory embedded store), per configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from graphql_client import authorised_app, serve_app


@pytest.fixture
def serve() -> Callable[..., AsyncIterator[httpx.AsyncClient]]:
    """Runs an app's lifespan and yields a client over it: ``async for c in serve(app)``."""
    return serve_app


@pytest.fixture
async def production() -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: ``create_app(services)`` with its defaults, as a signed-in user."""
    async for client in serve_app(*authorised_app()):
        yield client


@pytest.fixture
async def development() -> AsyncIterator[httpx.AsyncClient]:
    """The app as ``twinmesh serve --demo`` runs it: ``dev=True``, as a signed-in user."""
    async for client in serve_app(*authorised_app(dev=True)):
        yield client
