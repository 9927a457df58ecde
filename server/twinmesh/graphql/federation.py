"""Federation in the GraphQL API: remote targets, fan-out to partners, partner administration.

* ``Relationship.remoteTarget(depth)`` follows a ``twin://<org>/<tenant>/<id>`` reference to
  the partner's twin. All references of one request to one partner (and depth) travel in one
  signed request (a per-request DataLoader); with ``depth`` > 0 the partner follows its own
  remote references in turn, within the hop budget, so a traversal can cross A → B → C.
* ``partnerTwins`` sends one twin query to several partners in parallel.
* Every partner call is listed in ``extensions.federation`` with its status and latency (and
  the calls partners made on our behalf, marked ``via``), instead of silent nulls.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON

from twinmesh.audit.records import AuditEvent
from twinmesh.domain.twins import REMOTE_REF_PREFIX
from twinmesh.errors import ValidationFailed
from twinmesh.federation.outbound import PartnerCall, Trail
from twinmesh.graphql.context import Info, RequestContext

MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class RemoteRef:
    org: str
    tenant: str
    id: str

    @classmethod
    def parse(cls, ref: str) -> RemoteRef | None:
        parts = ref.removeprefix(REMOTE_REF_PREFIX).split("/", 2)
        if not ref.startswith(REMOTE_REF_PREFIX) or len(parts) != 3 or not all(parts):
            return None
        return cls(*parts)


def _twin_selection(depth: int) -> str:
    remote = (
        f" remoteTarget(depth: {depth - 1}) {{ ref org tenant id status reason twin }}"
        if depth > 0
        else ""
    )
    return (
        "{ id model properties relationships(first: 100) { edges { node { id name targetRef"
        f"{remote} }} }} }} }}"
    )


@dataclass
class FederationState:
    """Per request: where the request came from (its trail) and every partner call made."""

    trail: Trail
    calls: list[PartnerCall] = field(default_factory=list)
    _loader: DataLoader[tuple[RemoteRef, int], RemoteTwin] | None = None

    def loader(self, context: RequestContext) -> DataLoader[tuple[RemoteRef, int], RemoteTwin]:
        if self._loader is None:

            async def load(keys: list[tuple[RemoteRef, int]]) -> list[RemoteTwin]:
                return await _load_remote(context, keys)

            self._loader = DataLoader(load_fn=load, cache=True)
        return self._loader


@strawberry.type(description="A partner's twin reached through a remote reference.")
class RemoteTwin:
    ref: str
    org: str
    tenant: str
    id: strawberry.ID
    status: str = strawberry.field(
        description="ok, denied, timeout, unreachable or invalid_signature."
    )
    reason: str | None = None
    twin: JSON | None = strawberry.field(
        default=None,
        description="The partner's twin (id, model, properties, relationships); null unless ok "
        "and the partner lets you see it.",
    )


async def _record(context: RequestContext, call: PartnerCall) -> None:
    context.federation.calls.append(call)
    event: AuditEvent = context.access.audit.event("federationQuery", "Partner", call.org)
    event.details.update({"tenant": call.tenant, "status": call.status})
    if call.status != "ok":
        event.outcome = "failure"
        event.error = call.status
    await context.access.audit.record(event)


async def _call(
    context: RequestContext, org: str, tenant: str, query: str, variables: dict[str, Any]
) -> PartnerCall:
    federation = context.services.federation
    partner = await federation.registry.get(org)
    if partner is None:
        call = PartnerCall(org, tenant, "denied", 0.0, reason="not a partner")
    else:
        call = await federation.client.query(
            partner, tenant, query, variables, context.federation.trail
        )
    await _record(context, call)
    return call


async def _load_remote(
    context: RequestContext, keys: Sequence[tuple[RemoteRef, int]]
) -> list[RemoteTwin]:
    groups: dict[tuple[str, str, int], list[RemoteRef]] = defaultdict(list)
    for ref, depth in keys:
        if ref not in groups[(ref.org, ref.tenant, depth)]:
            groups[(ref.org, ref.tenant, depth)].append(ref)

    async def fetch(
        org: str, tenant: str, depth: int, refs: list[RemoteRef]
    ) -> dict[str, RemoteTwin]:
        params = ", ".join(f"$i{n}: ID!" for n in range(len(refs)))
        selection = _twin_selection(depth)
        body = " ".join(f"t{n}: twin(id: $i{n}) {selection}" for n in range(len(refs)))
        variables = {f"i{n}": ref.id for n, ref in enumerate(refs)}
        call = await _call(context, org, tenant, f"query({params}) {{ {body} }}", variables)
        out = {}
        for n, ref in enumerate(refs):
            twin = (call.data or {}).get(f"t{n}") if call.status == "ok" else None
            out[ref.id] = RemoteTwin(
                ref=f"{REMOTE_REF_PREFIX}{org}/{tenant}/{ref.id}",
                org=org,
                tenant=tenant,
                id=strawberry.ID(ref.id),
                status=call.status,
                reason=call.reason,
                twin=cast(JSON, twin),
            )
        return out

    fetched = await asyncio.gather(
        *(fetch(org, tenant, depth, refs) for (org, tenant, depth), refs in groups.items())
    )
    answers = dict(zip(groups, fetched, strict=True))
    return [answers[(ref.org, ref.tenant, depth)][ref.id] for ref, depth in keys]


async def resolve_remote_target(info: Info, target_ref: str, depth: int) -> RemoteTwin | None:
    ref = RemoteRef.parse(target_ref)
    if ref is None:
        return None
    if not 0 <= depth <= MAX_DEPTH:
        raise ValidationFailed(f"depth must be between 0 and {MAX_DEPTH}.")
    return await info.context.federation.loader(info.context).load((ref, depth))


@strawberry.type(description="One partner's answer to a fan-out query.")
class PartnerTwins:
    org: str
    tenant: str
    status: str
    latency_ms: float
    reason: str | None
    total_count: int | None
    twins: JSON = strawberry.field(description="The partner's twins: id, model, properties.")


FAN_OUT_QUERY = (
    "query($m: String, $f: Int) { twins(model: $m, first: $f) "
    "{ totalCount edges { node { id model properties } } } }"
)


async def resolve_partner_twins(
    info: Info,
    model: str | None = None,
    first: int = 20,
    partners: list[str] | None = None,
) -> list[PartnerTwins]:
    registry = info.context.services.federation.registry
    known = await registry.partners()
    chosen = partners if partners is not None else sorted(known)
    targets = [(org, known[org].remote_tenant if org in known else None) for org in chosen]

    async def ask(org: str, tenant: str | None) -> PartnerTwins:
        if tenant is None:
            call = PartnerCall(org, "", "denied", 0.0, reason="no remote tenant configured")
            await _record(info.context, call)
        else:
            call = await _call(info.context, org, tenant, FAN_OUT_QUERY, {"m": model, "f": first})
        page = (call.data or {}).get("twins") or {}
        edges = page.get("edges") or [] if isinstance(page, dict) else []
        return PartnerTwins(
            org=org,
            tenant=call.tenant,
            status=call.status,
            latency_ms=round(call.latency_ms, 2),
            reason=call.reason,
            total_count=page.get("totalCount") if isinstance(page, dict) else None,
            twins=cast(JSON, [e.get("node") for e in edges if isinstance(e, dict)]),
        )

    return list(await asyncio.gather(*(ask(org, tenant) for org, tenant in targets)))


@strawberry.type
class FederationQueries:
    partner_twins: list[PartnerTwins] = strawberry.field(
        resolver=resolve_partner_twins,
        description="Twins from several partners at once (their configured tenant), in parallel.",
    )


class FederationStatus(SchemaExtension):
    """``extensions.federation``: every partner call of the request, and the calls partners
    made for it (marked ``via``)."""

    def get_results(self) -> dict[str, Any]:
        state = getattr(self.execution_context.context, "federation", None)
        if state is None or not state.calls:
            return {}
        entries: list[dict[str, Any]] = []
        for call in state.calls:
            entries.append(call.summary())
            for nested in _nested(call):
                entries.append({**nested, "via": call.org})
        return {"federation": entries}


def _nested(call: PartnerCall) -> list[dict[str, Any]]:
    nested = (call.extensions or {}).get("federation")
    return [e for e in nested if isinstance(e, dict)] if isinstance(nested, list) else []


@strawberry.type(description="A partner organisation (federation).")
class PartnerInfo:
    org: str
    base_url: str
    tenants: list[str] = strawberry.field(description="Our tenants it may query.")
    remote_tenant: str | None
    keys_pinned: bool
    source: str = strawberry.field(description="settings (declared) or api (registered here).")


@strawberry.input(description="A partner to register; keys are pinned or fetched from keysUrl.")
class PartnerInput:
    org: str
    base_url: str
    tenants: list[str] = strawberry.field(default_factory=list)
    remote_tenant: str | None = None
    keys: list[JSON] | None = None
    keys_url: str | None = None
    timeout_s: float = 2.0


async def resolve_partners(info: Info) -> list[PartnerInfo]:
    partners = await info.context.access.list_partners()
    return [
        PartnerInfo(
            org=p.org,
            base_url=p.base_url,
            tenants=sorted(p.tenants),
            remote_tenant=p.remote_tenant,
            keys_pinned=p.pinned is not None,
            source=p.source,
        )
        for p in partners
    ]


@strawberry.type
class PartnerQueries:
    partners: list[PartnerInfo] = strawberry.field(
        resolver=resolve_partners, description="Partner organisations (platform administrators)."
    )


@strawberry.type
class PartnerMutations:
    @strawberry.mutation(description="Register or replace a partner (platform administrators).")
    async def register_partner(self, info: Info, input: PartnerInput) -> str:
        document = {
            "org": input.org,
            "base_url": input.base_url,
            "tenants": input.tenants,
            "remote_tenant": input.remote_tenant,
            "keys": input.keys,
            "keys_url": input.keys_url,
            "timeout_s": input.timeout_s,
        }
        return await info.context.access.register_partner(document)

    @strawberry.mutation(description="Forget a partner registered over the API.")
    async def remove_partner(self, info: Info, org: str) -> bool:
        return await info.context.access.remove_partner(org)
