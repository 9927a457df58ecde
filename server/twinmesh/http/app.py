"""The ASGI application: ``/graphql``, ``/audit/export``, federation, ``/livez``, ``/readyz``.

``create_app(..., dev=False)`` is the production configuration: no GraphiQL, no introspection,
no "Did you mean" suggestions. ``dev=True`` (``twinmesh serve --demo``) serves the bundled
GraphiQL at ``GET /graphql`` for browsers and allows introspection and suggestions. The request
limits of :class:`~twinmesh.graphql.limits.GraphQLLimits` apply in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from twinmesh.audit.formats import MEDIA_TYPES, ExportFormat
from twinmesh.audit.records import Actor
from twinmesh.audit.streaming import render_stream
from twinmesh.auth import InvalidToken, Principal, TenantDisabled
from twinmesh.bootstrap import Services
from twinmesh.domain import TenantId
from twinmesh.errors import (
    StoreUnavailable,
    TwinmeshError,
    ValidationFailed,
    mapping_for,
)
from twinmesh.federation.inbound import federation_endpoint
from twinmesh.federation.outbound import Trail
from twinmesh.graphql.context import RequestContext
from twinmesh.graphql.federation import FederationState
from twinmesh.graphql.limits import GraphQLLimits, harden
from twinmesh.graphql.schema import schema
from twinmesh.http.graphql_view import GraphQLEndpoint, bearer_challenge
from twinmesh.http.ide import STATIC_PATH, graphiql_assets, graphiql_page
from twinmesh.http.subscriptions import SubscriptionsView
from twinmesh.services.access import TenantAccess
from twinmesh.services.audit import RequestAudit, RequestInfo

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
        checkpoints: asyncio.Task[None] | None = None
        try:
            await services.policy_versions.load()
            await services.auth.start()
            if seed is not None:
                await seed(services)
            checkpoints = asyncio.create_task(
                services.audit.run_checkpoints(services.audit_checkpoint_interval_s)
            )
            yield
        finally:
            if checkpoints is not None:
                checkpoints.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await checkpoints
            await services.federation.client.close()
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

    async def refused(tenant: str, subject: str, error: TwinmeshError, info: RequestInfo) -> None:
        audit = RequestAudit(services.store, TenantId(tenant), Actor("user", subject), info)
        reason = getattr(error, "reason", "tenant_disabled")
        await audit.record(audit.refusal("authenticate", "Token", "", error.code, reason=reason))

    async def authenticate(authorization: str | None, info: RequestInfo) -> Principal:
        """The verified caller. A refused token whose signature held is audited in the tenant
        it names (a forged one is attributable to no one), as is a disabled tenant's."""
        try:
            return await services.auth.authenticate(authorization)
        except InvalidToken as error:
            if error.tenant is not None and await services.auth.serves(error.tenant):
                await refused(error.tenant, error.subject or "", error, info)
            raise
        except TenantDisabled as error:
            await refused(error.principal.tenant, error.principal.subject, error, info)
            raise

    async def tenant_access(authorization: str | None, connection: HTTPConnection) -> TenantAccess:
        # The tenant comes from the verified token only, never from the request's contents.
        info = RequestInfo.from_headers(
            connection.headers, connection.client.host if connection.client else None
        )
        principal = await authenticate(authorization, info)
        tenant = TenantId(principal.tenant)
        versions = services.policy_versions
        if time.monotonic() - reloaded[0] >= POLICY_RELOAD_INTERVAL_S:
            reloaded[0] = time.monotonic()
            await versions.reload_changed_folders()  # policy files on disk hot-reload
        if services.dev_issuer is not None:
            # Development tenants start with the demo policy set.
            await versions.adopt(tenant, DEV_POLICY_TEMPLATE)
        await versions.refresh(tenant)  # activations made on other replicas
        if prepare_tenant is not None:
            await prepare_tenant(services, tenant)
        return TenantAccess(services, principal, info)

    def make_context(access: TenantAccess, trail: Trail) -> RequestContext:
        return RequestContext(
            services=services,
            tenant=access.tenant,
            principal=access.principal,
            access=access,
            federation=FederationState(trail),
        )

    async def request_context(request: Request) -> RequestContext:
        return context_of(await tenant_access(request.headers.get("authorization"), request))

    def context_of(access: TenantAccess) -> RequestContext:
        info = access.audit.request
        trail = Trail(
            request_id=info.request_id,
            trace_id=info.trace_id,
            on_behalf_of=access.principal.subject,
            hops=(),
            budget=services.federation.hop_budget,
        )
        return make_context(access, trail)

    async def socket_context(authorization: str | None, websocket: WebSocket) -> RequestContext:
        access = await tenant_access(authorization, websocket)
        return context_of(access)

    async def published_keys(request: Request) -> Response:
        """The organisation's current and still-valid public keys, for partners."""
        document = services.audit.keyring.public_document()
        return JSONResponse(
            {"org": services.federation.org_id, **document},
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def audit_export(request: Request) -> Response:
        """``GET /audit/export?since=&until=&format=ndjson|csv|ocsf``: the caller's tenant's
        audit log (auditors), streamed with the checkpoints and keys that verify it."""
        try:
            access = await tenant_access(request.headers.get("authorization"), request)
            fmt = request.query_params.get("format", "ndjson")
            if fmt not in MEDIA_TYPES:
                raise ValidationFailed("format must be ndjson, csv or ocsf.")
            since, until = (_instant(request, name) for name in ("since", "until"))
            items = await access.export_audit(since=since, until=until)
        except TwinmeshError as error:
            return _error_response(error)
        export_format: ExportFormat = fmt
        return StreamingResponse(
            render_stream(items, export_format),
            media_type=MEDIA_TYPES[export_format],
            headers={
                "Content-Disposition": f'attachment; filename="audit-{access.tenant}.{fmt}"',
                "Cache-Control": "no-store",
            },
        )

    hardened = harden(schema, dev=dev, limits=limits or GraphQLLimits())
    graphql = GraphQLEndpoint(
        hardened,
        request_context,
        graphiql=graphiql_page(ide_token) if dev else None,
    )
    routes: list[BaseRoute] = [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/graphql", graphql),
        Route("/audit/export", audit_export, methods=["GET"]),
        Route(
            "/federation/v1/graphql",
            federation_endpoint(services, hardened, make_context),
            methods=["POST"],
        ),
        Route("/.well-known/twinmesh/keys", published_keys, methods=["GET"]),
        WebSocketRoute("/graphql", SubscriptionsView(hardened, socket_context)),
    ]
    if dev:
        # About 4 MB of GraphiQL; compressed it is under 1 MB.
        routes.append(Mount(STATIC_PATH, GZipMiddleware(graphiql_assets()), name="graphiql"))
    return Starlette(routes=routes, lifespan=lifespan)


def _instant(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name} must be an ISO 8601 time such as 2026-11-22T10:00:00Z."
        ) from None
    if moment.tzinfo is None:
        raise ValidationFailed(f"{name} needs a time zone, such as Z.")
    return moment


def _error_response(error: TwinmeshError) -> Response:
    """A REST error body with the same stable codes as GraphQL errors."""
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message}},
        status_code=mapping_for(error).http_status,
        headers=bearer_challenge(error),
    )
