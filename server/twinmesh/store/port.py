"""The GraphStore port: what the core needs from a twin graph database.

Every method takes the tenant first; adapters apply it in one place so no call can reach
another tenant's data. Every write takes an optional ``audit`` event, which the adapter appends
to the tenant's audit chain in the write's own transaction (see :mod:`twinmesh.audit.records`):
the change and its record commit together or not at all. Services always pass one; ``None`` is
for tests of the store itself and for bootstrapping. Writes that carry ``if_match`` raise
:class:`~twinmesh.errors.Conflict` on a stale etag and change nothing. Adapters translate their
driver's failures into :class:`~twinmesh.errors.StoreUnavailable` and never let query text
reach an error message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeAlias

from twinmesh.audit.checkpoints import Checkpoint
from twinmesh.audit.records import AuditEvent, SealedRecord
from twinmesh.domain import (
    JSONObject,
    NewModel,
    NewRelationship,
    NewTwin,
    PartnerRecord,
    Relationship,
    StoredModel,
    StoredPolicyVersion,
    TenantId,
    TenantRecord,
    Twin,
    TwinUpdate,
)
from twinmesh.store.plan import TwinListQuery, TwinLookup, TwinPage, TwinRow

# Called with (statement text, parameters) before each statement an adapter sends; used to
# count round trips and to prove request data only ever travels as parameters.
StatementObserver: TypeAlias = Callable[[str, Mapping[str, Any]], None]


class GraphStore(Protocol):
    """Async, tenant-scoped storage of twins and relationships."""

    async def open(self) -> None:
        """Connect and set up the schema (idempotent)."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers a trivial query."""

    async def create_twin(
        self, tenant: TenantId, twin: NewTwin, *, audit: AuditEvent | None = None
    ) -> Twin:
        """Store a new twin; ``Conflict`` if the id is taken in this tenant."""

    async def get_twin(self, tenant: TenantId, twin_id: str) -> Twin | None:
        """The twin, or ``None`` if this tenant has no twin with that id."""

    async def replace_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        *,
        properties: JSONObject,
        components: JSONObject,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> Twin:
        """Replace a twin's property and component documents; new etag and ``updated_at``."""

    async def patch_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        apply: Callable[[Twin], TwinUpdate],
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> Twin:
        """Read-modify-write one twin under its write lock: no concurrent update is lost.

        Inside one write transaction the adapter locks the twin, checks ``if_match``, calls
        ``apply`` with the current twin and stores the documents it returns with a new etag,
        ``updated_at`` and metadata (:func:`~twinmesh.domain.stamp_metadata`, stamping what
        ``touched`` names). ``apply`` must be pure (an adapter may call it again when it
        retries a transient failure); whatever it raises rolls the transaction back and
        propagates. ``NotFound`` if this tenant has no such twin, ``Conflict`` on a stale etag.
        """

    async def delete_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        *,
        if_match: str | None = None,
        cascade: bool = False,
        audit: AuditEvent | None = None,
    ) -> None:
        """Delete a twin. While it has outgoing or incoming relationships this is a
        ``Conflict`` unless ``cascade``, which deletes them in the same transaction."""

    async def create_relationship(
        self, tenant: TenantId, rel: NewRelationship, *, audit: AuditEvent | None = None
    ) -> Relationship:
        """Store a relationship; the source (and a local target) must exist."""

    async def list_relationships(
        self, tenant: TenantId, source_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        """Outgoing relationships of a twin, ordered by id."""

    async def list_incoming_relationships(
        self, tenant: TenantId, target_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        """Relationships whose target is the twin, ordered by (source id, id)."""

    async def delete_relationship(
        self,
        tenant: TenantId,
        source_id: str,
        rel_id: str,
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> None:
        """Delete one relationship of a source twin."""

    async def patch_relationship(
        self,
        tenant: TenantId,
        source_id: str,
        rel_id: str,
        apply: Callable[[Relationship], JSONObject],
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> Relationship:
        """Replace a relationship's properties with ``apply(current)`` under the source twin's
        write lock, with a new etag; ``apply`` is pure and may raise to roll back."""

    async def add_models(
        self, tenant: TenantId, models: Sequence[NewModel], *, audit: AuditEvent | None = None
    ) -> list[StoredModel]:
        """Store a batch of models atomically; ``Conflict`` (naming the ids) if any exists."""

    async def list_models(self, tenant: TenantId) -> list[StoredModel]:
        """Every model of the tenant, ordered by id."""

    async def get_model(self, tenant: TenantId, model_id: str) -> StoredModel | None:
        """One model, or ``None``."""

    async def decommission_model(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> StoredModel:
        """Mark a model decommissioned (idempotent); ``NotFound`` if absent."""

    async def delete_model(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> None:
        """Delete a model; ``ModelInUse`` while a twin of the tenant uses it."""

    async def lookup_twin(self, tenant: TenantId, query: TwinLookup) -> TwinRow | None:
        """One twin with its selected expansions, in one statement; ``None`` if absent."""

    async def list_twins(self, tenant: TenantId, query: TwinListQuery) -> TwinPage:
        """A filtered, ordered page of twins with expansions and totals, in one statement."""

    async def import_batch(
        self,
        tenant: TenantId,
        twins: Sequence[NewTwin],
        relationships: Sequence[NewRelationship],
        *,
        audit: AuditEvent | None = None,
    ) -> None:
        """Bulk-load twins, then relationships, in one transaction: all of it, or nothing.

        Each twin and relationship is stored exactly as :meth:`create_twin` and
        :meth:`create_relationship` store it (fresh etags, metadata stamped at one moment for
        the whole batch). A relationship's source and local target may be in the batch or
        already stored. ``Conflict`` if a twin id is taken or repeated, or a source already
        has (or the batch repeats) a relationship id; ``NotFound`` if a source or local target
        exists nowhere. No model validation: callers validate as the services do.
        """

    async def save_tenant(self, record: TenantRecord, *, audit: AuditEvent | None = None) -> None:
        """Create or update a platform tenant record (platform data, not tenant-scoped)."""

    async def get_tenant(self, tenant: TenantId) -> TenantRecord | None:
        """The platform record of a tenant, or ``None``."""

    async def list_tenants(self) -> list[TenantRecord]:
        """Every platform tenant record, ordered by id."""

    # -- audit chain (per tenant) -------------------------------------------------------------

    async def append_audit(
        self, tenant: TenantId, events: Sequence[AuditEvent]
    ) -> list[SealedRecord]:
        """Append events that record no store change (denials, failures, reads) in one
        transaction, after the chain head."""

    async def audit_head(self, tenant: TenantId) -> tuple[int, str]:
        """(sequence number, hash) of the tenant's last record; ``(0, GENESIS)`` before any."""

    async def read_audit(
        self, tenant: TenantId, *, after_seq: int, through_seq: int, limit: int
    ) -> list[SealedRecord]:
        """Up to ``limit`` records with ``after_seq < seq <= through_seq``, in order."""

    async def audit_seq_range(
        self, tenant: TenantId, *, since: str, until: str
    ) -> tuple[int, int] | None:
        """(first seq with time >= since, last seq with time < until), or ``None`` if empty.

        Times are the records' UTC text; the range between them is exported whole, so a
        clock that stepped backwards never leaves a gap in the chain."""

    async def prune_audit(self, tenant: TenantId, *, through_seq: int) -> int:
        """Delete records up to ``through_seq`` (after a checkpoint over them); how many."""

    async def add_checkpoint(self, tenant: TenantId, checkpoint: Checkpoint) -> None:
        """Keep a signed checkpoint."""

    async def list_checkpoints(
        self, tenant: TenantId, *, from_seq: int, to_seq: int
    ) -> list[Checkpoint]:
        """Checkpoints whose ``to_seq`` lies in [from_seq, to_seq], ordered by ``to_seq``."""

    async def last_checkpoint(self, tenant: TenantId) -> Checkpoint | None:
        """The checkpoint with the highest ``to_seq``."""

    # -- policy versions (per tenant; the newest version is the active one) -------------------

    async def add_policy_version(
        self,
        tenant: TenantId,
        *,
        text: str,
        sha256: str,
        source: str,
        audit: AuditEvent | None = None,
    ) -> StoredPolicyVersion:
        """Store the next numbered version, which becomes active; sets the event's
        ``details["version"]`` before sealing it."""

    async def list_policy_versions(self, tenant: TenantId) -> list[StoredPolicyVersion]:
        """Every version, oldest first."""

    async def latest_policy_version(self, tenant: TenantId) -> int | None:
        """The active (newest) version number, or ``None`` when there is none."""

    # -- federation (platform data) -----------------------------------------------------------

    async def remember_nonce(self, org: str, nonce: str, expires_at: datetime) -> bool:
        """Record a signed request's nonce until ``expires_at``; ``False`` when ``org`` used it
        before (a replay). Shared by every replica and kept across restarts."""

    async def save_partner(self, record: PartnerRecord, *, audit: AuditEvent | None = None) -> None:
        """Create or replace a partner organisation registered over the API."""

    async def delete_partner(self, org: str, *, audit: AuditEvent | None = None) -> bool:
        """Remove a registered partner; whether it existed."""

    async def list_partners(self) -> list[PartnerRecord]:
        """Every partner registered over the API, ordered by org."""
