"""Only the policies that can apply to a principal: sliced by principal scope, cached.

Cedar considers a policy only when the request's principal matches the policy's principal
scope (``principal``, ``== User::"x"``, ``in Role::"r"``, ``is Partner``, ``is User in
Role::"r"``). cedarpy's evaluation cost grows with the number of policies in the set, so a
tenant with hundreds of rules for other roles made every decision slow. Evaluating against the
sub-set whose scope matches gives the same decisions (scope-mismatched policies never
contribute) at the cost of the caller's own rules. Hand-written because Cedar has no slicing
API; templates are kept whole (conservative).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import cedarpy

from twinmesh.auth.principal import Principal
from twinmesh.policy.model import NAMESPACE
from twinmesh.policy.store import CompiledPolicies

MAX_SLICES = 1024


def _matches(scope: dict[str, Any], kind: str, subject: str, roles: frozenset[str]) -> bool:
    op = scope.get("op")
    me = {"type": f"{NAMESPACE}::{kind}", "id": subject}
    parents = {(f"{NAMESPACE}::Role", r) for r in roles} if kind == "User" else set()

    def is_me_or_parent(entity: dict[str, Any]) -> bool:
        key = (entity.get("type"), entity.get("id"))
        return key == (me["type"], me["id"]) or key in parents

    if op == "All":
        return True
    if op == "==":
        entity = scope.get("entity", {})
        return (entity.get("type"), entity.get("id")) == (me["type"], me["id"])
    if op == "in":
        return is_me_or_parent(scope.get("entity", {}))
    if op == "is":
        if scope.get("entity_type") != me["type"]:
            return False
        within = scope.get("in")
        return within is None or is_me_or_parent(within.get("entity", {}))
    return True  # slots and anything unknown: keep the policy


class PolicySlicer:
    """Per (policy set version, principal) the sub-set of policies that can apply."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[Any, ...], CompiledPolicies] = OrderedDict()

    def for_principal(self, compiled: CompiledPolicies, principal: Principal) -> CompiledPolicies:
        kind = "Partner" if principal.kind == "partner" else "User"
        key = (id(compiled.policies), compiled.version.sha256, kind, principal.subject,
               principal.roles)  # fmt: skip
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        est = json.loads(cedarpy.policies_to_json_str(compiled.version.text))
        static = est.get("staticPolicies", {})
        kept = {
            pid: policy
            for pid, policy in static.items()
            if _matches(policy.get("principal", {}), kind, principal.subject, principal.roles)
        }
        if est.get("templates") or len(kept) == len(static):
            sliced = compiled
        else:
            est["staticPolicies"] = kept
            text = cedarpy.policies_from_json_str(json.dumps(est)) if kept else ""
            sliced = CompiledPolicies(
                compiled.version, cedarpy.PolicySet.from_str(text), compiled.ids
            )
        self._cache[key] = sliced
        if len(self._cache) > MAX_SLICES:
            self._cache.popitem(last=False)
        return sliced
