"""The policy decision point: Cedar decisions for twinmesh requests, failing closed.

:class:`PolicyEngine` answers, for one tenant's active policy set (from a
:class:`~twinmesh.policy.store.PolicyStore`, which caches the parsed sets and the schema):

* :meth:`~PolicyEngine.authorize` / :meth:`~PolicyEngine.require` for one request and
  :meth:`~PolicyEngine.authorize_batch` for many resources in one ``cedarpy`` call;
* :meth:`~PolicyEngine.denied_properties` / :meth:`~PolicyEngine.denied_property_writes`
  for property-level rules (one batched call per twin);
* :meth:`~PolicyEngine.twin_filter`, the push-down of a (principal, action)'s twin
  conditions into a read-plan predicate, from Cedar's partial evaluation with the resource
  unknown (translated by :mod:`twinmesh.policy.residual`);
* :meth:`~PolicyEngine.simulate`, a decision against any stored version, for the console.

Fail closed: a tenant without an active policy set, a principal of another tenant, any
exception from ``cedarpy`` and any evaluation error reported by Cedar all deny, with the
reason in ``Decision.errors``. Requests are checked against the schema, so an action a
principal type may not perform (a partner updating a twin) is an error, hence a deny.

Entities are built per request and stay small: the principal (its roles as parents), the
resources (with ``tenant`` set from the tenant being authorised), and a relationship's
source twin.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import cedarpy

from twinmesh.auth.principal import Principal
from twinmesh.errors import Forbidden
from twinmesh.policy.model import (
    DENY_ALL,
    NAMESPACE,
    Action,
    Decision,
    ResourceRef,
    TwinFilter,
)
from twinmesh.policy.residual import Family, translate_residuals
from twinmesh.policy.slicing import PolicySlicer
from twinmesh.policy.store import CompiledPolicies, PolicyStore

log = logging.getLogger(__name__)

# Which principal types each action applies to (mirrors policies/schema.cedarschema; a test
# checks the two agree). Used where Cedar cannot check it: partial evaluation.
PARTNER_ACTIONS: Final = frozenset({"readTwin", "traverse", "readProperty"})
TWIN_ACTIONS: Final = frozenset(
    {"readTwin", "createTwin", "updateTwin", "deleteTwin", "traverse", "readProperty",
     "writeProperty"}
)  # fmt: skip

_Request = tuple[Action, ResourceRef, Mapping[str, Any] | None]


def _uid(kind: str, entity_id: str) -> dict[str, str]:
    return {"type": f"{NAMESPACE}::{kind}", "id": entity_id}


def _uid_text(uid: Mapping[str, str]) -> str:
    """``Type::"id"``; ids Cedar's parser rejects make the call fail, hence deny."""
    return f"{uid['type']}::{json.dumps(uid['id'], ensure_ascii=False)}"


def principal_uid(principal: Principal) -> dict[str, str]:
    """The Cedar entity of a principal: ``Partner::"<org>"`` or ``User::"<subject>"``."""
    return _uid("Partner" if principal.kind == "partner" else "User", principal.subject)


def _principal_entities(tenant: str, principal: Principal) -> list[dict[str, Any]]:
    if principal.kind == "partner":
        return [{"uid": principal_uid(principal), "attrs": {"tenant": tenant}, "parents": []}]
    roles = sorted(principal.roles)
    user = {
        "uid": principal_uid(principal),
        "attrs": {"tenant": tenant, "kind": principal.kind},
        "parents": [_uid("Role", role) for role in roles],
    }
    return [user, *({"uid": _uid("Role", r), "attrs": {}, "parents": []} for r in roles)]


def _resource_entity(tenant: str, resource: ResourceRef) -> dict[str, Any]:
    attrs: dict[str, Any] = {**resource.attrs, "tenant": tenant}
    if resource.source is not None:
        attrs["source"] = {"__entity": _uid(resource.source.type, resource.source.id)}
    return {"uid": _uid(resource.type, resource.id), "attrs": attrs, "parents": []}


def _deny(error: str) -> Decision:
    return Decision(allowed=False, errors=(error,))


class PolicyEngine:
    """Cedar decisions per tenant over a :class:`PolicyStore`."""

    def __init__(self, store: PolicyStore) -> None:
        self._slicer = PolicySlicer()
        self.store = store

    # -- single and batched decisions ---------------------------------------------------------

    def authorize(
        self,
        tenant: str,
        principal: Principal,
        action: Action,
        resource: ResourceRef,
        context: Mapping[str, Any] | None = None,
    ) -> Decision:
        return self._decide(tenant, principal, [(action, resource, context)])[0]

    def require(
        self,
        tenant: str,
        principal: Principal,
        action: Action,
        resource: ResourceRef,
        context: Mapping[str, Any] | None = None,
    ) -> Decision:
        """:meth:`authorize`, raising :class:`Forbidden` on deny."""
        decision = self.authorize(tenant, principal, action, resource, context)
        if not decision.allowed:
            raise self.refusal(action, resource, decision)
        return decision

    @staticmethod
    def refusal(action: Action, resource: ResourceRef, decision: Decision) -> Forbidden:
        """The ``FORBIDDEN`` error for a denied decision."""
        return Forbidden(
            f"You may not {action} this {resource.type.lower()}.",
            details={"action": action, "policies": list(decision.policy_ids)},
        )

    def authorize_batch(
        self,
        tenant: str,
        principal: Principal,
        action: Action,
        resources: Sequence[ResourceRef],
        context: Mapping[str, Any] | None = None,
    ) -> list[Decision]:
        """One decision per resource, in order, from one ``cedarpy`` call."""
        return self._decide(tenant, principal, [(action, r, context) for r in resources])

    def simulate(
        self,
        tenant: str,
        principal: Principal,
        action: Action,
        resource: ResourceRef,
        context: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
    ) -> Decision:
        """The decision and deciding policy ids under ``version`` (default: the active set)."""
        return self._decide(tenant, principal, [(action, resource, context)], version=version)[0]

    # -- property-level rules -----------------------------------------------------------------

    def decides_by_attributes(self, tenant: str) -> bool:
        """Whether the active set never names a single twin or relationship, so decisions on
        twins depend only on their attributes (model, models, tenant) and may be shared by
        every twin of one model."""
        compiled = self.store.active(tenant)
        if compiled is None:
            return False
        text = compiled.version.text
        return 'Twin::"' not in text and 'Relationship::"' not in text

    def denied_properties(
        self,
        tenant: str,
        principal: Principal,
        twin: ResourceRef,
        property_names: Sequence[str],
    ) -> frozenset[str]:
        """The names (``prop`` or ``component/prop``) ``principal`` may not read on ``twin``."""
        return self._denied(tenant, principal, "readProperty", twin, property_names)

    def denied_property_writes(
        self,
        tenant: str,
        principal: Principal,
        twin: ResourceRef,
        property_names: Sequence[str],
    ) -> frozenset[str]:
        """The names ``principal`` may not write on ``twin`` (the caller raises FORBIDDEN)."""
        return self._denied(tenant, principal, "writeProperty", twin, property_names)

    def _denied(
        self,
        tenant: str,
        principal: Principal,
        action: Action,
        twin: ResourceRef,
        names: Sequence[str],
    ) -> frozenset[str]:
        unique = list(dict.fromkeys(names))
        if not unique:
            return frozenset()
        requests: list[_Request] = [(action, twin, {"property": n}) for n in unique]
        decisions = self._decide(tenant, principal, requests)
        return frozenset(n for n, d in zip(unique, decisions, strict=True) if not d.allowed)

    # -- push-down ----------------------------------------------------------------------------

    def twin_filter(
        self,
        tenant: str,
        principal: Principal,
        action: Action,
        family: Family,
        context: Mapping[str, Any] | None = None,
    ) -> TwinFilter:
        """The twins ``principal`` may ``action``, as a read-plan predicate (see
        :class:`~twinmesh.policy.model.TwinFilter`); any failure gives ``DENY_ALL``."""
        if action not in TWIN_ACTIONS:
            return TwinFilter(DENY_ALL, (f"{action} does not apply to twins",))
        if principal.kind == "partner" and action not in PARTNER_ACTIONS:
            return TwinFilter(DENY_ALL)  # the schema forbids it; a plain deny
        compiled, refusal = self._compiled(tenant, principal)
        if compiled is None:
            return TwinFilter(DENY_ALL, (refusal,))
        try:
            result = cedarpy.is_authorized_partial(
                {
                    # Partial evaluation takes entity uids as Cedar text only.
                    "principal": _uid_text(principal_uid(principal)),
                    "action": _uid_text(_uid("Action", action)),
                    "context": dict(context or {}),
                },
                compiled.policies,
                _principal_entities(tenant, principal),
                self.store.schema,
            )
            if result.diagnostics.errors:
                return TwinFilter(DENY_ALL, tuple(result.diagnostics.errors))
            if result.decision == cedarpy.Decision.Deny:
                return TwinFilter(DENY_ALL)
            return translate_residuals(result.residuals, tenant=tenant, family=family)
        except Exception as error:
            log.exception("policy partial evaluation failed (denying every twin)")
            return TwinFilter(DENY_ALL, (f"policy engine error: {type(error).__name__}",))

    # -- internals ----------------------------------------------------------------------------

    def _compiled(
        self, tenant: str, principal: Principal, version: int | None = None
    ) -> tuple[CompiledPolicies | None, str]:
        if principal.tenant != tenant:
            return None, "the principal belongs to another tenant"
        try:
            compiled = self.store.compiled(tenant, version)
        except Exception as error:
            return None, f"policy set unavailable: {type(error).__name__}"
        if compiled is None:
            return None, f"tenant {tenant!r} has no active policy set"
        try:
            return self._slicer.for_principal(compiled, principal), ""
        except Exception as error:
            return None, f"policy set unavailable: {type(error).__name__}"

    def _decide(
        self,
        tenant: str,
        principal: Principal,
        requests: Sequence[_Request],
        *,
        version: int | None = None,
    ) -> list[Decision]:
        if not requests:
            return []
        compiled, refusal = self._compiled(tenant, principal, version)
        if compiled is None:
            return [_deny(refusal)] * len(requests)
        try:
            entities: dict[tuple[str, str], dict[str, Any]] = {}
            for entity in _principal_entities(tenant, principal):
                entities[(entity["uid"]["type"], entity["uid"]["id"])] = entity
            for _, resource, _ in requests:
                for ref in (resource, resource.source):
                    if ref is not None:
                        entity = _resource_entity(tenant, ref)
                        entities.setdefault((entity["uid"]["type"], ref.id), entity)
            cedar_requests = [
                {
                    "principal": principal_uid(principal),
                    "action": _uid("Action", action),
                    "resource": _uid(resource.type, resource.id),
                    "context": dict(context or {}),
                }
                for action, resource, context in requests
            ]
            results = cedarpy.is_authorized_batch(
                cedar_requests, compiled.policies, list(entities.values()), self.store.schema
            )
            if len(results) != len(requests):
                raise RuntimeError("cedarpy returned a different number of results")
            return [self._decision(compiled, result) for result in results]
        except Exception as error:
            log.exception("policy evaluation failed (denying)")
            return [_deny(f"policy engine error: {type(error).__name__}")] * len(requests)

    @staticmethod
    def _decision(compiled: CompiledPolicies, result: cedarpy.AuthzResult) -> Decision:
        diagnostics = result.diagnostics
        annotations = diagnostics.id_annotations_by_reason
        ids = tuple(
            str(annotations.get(r) or compiled.ids.get(r) or r) for r in diagnostics.reasons
        )
        errors = tuple(str(e) for e in diagnostics.errors)
        return Decision(allowed=result.allowed and not errors, policy_ids=ids, errors=errors)


__all__ = ["PolicyEngine", "principal_uid"]
