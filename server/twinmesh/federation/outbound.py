"""Outbound federation: signed GraphQL requests to partners, verified answers, statuses.

A call never raises for a partner's behaviour: it ends in one status, reported per partner in
``extensions.federation`` of the caller's response:

* ``ok`` — a verified answer;
* ``denied`` — the partner refused us (401/403), or the call would loop or exceed the hop
  budget (then it is not made at all);
* ``timeout`` — no answer within the partner's timeout;
* ``unreachable`` — no connection, a server error, or the circuit is open;
* ``invalid_signature`` — an answer we cannot attribute to the partner (unsigned, tampered,
  signed by another key or for another request): never trusted, never partially used.

A circuit breaker per partner opens after :data:`BREAKER_FAILURES` consecutive timeouts or
unreachable answers and stays open for :data:`BREAKER_OPEN_S`; while open, calls fail fast as
``unreachable`` so that a dead partner costs local queries nothing.

The partner's ``timeout_s`` bounds the whole exchange (``asyncio.timeout``): httpx's timeouts
bound each connect, write and read, so a partner that drips its answer a byte at a time would
never hit them (SECURITY.md item 58). The answer is read as a stream and abandoned past
:data:`MAX_RESPONSE_BYTES` rather than buffered whole first.

The ``federation.query`` span is a child of the current span when that span is in the
request's trace (on a partner, the inbound ``federation.request`` span), so a traversal
A → B → C is one tree; otherwise (no span, or tracing off) its parent is a remote stand-in
in the request's trace, whose id the audit records carry.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagate import inject
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, format_trace_id

from twinmesh.federation.partners import Partner, PartnerRegistry
from twinmesh.federation.signatures import (
    HOP_BUDGET,
    HOPS,
    ON_BEHALF_OF,
    REQUEST_ID,
    TARGET_TENANT,
    SignatureRejected,
    claimed_key_id,
    sign_request,
    verify_response,
)
from twinmesh.identity import Keyring

log = logging.getLogger("twinmesh.federation")
tracer = trace.get_tracer("twinmesh.federation")

Status = Literal["ok", "denied", "timeout", "unreachable", "invalid_signature"]
FEDERATION_PATH = "/federation/v1/graphql"
BREAKER_FAILURES = 3
BREAKER_OPEN_S = 30.0
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Trail:
    """What a federated request carries along its path (signed, see signatures.py)."""

    request_id: str
    trace_id: str
    on_behalf_of: str
    hops: tuple[str, ...]  # the organisations already on the path, this one included
    budget: int  # how many more organisations the path may cross


@dataclass(slots=True)
class PartnerCall:
    """One partner's part of a federated answer."""

    org: str
    tenant: str
    status: Status
    latency_ms: float
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    extensions: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        entry = {
            "partner": self.org,
            "tenant": self.tenant,
            "status": self.status,
            "latencyMs": round(self.latency_ms, 2),
        }
        return entry if self.reason is None else {**entry, "reason": self.reason}


@dataclass(slots=True)
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


class FederationClient:
    """Signs requests with our organisation key; verifies answers with the partner's."""

    def __init__(
        self,
        org_id: str,
        keyring: Callable[[], Keyring],
        registry: PartnerRegistry,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.org_id = org_id
        self._keyring = keyring
        self.registry = registry
        self._http = http
        self._clock = clock
        self._breakers: dict[str, _Breaker] = {}

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    async def query(
        self,
        partner: Partner,
        tenant: str,
        query: str,
        variables: Mapping[str, Any],
        trail: Trail,
    ) -> PartnerCall:
        """Send one read-only GraphQL operation to ``partner``'s ``tenant``."""
        if partner.org in trail.hops:
            return PartnerCall(partner.org, tenant, "denied", 0.0, reason="loop")
        if trail.budget <= 0:
            return PartnerCall(partner.org, tenant, "denied", 0.0, reason="hop budget exhausted")
        breaker = self._breakers.setdefault(partner.org, _Breaker())
        if breaker.open_until > self._clock():
            return PartnerCall(partner.org, tenant, "unreachable", 0.0, reason="circuit open")
        started = time.perf_counter()
        with tracer.start_as_current_span(
            "federation.query",
            context=_trace_parent(trail.trace_id),
            attributes={"twinmesh.partner": partner.org, "twinmesh.request_id": trail.request_id},
        ):
            call = await self._send(partner, tenant, query, variables, trail)
        call.latency_ms = (time.perf_counter() - started) * 1000
        if call.status in ("timeout", "unreachable"):
            breaker.failures += 1
            if breaker.failures >= BREAKER_FAILURES:
                breaker.open_until = self._clock() + BREAKER_OPEN_S
                log.warning("circuit to partner %s opened for %.0f s", partner.org, BREAKER_OPEN_S)
        else:
            breaker.failures = 0
        return call

    async def _send(
        self,
        partner: Partner,
        tenant: str,
        query: str,
        variables: Mapping[str, Any],
        trail: Trail,
    ) -> PartnerCall:
        url = partner.base_url + FEDERATION_PATH
        body = orjson.dumps({"query": query, "variables": dict(variables)})
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            TARGET_TENANT: tenant,
            ON_BEHALF_OF: trail.on_behalf_of,
            REQUEST_ID: trail.request_id,
            HOPS: ",".join((*trail.hops, self.org_id)),
            HOP_BUDGET: str(trail.budget - 1),
            "traceparent": f"00-{trail.trace_id}-{secrets.token_hex(8)}-01",
        }
        inject(headers)  # the current span's traceparent, when tracing is on
        signed = sign_request(
            method="POST",
            url=url,
            headers=headers,
            body=body,
            org=self.org_id,
            key=self._keyring().signing_key(),
        )
        try:
            async with asyncio.timeout(partner.timeout_s):
                response, content = await self._post(url, body, signed, partner.timeout_s)
        except (TimeoutError, httpx.TimeoutException):
            return PartnerCall(partner.org, tenant, "timeout", 0.0)
        except httpx.HTTPError as exc:
            log.info("partner %s unreachable: %s", partner.org, exc)
            return PartnerCall(partner.org, tenant, "unreachable", 0.0)
        if response.status_code >= 500:
            return PartnerCall(partner.org, tenant, "unreachable", 0.0, reason="server error")
        if content is None:
            return PartnerCall(partner.org, tenant, "unreachable", 0.0, reason="answer too large")
        try:
            claimed = claimed_key_id(response.headers.get("signature-input", "")) or ""
            prefix = f"{partner.org}:"  # only this partner's keys are worth fetching here
            await self.registry.ensure_key(claimed if claimed.startswith(prefix) else prefix)
            verify_response(
                status=response.status_code,
                headers=list(response.headers.multi_items()),
                body=content,
                request_method="POST",
                request_url=url,
                request_signature=signed["Signature"],
                expected_org=partner.org,
                resolve_key=self.registry.resolve,
            )
        except SignatureRejected as rejected:
            log.warning("answer of partner %s rejected: %s", partner.org, rejected)
            return PartnerCall(
                partner.org, tenant, "invalid_signature", 0.0, reason=rejected.reason
            )
        if response.status_code in (401, 403):
            return PartnerCall(
                partner.org, tenant, "denied", 0.0, reason=_message(content, response.status_code)
            )
        try:
            answer = orjson.loads(content)
        except orjson.JSONDecodeError:
            return PartnerCall(partner.org, tenant, "unreachable", 0.0, reason="not JSON")
        if not isinstance(answer, dict):
            return PartnerCall(partner.org, tenant, "unreachable", 0.0, reason="not an object")
        data = answer.get("data")
        errors = answer.get("errors") or []
        extensions = answer.get("extensions")
        return PartnerCall(
            partner.org,
            tenant,
            "ok" if response.status_code == 200 else "denied",
            0.0,
            data=data if isinstance(data, dict) else None,
            errors=errors if isinstance(errors, list) else [],
            extensions=extensions if isinstance(extensions, dict) else None,
        )

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> tuple[httpx.Response, bytes | None]:
        """The answer and its body, or ``None`` for a body over :data:`MAX_RESPONSE_BYTES`."""
        async with self._client().stream(
            "POST", url, content=body, headers=headers, timeout=timeout_s
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():  # decoded: a zip bomb is capped too
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    return response, None
                chunks.append(chunk)
            return response, b"".join(chunks)


def _trace_parent(trace_id: str) -> Context | None:
    """The span context federation.query starts in: the current one (``None``) if it is in the
    request's trace, else a remote stand-in parent in that trace, so that spans made here and
    on the partner join the trace the audit records name."""
    current = trace.get_current_span().get_span_context()
    if current.is_valid and format_trace_id(current.trace_id) == trace_id:
        return None
    parent = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(secrets.token_hex(8), 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def _message(content: bytes, status: int) -> str:
    """The error code of a (verified) refusal, e.g. ``FORBIDDEN``, else its status."""
    try:
        error = orjson.loads(content).get("error", {})
        return str(error.get("code", status))
    except (orjson.JSONDecodeError, AttributeError):
        return str(status)
