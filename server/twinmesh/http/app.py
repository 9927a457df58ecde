"""The ASGI application: ``/graphql``, ``/livez`` and ``/readyz`` over the wired services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from twinmesh.bootstrap import Services
from twinmesh.errors import StoreUnavailable
from twinmesh.graphql.context import RequestContext
from twinmesh.graphql.schema import schema

log = logging.getLogger("twinmesh.http")

# Runs once the store is open, before the first request (the demo data, for instance).
Seeder = Callable[[Services], Awaitable[None]]


class TwinGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI view with our per-request context."""

    def __init__(self, services: Services, *, ide: bool) -> None:
        super().__init__(
            schema, graphql_ide="graphiql" if ide else None, allow_queries_via_get=False
        )
        self._services = services

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return RequestContext(services=self._services, tenant=self._services.default_tenant)


def create_app(services: Services, *, ide: bool = False, seed: Seeder | None = None) -> Starlette:
    """The application; the store opens on start-up and closes on shut-down."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.store.open()
        try:
            if seed is not None:
                await seed(services)
            yield
        finally:
            await services.store.close()

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await services.store.ping()
        except StoreUnavailable as exc:
            log.warning("readiness check failed: %s", exc.__cause__ or exc)
            return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "reachable"})

    graphql_app = TwinGraphQL(services, ide=ide)
    return Starlette(
        routes=[
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
