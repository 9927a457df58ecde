"""Policy administration over GraphQL (for the console): versions, validate, activate, roll
back, simulate. Every field needs ``administerPolicies`` on the tenant's policy set."""

from __future__ import annotations

from datetime import datetime

import strawberry

from twinmesh.auth import Principal
from twinmesh.errors import ValidationFailed
from twinmesh.graphql.context import Info
from twinmesh.policy import ACTIONS, ResourceRef
from twinmesh.policy.model import Action


@strawberry.type(description="One version of the tenant's policy set.")
class PolicySetVersion:
    version: int
    source: str = strawberry.field(description="disk, api or rollback.")
    created_at: datetime
    sha256: str
    policy_ids: list[str]
    text: str
    active: bool


@strawberry.type(description="The tenant's policy set: every version, the active one marked.")
class PolicySets:
    active_version: int | None
    versions: list[PolicySetVersion]


@strawberry.type(description="What the policies decide for a request, and which decided.")
class PolicyDecision:
    allowed: bool
    policy_ids: list[str] = strawberry.field(description="The @id of the deciding policies.")
    errors: list[str]


@strawberry.input(description="The principal to simulate: a user with roles, or a partner.")
class SimulatedPrincipal:
    subject: str
    roles: list[str] = strawberry.field(default_factory=list)
    partner: bool = False


@strawberry.input(description="The resource to simulate; twins are looked up by id.")
class SimulatedResource:
    type: str = strawberry.field(description="Twin, Model, PolicySet or AuditLog.")
    id: str
    model: str | None = strawberry.field(default=None, description="For a twin not yet stored.")


def _resource(given: SimulatedResource) -> ResourceRef:
    if given.type == "Twin":  # without a model, the stored twin's model is looked up
        return (
            ResourceRef.twin(given.id, given.model)
            if given.model
            else ResourceRef("Twin", given.id)
        )
    if given.type == "Model":
        return ResourceRef.model(given.id)
    if given.type == "PolicySet":
        return ResourceRef.policy_set()
    if given.type == "AuditLog":
        return ResourceRef.audit_log()
    raise ValidationFailed("resource.type is one of Twin, Model, PolicySet, AuditLog.")


def _action(name: str) -> Action:
    if name not in ACTIONS:
        raise ValidationFailed(
            f"Unknown action {name[:60]!r}; use one of {', '.join(sorted(ACTIONS))}."
        )
    action: Action = name
    return action


async def resolve_policy_sets(info: Info) -> PolicySets:
    access = info.context.access
    active = await access.active_policy_version()
    return PolicySets(
        active_version=active,
        versions=[
            PolicySetVersion(
                version=v.version,
                source=v.source,
                created_at=v.created_at,
                sha256=v.sha256,
                policy_ids=list(v.policy_ids),
                text=v.text,
                active=v.version == active,
            )
            for v in await access.policy_versions()
        ],
    )


async def resolve_simulate(
    info: Info,
    principal: SimulatedPrincipal,
    action: str,
    resource: SimulatedResource,
    property: str | None = None,
    version: int | None = None,
) -> PolicyDecision:
    simulated = Principal(
        tenant=info.context.tenant,
        subject=principal.subject,
        roles=frozenset(principal.roles),
        client_id=None,
        kind="partner" if principal.partner else "user",
        token_id=None,
    )
    context = {"property": property} if property is not None else None
    decision = await info.context.access.simulate(
        simulated, _action(action), _resource(resource), context, version
    )
    return PolicyDecision(
        allowed=decision.allowed,
        policy_ids=list(decision.policy_ids),
        errors=list(decision.errors),
    )


@strawberry.type
class PolicyQueries:
    policy_sets: PolicySets = strawberry.field(
        resolver=resolve_policy_sets, description="The tenant's policy set versions."
    )
    simulate: PolicyDecision = strawberry.field(
        resolver=resolve_simulate,
        description="Decide a request as the policies would (the active set, or a version).",
    )


@strawberry.type
class PolicyMutations:
    @strawberry.mutation(description="Check a candidate policy set; the problems, if any.")
    async def validate_policy_set(self, info: Info, text: str) -> list[str]:
        return await info.context.access.validate_policies(text)

    @strawberry.mutation(description="Validate and activate a policy set; its version.")
    async def activate_policy_set(self, info: Info, text: str) -> int:
        return await info.context.access.activate_policies(text)

    @strawberry.mutation(description="Activate an earlier version again (as a new version).")
    async def rollback_policy_set(self, info: Info, version: int) -> int:
        return await info.context.access.rollback_policies(version)
