"""The ASGI application: ``/graphql``, ``/livez`` and ``/readyz`` over the wired services.

``create_app(..., dev=False)`` is the production configuration: no GraphiQL, no introspection,
no "Did you mean" suggestions. ``dev=True`` (``twinmesh serve --demo``) serves the bundled
GraphiQL at ``GET /graphql`` for browsers and allows introspection and suggestions. The request
limits of :class:`~twinmesh.graphql.limits.GraphQLLimits` apply in both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from twinmesh.bootstrap import Services
from twinmesh.domain import TenantId
from twinmesh.errors import StoreUnavailable
from twinmesh.graphql.context import RequestContext
from twinmesh.graphql.limits import GraphQLLimits, harden
from twinmesh.graphql.schema import schema
from twinmesh.http.graphql_view import GraphQLEndpoint
from twinmesh.http.ide import STATIC_PATH, graphiql_assets, graphiql_page
from twinmesh.services.access import TenantAccess

log = logging.getLogger("twinmesh.http")

# Runs once the store is open, before the first request (the demo data, for instance).
Seeder = Callable[[Services], Awaitable[None]]
DEV_POLICY_TEMPLATE = "demo"
POLICY_RELOAD_INTERVAL_S = 1.0
# Runs before each request with the caller's tenant (the demo prepares new tenants with it).
TenantHook = Callable[[Services, TenantId], Awaitable[None]]


def create_app(
    services: Services,
    *,
    dev: bool = False,
    seed: Seeder | None = None,
    limits: GraphQLLimits | None = None,
    prepare_tenant: TenantHook | None = None,
    ide_token: str | None = None,
) -> Starlette:
    """The application; the store opens on start-up and closes on shut-down."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.store.open()
        try:
            await services.auth.start()
            if seed is not None:
                await seed(services)
            yield
        finally:
            await services.auth.close()
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

    reloaded = [0.0]

    async def request_context(request: Request) -> RequestContext:
        # The tenant comes from the verified token only, never from the request's contents.
        principal = await services.auth.authenticate(request.headers.get("authorization"))
        tenant = TenantId(principal.tenant)
        policies = services.policies.store
        if time.monotonic() - reloaded[0] >= POLICY_RELOAD_INTERVAL_S:
            reloaded[0] = time.monotonic()
            policies.reload_if_changed()  # policy files on disk hot-reload
        if services.dev_issuer is not None:
            # Development tenants start with the demo policy set.
            policies.adopt(tenant, DEV_POLICY_TEMPLATE)
        if prepare_tenant is not None:
            await prepare_tenant(services, tenant)
        access = TenantAccess(services, principal)
        return RequestContext(services=services, tenant=tenant, principal=principal, access=access)

    graphql = GraphQLEndpoint(
        harden(schema, dev=dev, limits=limits or GraphQLLimits()),
        request_context,
        graphiql=graphiql_page(ide_token) if dev else None,
    )
    routes: list[BaseRoute] = [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/graphql", graphql),
    ]
    if dev:
        # About 4 MB of GraphiQL; compressed it is under 1 MB.
        routes.append(Mount(STATIC_PATH, GZipMiddleware(graphiql_assets()), name="graphiql"))
    return Starlette(routes=routes, lifespan=lifespan)
