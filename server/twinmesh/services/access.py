"""What one authenticated caller may do: every service call, authorised by the tenant's policies.

A :class:`TenantAccess` is built per request from the verified principal; the GraphQL layer
reaches the services only through it. Decisions come from the Cedar engine and fail closed:

* lists: the policy conditions for ``readTwin`` are pushed into the read plan, so pages,
  totals and cursors count only permitted twins; relationship expansions only reach twins the
  caller may both read and ``traverse``;
* single reads: a twin the caller may not read answers exactly like a missing one;
* properties the caller may not read are left out and reported (:attr:`denied_properties`);
  writes of properties it may not write are ``FORBIDDEN`` and change nothing;
* writes: ``createTwin`` / ``updateTwin`` / ``deleteTwin`` on the twin (a relationship is part
  of its source twin, so relationship writes need ``updateTwin`` on the source), model uploads
  and deletions need ``uploadModels`` / ``deleteModel``.

Every write is audited (:mod:`twinmesh.services.audit`): its event carries the decision and
goes to the store with the change, so both commit together; a denied or failed write is
recorded on its own, with the error code, before the error reaches the caller.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from twinmesh.audit.formats import ExportItem
from twinmesh.audit.records import AuditEvent
from twinmesh.auth import Principal
from twinmesh.domain import NewRelationship, NewTwin, Relationship, TenantId, Twin
from twinmesh.errors import Forbidden, NotFound, TwinmeshError
from twinmesh.federation.partners import Partner, partner_settings
from twinmesh.ontology import Interface
from twinmesh.policy import Decision, PolicyEngine, PolicyStore, PolicyVersion, ResourceRef
from twinmesh.policy.model import Action, DenyAll
from twinmesh.services.audit import RequestAudit, RequestInfo, actor_of
from twinmesh.services.models import ModelView
from twinmesh.services.patching import parse_patch
from twinmesh.services.tenants import TenantInfo
from twinmesh.store.plan import (
    AllOf,
    AnyOf,
    NodeSelection,
    Predicate,
    TwinListQuery,
    TwinLookup,
    TwinPage,
    TwinRow,
)

if TYPE_CHECKING:  # bootstrap imports this module
    from twinmesh.bootstrap import Services

NOTHING: Predicate = AnyOf(())  # matches no twin
T = TypeVar("T")


def _both(a: Predicate | None, b: Predicate | None) -> Predicate | None:
    if a is None or b is None:
        return a if b is None else b
    return AllOf((a, b))


def property_names(properties: Mapping[str, Any], components: Mapping[str, Any]) -> list[str]:
    """The names policies see: ``prop`` and ``component/prop``."""
    names = list(properties)
    for component, bag in components.items():
        if isinstance(bag, dict):
            names += [f"{component}/{name}" for name in bag]
    return names


def _without(document: Mapping[str, Any], denied: frozenset[str], prefix: str = "") -> Any:
    return {k: v for k, v in document.items() if f"{prefix}{k}" not in denied}


class TenantAccess:
    """The services as one caller of one tenant may use them."""

    def __init__(
        self, services: Services, principal: Principal, request: RequestInfo | None = None
    ) -> None:
        self.services = services
        self.principal = principal
        self.tenant = TenantId(principal.tenant)
        self.engine: PolicyEngine = services.policies
        self.denied_properties: dict[str, list[str]] = {}
        self._filters: dict[Action, Predicate | None] = {}
        self.audit = RequestAudit(
            services.store,
            self.tenant,
            actor_of(principal),
            request or RequestInfo.internal(),
            services.audit.settings(self.tenant).reads,
        )
        services.audit.active_tenants.add(self.tenant)

    # -- decisions ---------------------------------------------------------------------------

    def forget_decisions(self) -> None:
        """Drop the per-request policy filters (a long-lived subscription re-decides)."""
        self._filters.clear()

    async def _family(self) -> Callable[[str], tuple[str, ...]]:
        interfaces = await self.services.models.interfaces(self.tenant)

        def family(dtmi: str) -> tuple[str, ...]:
            return (dtmi, *sorted(i.id for i in interfaces.values() if dtmi in i.ancestors))

        return family

    async def _resource(self, twin_id: str, model: str) -> ResourceRef:
        interface = await self.services.models.interface(self.tenant, model)
        return ResourceRef.twin(twin_id, model, interface.ancestors if interface else ())

    def _require(
        self, action: Action, resource: ResourceRef, event: AuditEvent | None = None
    ) -> None:
        """Allow or raise ``FORBIDDEN``; the decision and its policies go on ``event``."""
        decision = self.engine.authorize(self.tenant, self.principal, action, resource)
        if event is not None:
            event.decided(decision.allowed, decision.policy_ids)
        if not decision.allowed:
            raise self.engine.refusal(action, resource, decision)

    async def _change(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        change: Callable[[AuditEvent], Awaitable[T]],
    ) -> T:
        """Run an audited change: ``change`` hands the event to the store with the change;
        when it raises, the denial or failure is recorded on its own and re-raised."""
        event = self.audit.event(action, resource_type, resource_id)
        try:
            return await change(event)
        except TwinmeshError as error:
            denied = isinstance(error, Forbidden)
            if denied:
                event.effect = "deny"
            await self.audit.record(event.failed("denied" if denied else "failure", error.code))
            raise

    async def _filter(self, action: Action) -> Predicate | None:
        """The pushed-down condition for ``action`` on twins (NOTHING when none is allowed),
        computed once per request."""
        if action not in self._filters:
            family = await self._family()
            found = self.engine.twin_filter(self.tenant, self.principal, action, family)
            self._filters[action] = NOTHING if isinstance(found.where, DenyAll) else found.where
        return self._filters[action]

    async def _neighbours(self) -> Predicate | None:
        """Twins a traversal may reach: readable and traversable."""
        return _both(await self._filter("readTwin"), await self._filter("traverse"))

    async def _guard(self, node: NodeSelection) -> NodeSelection:
        if not node.expansions:
            return node
        allowed = await self._neighbours()
        # Relationships to partners' twins stay visible to callers who may traverse at all;
        # the partner decides about its own twins when they are followed.
        remote = all([await self._filter(a) is not NOTHING for a in ("readTwin", "traverse")])
        guarded = [
            dataclasses.replace(
                e,
                where=_both(e.where, allowed),
                remote=remote and e.remote,
                node=await self._guard(e.node),
            )
            for e in node.expansions
        ]
        return NodeSelection(tuple(guarded))

    async def _redact(self, rows: Sequence[TwinRow]) -> None:
        """Leave out the properties the caller may not read, in the rows and all below them.

        When the policies decide by twin attributes only, one decision per (model, property)
        serves every twin of that model: a page costs a few policy evaluations, not one per
        twin and property.
        """
        found: list[TwinRow] = []

        def collect(row: TwinRow) -> None:
            found.append(row)
            for page in row.expansions.values():
                for _, neighbour in page.edges:
                    if neighbour is not None:
                        collect(neighbour)

        for row in rows:
            collect(row)
        shared = self.engine.decides_by_attributes(self.tenant)
        by_model: dict[str, list[str]] = {}
        if shared:
            for row in found:
                names = by_model.setdefault(row.twin.model, [])
                names += property_names(row.twin.properties, row.twin.components)
        denied_by_model: dict[str, frozenset[str]] = {}
        for model, names in by_model.items():
            resource = await self._resource("*", model)
            denied_by_model[model] = self.engine.denied_properties(
                self.tenant, self.principal, resource, names
            )
        for row in found:
            twin = row.twin
            if shared:
                denied = denied_by_model[twin.model]
            else:
                names = property_names(twin.properties, twin.components)
                resource = await self._resource(twin.id, twin.model)
                denied = self.engine.denied_properties(self.tenant, self.principal, resource, names)
            present = denied & set(property_names(twin.properties, twin.components))
            if not present:
                continue
            self.denied_properties[twin.id] = sorted(present)
            row.twin = dataclasses.replace(
                twin,
                properties=_without(twin.properties, present),
                components={
                    c: _without(bag, present, f"{c}/") if isinstance(bag, dict) else bag
                    for c, bag in twin.components.items()
                },
                metadata=_without(twin.metadata, present),
            )

    def _require_property_writes(self, resource: ResourceRef, names: Sequence[str]) -> None:
        denied = self.engine.denied_property_writes(self.tenant, self.principal, resource, names)
        if denied:
            raise Forbidden(
                "You may not write these properties; nothing was changed.",
                details={"deniedProperties": sorted(denied)},
            )

    # -- reads -------------------------------------------------------------------------------

    async def lookup_twin(self, query: TwinLookup) -> TwinRow | None:
        row = await self.services.reads.lookup(
            self.tenant, dataclasses.replace(query, node=await self._guard(query.node))
        )
        if row is None:
            return None
        resource = await self._resource(row.twin.id, row.twin.model)
        decision = self.engine.authorize(self.tenant, self.principal, "readTwin", resource)
        await self.audit.read(
            "readTwin", "Twin", row.twin.id, allowed=decision.allowed, policies=decision.policy_ids
        )
        if not decision.allowed:
            return None  # answers like a twin that does not exist
        await self._redact([row])
        return row

    async def get_twin(self, twin_id: str) -> Twin | None:
        row = await self.lookup_twin(TwinLookup(twin_id))
        return row.twin if row else None

    async def list_twins(self, query: TwinListQuery) -> TwinPage:
        readable = await self._filter("readTwin")
        await self.audit.read("listTwins", "Twin", "*", allowed=readable is not NOTHING)
        if readable is NOTHING:
            return TwinPage(rows=[], has_next=False, total=0 if query.total else None)
        page = await self.services.reads.list(
            self.tenant,
            dataclasses.replace(
                query, where=_both(query.where, readable), node=await self._guard(query.node)
            ),
        )
        await self._redact(page.rows)
        return page

    async def model_family(self, model: str, *, exact: bool) -> tuple[str, ...]:
        return await self.services.reads.model_family(self.tenant, model, exact=exact)

    async def list_models(self) -> list[ModelView]:
        return await self.services.models.list(self.tenant)

    async def get_model(self, model_id: str) -> ModelView | None:
        return await self.services.models.get(self.tenant, model_id)

    # -- model writes ------------------------------------------------------------------------

    async def upload_models(self, documents: Sequence[Any]) -> list[ModelView]:
        ids = [d.get("@id") if isinstance(d, dict) else None for d in documents]
        names = [dtmi if isinstance(dtmi, str) else "" for dtmi in ids]

        async def upload(event: AuditEvent) -> list[ModelView]:
            event.details["models"] = names[:100]
            for dtmi in names:
                self._require("uploadModels", ResourceRef.model(dtmi), event)
            return await self.services.models.upload(self.tenant, documents, audit=event)

        return await self._change("uploadModels", "Model", names[0] if names else "", upload)

    async def decommission_model(self, model_id: str) -> ModelView:
        async def decommission(event: AuditEvent) -> ModelView:
            self._require("deleteModel", ResourceRef.model(model_id), event)
            return await self.services.models.decommission(self.tenant, model_id, audit=event)

        return await self._change("decommissionModel", "Model", model_id, decommission)

    async def delete_model(self, model_id: str) -> None:
        async def delete(event: AuditEvent) -> None:
            self._require("deleteModel", ResourceRef.model(model_id), event)
            await self.services.models.delete(self.tenant, model_id, audit=event)

        await self._change("deleteModel", "Model", model_id, delete)

    # -- twin writes -------------------------------------------------------------------------

    async def create_twin(self, twin: NewTwin) -> Twin:
        async def create(event: AuditEvent) -> Twin:
            interface = await self.services.models.require_active(self.tenant, twin.model)
            resource = ResourceRef.twin(twin.id, twin.model, interface.ancestors)
            self._require("createTwin", resource, event)
            names = property_names(twin.properties, twin.components)
            self._require_property_writes(resource, names)
            return await self.services.twins.create_twin(self.tenant, twin, audit=event)

        return await self._change("createTwin", "Twin", twin.id, create)

    async def update_twin(
        self, twin_id: str, patch: Sequence[Mapping[str, Any]], *, if_match: str | None
    ) -> Twin:
        async def update(event: AuditEvent) -> Twin:
            parse_patch(patch)  # malformed patches fail before any decision

            def check(current: Twin, interface: Interface, touched: frozenset[str]) -> None:
                resource = ResourceRef.twin(current.id, current.model, interface.ancestors)
                event.details["properties"] = sorted(touched)
                self._require("updateTwin", resource, event)
                self._require_property_writes(resource, sorted(touched))

            return await self.services.twins.update_twin(
                self.tenant, twin_id, patch, if_match=if_match, authorize=check, audit=event
            )

        return await self._change("updateTwin", "Twin", twin_id, update)

    async def delete_twin(self, twin_id: str, *, if_match: str | None, cascade: bool) -> None:
        async def delete(event: AuditEvent) -> None:
            event.details["cascade"] = cascade
            twin = await self.services.twins.get_twin(self.tenant, twin_id)
            if twin is not None:  # a missing twin gets the service's own NOT_FOUND
                self._require("deleteTwin", await self._resource(twin.id, twin.model), event)
            await self.services.twins.delete_twin(
                self.tenant, twin_id, if_match=if_match, cascade=cascade, audit=event
            )

        await self._change("deleteTwin", "Twin", twin_id, delete)

    async def _require_source_update(self, source_id: str, event: AuditEvent) -> None:
        event.details["source"] = source_id
        source = await self.services.twins.get_twin(self.tenant, source_id)
        if source is not None:
            self._require("updateTwin", await self._resource(source.id, source.model), event)

    async def create_relationship(self, rel: NewRelationship) -> Relationship:
        rel = dataclasses.replace(rel, id=rel.id or uuid.uuid4().hex)

        async def create(event: AuditEvent) -> Relationship:
            event.details["name"] = rel.name
            event.details["target"] = rel.target
            await self._require_source_update(rel.source_id, event)
            return await self.services.twins.create_relationship(self.tenant, rel, audit=event)

        return await self._change("createRelationship", "Relationship", rel.id or "", create)

    async def update_relationship(
        self,
        source_id: str,
        rel_id: str,
        patch: Sequence[Mapping[str, Any]],
        *,
        if_match: str | None,
    ) -> Relationship:
        async def update(event: AuditEvent) -> Relationship:
            await self._require_source_update(source_id, event)
            return await self.services.twins.update_relationship(
                self.tenant, source_id, rel_id, patch, if_match=if_match, audit=event
            )

        return await self._change("updateRelationship", "Relationship", rel_id, update)

    async def delete_relationship(
        self, source_id: str, rel_id: str, *, if_match: str | None
    ) -> None:
        async def delete(event: AuditEvent) -> None:
            await self._require_source_update(source_id, event)
            await self.services.twins.delete_relationship(
                self.tenant, source_id, rel_id, if_match=if_match, audit=event
            )

        await self._change("deleteRelationship", "Relationship", rel_id, delete)

    # -- policy administration ---------------------------------------------------------------

    async def _administer(self, what: str) -> PolicyStore:
        """Require ``administerPolicies``; a refusal is audited like any denial."""
        event = self.audit.event(what, "PolicySet", "policies")
        try:
            self._require("administerPolicies", ResourceRef.policy_set(), event)
        except Forbidden as denied:
            await self.audit.record(event.failed("denied", denied.code))
            raise
        await self.services.policy_versions.refresh(self.tenant)
        return self.engine.store

    async def policy_versions(self) -> list[PolicyVersion]:
        store = await self._administer("listPolicies")
        return store.versions(self.tenant)

    async def active_policy_version(self) -> int | None:
        compiled = (await self._administer("listPolicies")).active(self.tenant)
        return compiled.version.version if compiled else None

    async def validate_policies(self, text: str) -> list[str]:
        return (await self._administer("validatePolicies")).validate(text)

    async def _activate(self, action: str, text: str, source: str) -> int:
        async def activate(event: AuditEvent) -> int:
            self._require("administerPolicies", ResourceRef.policy_set(), event)
            event.details["source"] = source
            return await self.services.policy_versions.activate(
                self.tenant, text, source=source, audit=event
            )

        return await self._change(action, "PolicySet", "policies", activate)

    async def activate_policies(self, text: str) -> int:
        return await self._activate("activatePolicies", text, "api")

    async def rollback_policies(self, version: int) -> int:
        store = await self._administer("rollbackPolicies")
        if not any(v.version == version for v in store.versions(self.tenant)):
            raise NotFound(f"This tenant has no policy version {version}.")
        return await self._activate(
            "rollbackPolicies", store.version(self.tenant, version).text, "rollback"
        )

    # -- platform administration (tenants) ---------------------------------------------------

    async def list_tenants(self) -> list[TenantInfo]:
        return await self.services.tenants.list(self.principal)

    async def create_tenant(self, tenant: str) -> TenantInfo:
        async def create(event: AuditEvent) -> TenantInfo:
            return await self.services.tenants.create(self.principal, tenant, audit=event)

        return await self._change("createTenant", "Tenant", tenant, create)

    async def set_tenant_disabled(self, tenant: str, disabled: bool) -> TenantInfo:
        async def update(event: AuditEvent) -> TenantInfo:
            return await self.services.tenants.set_disabled(
                self.principal, tenant, disabled, audit=event
            )

        action = "disableTenant" if disabled else "enableTenant"
        return await self._change(action, "Tenant", tenant, update)

    # -- platform administration (partners) --------------------------------------------------

    async def list_partners(self) -> list[Partner]:
        self.services.tenants.require_admin(self.principal)
        return list((await self.services.federation.registry.partners()).values())

    async def register_partner(self, document: dict[str, Any]) -> str:
        registry = self.services.federation.registry

        async def register(event: AuditEvent) -> str:
            self.services.tenants.require_admin(self.principal)
            settings = partner_settings(document)
            Partner.of(settings, "api")  # its keys must parse
            event.details["tenants"] = sorted(settings.tenants)
            await self.services.store.save_partner(registry.record(settings), audit=event)
            registry.forget_cache()
            return settings.org

        return await self._change("registerPartner", "Partner", str(document.get("org")), register)

    async def remove_partner(self, org: str) -> bool:
        registry = self.services.federation.registry

        async def remove(event: AuditEvent) -> bool:
            self.services.tenants.require_admin(self.principal)
            removed = await self.services.store.delete_partner(org, audit=event)
            registry.forget_cache()
            return removed

        return await self._change("removePartner", "Partner", org, remove)

    # -- audit log ---------------------------------------------------------------------------

    async def export_audit(
        self, *, since: datetime | None, until: datetime | None
    ) -> AsyncIterator[ExportItem]:
        """This tenant's audit export (``exportAudit`` on the audit log); the export itself is
        recorded first, so it is part of what it exports."""
        event = self.audit.event("exportAudit", "AuditLog", "log")
        event.details["since"] = since.isoformat() if since else ""
        event.details["until"] = until.isoformat() if until else ""
        try:
            self._require("exportAudit", ResourceRef.audit_log(), event)
        except Forbidden as denied:
            await self.audit.record(event.failed("denied", denied.code))
            raise
        await self.audit.record(event)
        return self.services.audit.export(self.tenant, since=since, until=until)

    async def simulate(
        self,
        principal: Principal,
        action: Action,
        resource: ResourceRef,
        context: Mapping[str, Any] | None = None,
        version: int | None = None,
    ) -> Decision:
        """The decision for another principal of this tenant, with the deciding policies."""
        await self._administer("simulatePolicies")
        if resource.type == "Twin" and not resource.attrs.get("models"):
            twin = await self.services.twins.get_twin(self.tenant, resource.id)
            if twin is None:
                raise NotFound(
                    f"No twin with id {resource.id!r} exists; give a model to simulate a new one."
                )
            resource = await self._resource(twin.id, twin.model)
        simulated = dataclasses.replace(principal, tenant=self.tenant)
        return self.engine.simulate(
            self.tenant, simulated, action, resource, context, version=version
        )
