"""Policy versions kept in the graph store, shared by every replica and kept across restarts.

The store holds each tenant's numbered versions (the newest is active); each process mirrors
them into its :class:`~twinmesh.policy.PolicyStore`, which caches the compiled set. A process
checks the store's newest version number at most once per ``refresh_interval_s`` per tenant,
so an activation on one replica is in force on every replica within that interval.

Policy folders on disk still hot-reload: when a tenant's folder changes, its text becomes a new
version (source ``disk``), once, however many replicas notice. An API activation stays in force
until the next edit of the folder, restarts included: a restart adds no version unless the
folder differs from the last version that came from disk.
"""

from __future__ import annotations

import hashlib
import time

from twinmesh.audit.records import SYSTEM, AuditEvent
from twinmesh.domain import TenantId
from twinmesh.errors import ValidationFailed
from twinmesh.policy import PolicyStore
from twinmesh.services.audit import RequestAudit, RequestInfo
from twinmesh.store.port import GraphStore

REFRESH_INTERVAL_S = 1.0


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PolicyVersions:
    """Activations through the store; the in-process policy cache kept in step with it."""

    def __init__(
        self,
        store: GraphStore,
        policies: PolicyStore,
        *,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
    ) -> None:
        self.store = store
        self.policies = policies
        self.refresh_interval_s = refresh_interval_s
        self._checked: dict[str, float] = {}

    async def refresh(self, tenant: TenantId, *, force: bool = False) -> None:
        """Load the tenant's versions from the store when the store has another newest
        version than this process (or always, with ``force``)."""
        now = time.monotonic()
        if not force and now - self._checked.get(tenant, -1e9) < self.refresh_interval_s:
            return
        self._checked[tenant] = now
        if not force:
            latest = await self.store.latest_policy_version(tenant)
            if latest is None or latest == self.policies.latest_version(tenant):
                return
        self.policies.install(tenant, await self.store.list_policy_versions(tenant))

    async def activate(
        self, tenant: TenantId, text: str, *, source: str, audit: AuditEvent | None
    ) -> int:
        """Validate, store as the next version (with its audit record) and activate."""
        errors = self.policies.validate(text)
        if errors:
            raise ValidationFailed(
                "The policy set does not validate against the schema.",
                details={"errors": errors},
            )
        stored = await self.store.add_policy_version(
            tenant, text=text, sha256=_sha256(text), source=source, audit=audit
        )
        await self.refresh(tenant, force=True)
        return stored.version

    async def publish_disk(self, tenant: TenantId, text: str) -> bool:
        """Store a policy folder's text as a new version unless it is the last one that came
        from disk (or a store with no versions gets it); whether a version was added."""
        versions = await self.store.list_policy_versions(tenant)
        from_disk = [v for v in versions if v.source == "disk"]
        if from_disk and from_disk[-1].sha256 == _sha256(text):
            return False
        if self.policies.validate(text):
            return False  # the folder's errors are in PolicyStore.load_errors
        audit = RequestAudit(self.store, tenant, SYSTEM, RequestInfo.internal())
        event = audit.event("activatePolicies", "PolicySet", "policies")
        event.details["source"] = "disk"
        await self.activate(tenant, text, source="disk", audit=event)
        return True

    async def _publish_folder(self, tenant: str) -> None:
        text = self.policies.disk_text(tenant)
        if text is not None:
            await self.publish_disk(TenantId(tenant), text)
        await self.refresh(TenantId(tenant), force=True)

    async def load(self) -> None:
        """At start-up: publish every policy folder that changed, then load every tenant."""
        for tenant in self.policies.tenants():
            await self._publish_folder(tenant)

    async def reload_changed_folders(self) -> None:
        """Hot reload: publish the folders whose files changed since the last look."""
        for tenant in self.policies.reload_if_changed():
            await self._publish_folder(tenant)

    async def adopt(self, tenant: TenantId, template: str) -> None:
        """Give a tenant with no versions the template folder's policy set (development)."""
        if self.policies.latest_version(tenant) is not None:
            return
        await self.refresh(tenant, force=True)
        text = self.policies.disk_text(template)
        if self.policies.latest_version(tenant) is None and text is not None:
            await self.publish_disk(tenant, text)
