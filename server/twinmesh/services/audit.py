"""Audit events of one request: who asked, from where, under which request and trace ids.

:class:`RequestAudit` builds the :class:`~twinmesh.audit.records.AuditEvent` of each decision
and change of a request. A change's event travels to the store with the change and is
appended in its transaction; events that record no change (a denial, a failed change, a read)
are appended on their own with :meth:`RequestAudit.record`. Whether successful reads are
recorded is the tenant's choice (``off``, ``denied-only`` or ``all``); denials always are.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from twinmesh.audit.records import Actor, AuditEvent
from twinmesh.auth import Principal
from twinmesh.domain import TenantId
from twinmesh.store.port import GraphStore

ReadAudit = Literal["off", "denied-only", "all"]
DEFAULT_READ_AUDIT: ReadAudit = "denied-only"

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from and how to correlate it."""

    request_id: str
    trace_id: str
    source_ip: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], source_ip: str | None) -> RequestInfo:
        """A fresh request id; the trace id of a valid W3C ``traceparent``, else a new one."""
        found = _TRACEPARENT.match(headers.get("traceparent", "").strip().lower())
        trace_id = found.group(1) if found and found.group(1) != "0" * 32 else None
        return cls(uuid.uuid4().hex, trace_id or secrets.token_hex(16), source_ip)

    @classmethod
    def internal(cls) -> RequestInfo:
        """For work twinmesh starts itself (seeding, checkpoints, retention)."""
        return cls(uuid.uuid4().hex, secrets.token_hex(16), None)


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.kind, principal.subject, tuple(principal.roles), principal.client_id)


class RequestAudit:
    """Events of one caller's request, all in the caller's tenant's chain."""

    def __init__(
        self,
        store: GraphStore,
        tenant: TenantId,
        actor: Actor,
        request: RequestInfo,
        reads: ReadAudit = DEFAULT_READ_AUDIT,
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.actor = actor
        self.request = request
        self.reads = reads

    def event(self, action: str, resource_type: str, resource_id: str) -> AuditEvent:
        return AuditEvent(
            tenant=self.tenant,
            actor=self.actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            request_id=self.request.request_id,
            trace_id=self.request.trace_id,
            source_ip=self.request.source_ip,
        )

    def refusal(
        self, action: str, resource_type: str, resource_id: str, error: str, **details: Any
    ) -> AuditEvent:
        """The event of a refused request: effect deny, outcome denied, the error code."""
        event = self.event(action, resource_type, resource_id)
        event.decided(False, ())
        event.outcome, event.error = "denied", error
        event.details.update(details)
        return event

    async def record(self, *events: AuditEvent) -> None:
        """Append events that record no change; raises (fail closed) if they cannot be."""
        if events:
            await self.store.append_audit(self.tenant, events)

    async def read(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        *,
        allowed: bool,
        policies: tuple[str, ...] = (),
    ) -> None:
        """Record a read as the tenant's read-audit setting asks."""
        if self.reads == "off" or (allowed and self.reads == "denied-only"):
            return
        if allowed:
            event = self.event(action, resource_type, resource_id)
        else:
            event = self.refusal(action, resource_type, resource_id, "FORBIDDEN")
        event.decided(allowed, policies)
        await self.record(event)
