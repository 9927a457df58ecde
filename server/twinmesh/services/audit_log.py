"""The audit log as a whole: signed checkpoints, exports, retention.

* :meth:`AuditLog.checkpoint` signs the records since the tenant's last checkpoint with the
  organisation key (periodically, from :meth:`AuditLog.run_checkpoints`, and at every export).
* :meth:`AuditLog.export` streams a contiguous range of a tenant's records with the stored
  checkpoints inside it, every public key (expired ones included: old checkpoints stay
  verifiable after rotation) and, last, a fresh checkpoint over exactly the exported range
  that also signs the header (the export's seal; not stored).
* :meth:`AuditLog.prune` applies retention: it signs a checkpoint up to the cut first, so the
  remaining chain starts from a signed hash and still verifies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from twinmesh.audit.checkpoints import Checkpoint, header_digest, sign_checkpoint
from twinmesh.audit.formats import ExportItem
from twinmesh.audit.records import ExportHeader, SealedRecord, utc_text
from twinmesh.domain import TenantId
from twinmesh.identity import Keyring
from twinmesh.services.audit import DEFAULT_READ_AUDIT, ReadAudit
from twinmesh.store.port import GraphStore

log = logging.getLogger("twinmesh.audit")

PAGE = 1000


@dataclass(frozen=True, slots=True)
class TenantAuditSettings:
    reads: ReadAudit = DEFAULT_READ_AUDIT
    retention_days: int | None = None


class AuditLog:
    """Checkpoints, exports and retention over the store's per-tenant chains."""

    def __init__(
        self,
        store: GraphStore,
        keyring: Keyring,
        tenants: Mapping[str, TenantAuditSettings] | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self._tenants = dict(tenants or {})
        self.active_tenants: set[str] = set(self._tenants)

    def settings(self, tenant: str) -> TenantAuditSettings:
        return self._tenants.get(tenant, TenantAuditSettings())

    def public_keys(self) -> dict[str, object]:
        """Every public key, expired ones included, for verifying any checkpoint."""
        return {"keys": [key.public_jwk() for key in reversed(self.keyring.keys)]}

    async def _record(self, tenant: TenantId, seq: int) -> SealedRecord | None:
        found = await self.store.read_audit(tenant, after_seq=seq - 1, through_seq=seq, limit=1)
        return found[0] if found else None

    def _sign(
        self,
        tenant: TenantId,
        first: SealedRecord,
        last: SealedRecord,
        *,
        export: str | None = None,
    ) -> Checkpoint:
        """A checkpoint over the records ``first..last`` (sealing an export if ``export``)."""
        now = datetime.now(UTC)
        return sign_checkpoint(
            tenant,
            from_seq=first.seq,
            from_prev_hash=orjson.loads(first.text)["prevHash"],
            to_seq=last.seq,
            to_hash=last.hash,
            key=self.keyring.signing_key(now),
            moment=now,
            export=export,
        )

    async def _keep(self, tenant: TenantId, first: int, last: int) -> Checkpoint | None:
        """Sign records ``first..last`` and keep the checkpoint in the store."""
        first_record, last_record = (
            await self._record(tenant, first),
            await self._record(tenant, last),
        )
        if first_record is None or last_record is None:
            return None
        checkpoint = self._sign(tenant, first_record, last_record)
        await self.store.add_checkpoint(tenant, checkpoint)
        return checkpoint

    async def checkpoint(self, tenant: TenantId) -> Checkpoint | None:
        """Sign the records since the last checkpoint; ``None`` when there are none."""
        head, _ = await self.store.audit_head(tenant)
        last = await self.store.last_checkpoint(tenant)
        start = last.to_seq + 1 if last else 1
        if head < start:
            return None
        first = await self.store.read_audit(tenant, after_seq=start - 1, through_seq=head, limit=1)
        return await self._keep(tenant, first[0].seq, head) if first else None

    async def export(
        self, tenant: TenantId, *, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[ExportItem]:
        """The export stream of the records with ``since <= time < until`` (and everything
        between the first and last of them, so the range has no gap)."""
        found = await self.store.audit_seq_range(
            tenant,
            since=utc_text(since) if since else "",
            until=utc_text(until) if until else "~",
        )
        first, last = found if found else (None, None)
        header = ExportHeader(
            tenant=tenant,
            exported_at=utc_text(datetime.now(UTC)),
            since=utc_text(since) if since else None,
            until=utc_text(until) if until else None,
            from_seq=first,
            to_seq=last,
            keys=self.public_keys(),
        )
        yield header
        if first is None or last is None:
            return
        checkpoints = await self.store.list_checkpoints(tenant, from_seq=first - 1, to_seq=last)
        by_end: dict[int, list[Checkpoint]] = {}
        for checkpoint in checkpoints:
            by_end.setdefault(checkpoint.to_seq, []).append(checkpoint)
        for checkpoint in by_end.pop(first - 1, []):
            yield checkpoint
        after = first - 1
        ends: list[SealedRecord] = []  # the first and the last record exported
        while after < last:
            page = await self.store.read_audit(
                tenant, after_seq=after, through_seq=last, limit=PAGE
            )
            if not page:
                break
            for record in page:
                yield record
                for checkpoint in by_end.pop(record.seq, []):
                    yield checkpoint
            ends = [ends[0] if ends else page[0], page[-1]]
            after = page[-1].seq
        if ends:
            yield self._sign(tenant, ends[0], ends[1], export=header_digest(header.as_json()))

    async def prune(self, tenant: TenantId, *, older_than: datetime) -> int:
        """Delete records older than ``older_than`` after signing a checkpoint at the cut."""
        found = await self.store.audit_seq_range(tenant, since="", until=utc_text(older_than))
        if found is None:
            return 0
        first, cut = found
        if await self._keep(tenant, first, cut) is None:
            return 0
        return await self.store.prune_audit(tenant, through_seq=cut)

    async def maintain(self, tenants: Iterable[str]) -> None:
        """One round of checkpoints and retention for ``tenants``."""
        for tenant in sorted(tenants):
            retention = self.settings(tenant).retention_days
            if retention is not None:
                cutoff = datetime.now(UTC) - timedelta(days=retention)
                pruned = await self.prune(TenantId(tenant), older_than=cutoff)
                if pruned:
                    log.info("audit retention pruned %d records of tenant %s", pruned, tenant)
            await self.checkpoint(TenantId(tenant))

    async def run_checkpoints(self, interval_s: float) -> None:
        """Forever: every ``interval_s``, maintain the tenants this process has audited."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.maintain(set(self.active_tenants))
            except Exception:  # a store outage must not end the loop; the next round retries
                log.exception("audit checkpoint round failed")
