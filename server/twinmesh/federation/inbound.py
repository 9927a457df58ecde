"""Inbound federation: ``POST /federation/v1/graphql`` for partners' signed requests.

In order: the body is read (bounded); the signature is verified against the URL built from
our configured public origin (never the Host header) with the partner's key from the registry;
the nonce is recorded in the store, so a replay fails on every replica and after restarts;
the partner must be allowed to address the target tenant; then the operation runs read-only as
principal ``Partner::"<org>"`` under that tenant's policies, with the partner's request id and
trace. Every answer to a signed request is signed and bound to it, refusals included, so the
partner can tell our refusal from a forgery. Every refusal and every answered request is
audited in the target tenant's log (when the tenant is one we serve).

Refusals: 401 for a signature that does not verify (reason as in
:class:`~twinmesh.federation.signatures.SignatureRejected`) or a replay; 431 for signature
headers over the size limit (SECURITY.md item 16: the request's header fields are too large,
not its credentials wrong); 403 for an ungranted tenant, a loop, or an operation other than a
query (``read_only``); 400 for a body that is not one GraphQL query; 413 for a body over
:data:`MAX_BODY_BYTES`. A partner's hop budget is capped at ours, so a partner cannot make us
carry a traversal further than we would carry our own.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from opentelemetry.propagate import extract
from starlette.requests import Request
from starlette.responses import Response
from strawberry import Schema
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from twinmesh.audit.records import Actor
from twinmesh.auth import Principal
from twinmesh.domain import TenantId
from twinmesh.federation.outbound import Trail
from twinmesh.federation.signatures import (
    HOP_BUDGET,
    HOPS,
    ON_BEHALF_OF,
    REQUEST_ID,
    TARGET_TENANT,
    SignatureRejected,
    VerifiedRequest,
    claimed_key_id,
    sign_response,
    verify_request,
)
from twinmesh.services.access import TenantAccess
from twinmesh.services.audit import RequestAudit, RequestInfo

if TYPE_CHECKING:  # bootstrap imports this module
    from twinmesh.bootstrap import Services

log = logging.getLogger("twinmesh.federation")
tracer = trace.get_tracer("twinmesh.federation")

MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Refusal(Exception):
    """A refused federation request: the HTTP status, the error code, and the reason."""

    def __init__(self, status: int, code: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.reason = status, code, message, reason


UNVERIFIED = "unknown"  # the principal of a request whose signature did not verify
UNVERIFIED_RECORDS = 20


class _RefusalBudget:
    """At most ``limit`` records per tenant per ``window_s``; counts what it turns away."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._windows: dict[str, tuple[float, int, int]] = {}  # start, admitted, suppressed

    def admit(self, tenant: str) -> int | None:
        """``None`` to skip the record, else how many were skipped since the last one."""
        now = time.monotonic()
        start, admitted, suppressed = self._windows.get(tenant, (now, 0, 0))
        if now - start >= self.window_s:
            start, admitted = now, 0
        if admitted >= self.limit:
            self._windows[tenant] = (start, admitted, suppressed + 1)
            return None
        self._windows[tenant] = (start, admitted + 1, 0)
        return suppressed


def _unauthenticated(message: str, reason: str) -> Refusal:
    return Refusal(401, "UNAUTHENTICATED", message, reason)


def _forbidden(message: str, reason: str) -> Refusal:
    return Refusal(403, "FORBIDDEN", message, reason)


ContextFactory = Callable[[TenantAccess, Trail], Any]


def federation_endpoint(
    services: Services, schema: Schema, make_context: ContextFactory
) -> Callable[[Request], Awaitable[Response]]:
    federation = services.federation
    unverified = _RefusalBudget(UNVERIFIED_RECORDS, 60.0)

    async def audit(
        tenant: str | None,
        org: str,
        info: RequestInfo,
        outcome: str,
        error: str | None,
        **details: Any,
    ) -> None:
        if tenant is None or not await services.auth.serves(tenant):
            return  # not a tenant of ours: nothing to attribute the request to
        if org == UNVERIFIED:
            # Anyone can name a tenant in an unsigned header: refusals before verification
            # are recorded at most UNVERIFIED_RECORDS times a minute per tenant, the rest
            # counted into the next record, so forgers cannot flood a tenant's log.
            suppressed = unverified.admit(tenant)
            if suppressed is None:
                return
            if suppressed:
                details["suppressedSince"] = suppressed
        audit = RequestAudit(services.store, TenantId(tenant), Actor("partner", org), info)
        present = {k: v for k, v in details.items() if v is not None}
        if outcome == "success":
            event = audit.event("federationRequest", "Tenant", tenant)
            event.details.update(present)
        else:
            event = audit.refusal("federationRequest", "Tenant", tenant, error or "", **present)
        await audit.record(event)

    async def verified(request: Request, body: bytes, url: str) -> VerifiedRequest:
        claimed = claimed_key_id(request.headers.get("signature-input", ""))
        if claimed:
            await federation.registry.ensure_key(claimed)
        raw = request.headers.raw
        try:
            result = verify_request(
                method=request.method,
                url=url,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw],
                body=body,
                resolve_key=federation.registry.resolve,
            )
        except SignatureRejected as rejected:
            if rejected.reason == "too_large":
                raise Refusal(
                    431, "LIMIT_EXCEEDED", "The signature headers are too large.", "too_large"
                ) from None
            raise _unauthenticated("The request signature is not valid.", rejected.reason) from None
        if not await services.store.remember_nonce(result.org, result.nonce, result.expires):
            raise Refusal(401, "UNAUTHENTICATED", "This request was already received.", "replay")
        return result

    async def endpoint(request: Request) -> Response:
        info = RequestInfo.from_headers(
            request.headers, request.client.host if request.client else None
        )
        request_id = request.headers.get(REQUEST_ID, "")
        if _REQUEST_ID.match(request_id):
            info = RequestInfo(request_id, info.trace_id, info.source_ip)
        tenant = request.headers.get(TARGET_TENANT)
        url = federation.public_origin + request.scope.get("raw_path", b"/").decode("latin-1")
        if request.scope.get("query_string"):
            url += "?" + request.scope["query_string"].decode("latin-1")
        with tracer.start_as_current_span("federation.request", context=extract(request.headers)):
            body = await _read(request)
            org = UNVERIFIED
            signature: str | None = None
            try:
                if body is None:
                    raise Refusal(
                        413, "LIMIT_EXCEEDED", "The request body is too large.", "too_large"
                    )
                checked = await verified(request, body, url)
                org, signature = checked.org, checked.signature
                status, answer = await run(request, body, checked, tenant, info)
            except Refusal as refusal:
                log.info("federation request refused (%s): %s", refusal.reason, refusal.message)
                await audit(tenant, org, info, "denied", refusal.code, reason=refusal.reason)
                status = refusal.status
                answer = {"error": {"code": refusal.code, "message": refusal.message}}
            response_body = orjson.dumps(answer)
            headers = {"content-type": "application/json"}
            bound_to = signature or request.headers.get("signature")
            if bound_to is not None:
                # Bound to the request's signature, so the partner can attribute it; a
                # signature that cannot be parsed (or is oversized) gets an unsigned answer.
                with contextlib.suppress(ValueError):
                    headers = sign_response(
                        status=status,
                        headers=headers,
                        body=response_body,
                        request_method=request.method,
                        request_url=url,
                        request_signature=bound_to,
                        org=federation.org_id,
                        key=services.audit.keyring.signing_key(),
                    )
            return Response(response_body, status_code=status, headers=headers)

    async def run(
        request: Request,
        body: bytes,
        checked: VerifiedRequest,
        tenant: str | None,
        info: RequestInfo,
    ) -> tuple[int, dict[str, Any]]:
        partner = await federation.registry.get(checked.org)
        if partner is None or tenant is None or tenant not in partner.tenants:
            raise Refusal(
                403, "FORBIDDEN", "Your organisation may not query this tenant.", "not_granted"
            )
        if not await services.auth.serves(tenant):
            raise Refusal(
                403, "FORBIDDEN", "Your organisation may not query this tenant.", "not_served"
            )
        hops = tuple(h for h in request.headers.get(HOPS, "").split(",") if h)
        if federation.org_id in hops:
            raise _forbidden("This request has already passed through us.", "loop")
        try:
            budget = int(request.headers.get(HOP_BUDGET, "0"))
            params = orjson.loads(body)
            query, variables = params["query"], params.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise Refusal(
                400, "BAD_REQUEST", 'Send {"query": ..., "variables": {...}}.', "bad_body"
            ) from None
        principal = Principal(
            tenant=tenant,
            subject=checked.org,
            roles=frozenset(),
            client_id=None,
            kind="partner",
            token_id=None,
        )
        await services.policy_versions.refresh(TenantId(tenant))
        access = TenantAccess(services, principal, info)
        trail = Trail(
            request_id=info.request_id,
            trace_id=info.trace_id,
            on_behalf_of=checked.org,
            hops=hops,
            budget=max(0, min(budget, federation.hop_budget)),
        )
        try:
            result = await schema.execute(
                query,
                variable_values=variables,
                context_value=make_context(access, trail),
                allowed_operation_types={OperationType.QUERY},
            )
        except InvalidOperationTypeError:
            raise _forbidden("Partner requests are read-only: send a query.", "read_only") from None
        except (CannotGetOperationTypeError, MissingQueryError):
            raise Refusal(
                400, "BAD_REQUEST", "Send exactly one GraphQL query operation.", "bad_body"
            ) from None
        await audit(
            tenant,
            checked.org,
            info,
            "success",
            None,
            onBehalfOf=request.headers.get(ON_BEHALF_OF, "")[:200],
            hops=list(hops),
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            answer["extensions"] = result.extensions
        return 200, answer

    return endpoint


async def _read(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
