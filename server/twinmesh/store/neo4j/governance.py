"""Governance data in Neo4j: audit chain, checkpoints, policy versions, tenant records."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from neo4j import AsyncManagedTransaction

from twinmesh.audit.checkpoints import Checkpoint
from twinmesh.audit.records import GENESIS, AuditEvent, SealedRecord
from twinmesh.domain import PartnerRecord, StoredPolicyVersion, TenantId, TenantRecord
from twinmesh.store.codec import dump_time, load_time, now_utc
from twinmesh.store.neo4j import cypher
from twinmesh.store.neo4j.base import Neo4jBase, Record

PRUNE_BATCH = 5000


class GovernanceNodes(Neo4jBase):
    """What the audit log, the policy administration and the platform keep in the store."""

    # -- audit chain -------------------------------------------------------------------------

    async def append_audit(
        self, tenant: TenantId, events: Sequence[AuditEvent]
    ) -> list[SealedRecord]:
        async def work(tx: AsyncManagedTransaction) -> list[SealedRecord]:
            return await self._append(tx, tenant, events)

        return await self._write(work)

    async def audit_head(self, tenant: TenantId) -> tuple[int, str]:
        async def work(tx: AsyncManagedTransaction) -> tuple[int, str]:
            rows = await self._run(tx, cypher.GET_AUDIT_HEAD, tenant)
            return (rows[0]["seq"], rows[0]["hash"]) if rows else (0, GENESIS)

        return await self._read(work)

    async def read_audit(
        self, tenant: TenantId, *, after_seq: int, through_seq: int, limit: int
    ) -> list[SealedRecord]:
        async def work(tx: AsyncManagedTransaction) -> list[SealedRecord]:
            rows = await self._run(
                tx, cypher.READ_AUDIT, tenant, after=after_seq, through=through_seq, limit=limit
            )
            return [SealedRecord(**row) for row in rows]

        return await self._read(work)

    async def audit_seq_range(
        self, tenant: TenantId, *, since: str, until: str
    ) -> tuple[int, int] | None:
        async def work(tx: AsyncManagedTransaction) -> tuple[int, int] | None:
            rows = await self._run(tx, cypher.AUDIT_SEQ_RANGE, tenant, since=since, until=until)
            first, last = rows[0]["first"], rows[0]["last"]
            if first is None or last is None or first > last:
                return None
            return (first, last)

        return await self._read(work)

    async def prune_audit(self, tenant: TenantId, *, through_seq: int) -> int:
        total = 0
        while True:  # bounded transactions: a long history is deleted in batches

            async def work(tx: AsyncManagedTransaction) -> int:
                rows = await self._run(
                    tx, cypher.PRUNE_AUDIT, tenant, through=through_seq, batch=PRUNE_BATCH
                )
                pruned: int = rows[0]["pruned"]
                return pruned

            pruned = await self._write(work)
            total += pruned
            if pruned < PRUNE_BATCH:
                return total

    async def add_checkpoint(self, tenant: TenantId, checkpoint: Checkpoint) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await self._run(
                tx,
                cypher.ADD_CHECKPOINT,
                tenant,
                to_seq=checkpoint.to_seq,
                from_seq=checkpoint.from_seq,
                document=orjson.dumps(checkpoint.as_json()).decode(),
            )

        await self._write(work)

    async def list_checkpoints(
        self, tenant: TenantId, *, from_seq: int, to_seq: int
    ) -> list[Checkpoint]:
        async def work(tx: AsyncManagedTransaction) -> list[Checkpoint]:
            rows = await self._run(
                tx, cypher.LIST_CHECKPOINTS, tenant, from_seq=from_seq, to_seq=to_seq
            )
            return [Checkpoint.from_json(orjson.loads(row["document"])) for row in rows]

        return await self._read(work)

    async def last_checkpoint(self, tenant: TenantId) -> Checkpoint | None:
        async def work(tx: AsyncManagedTransaction) -> Checkpoint | None:
            rows = await self._run(tx, cypher.LAST_CHECKPOINT, tenant)
            return Checkpoint.from_json(orjson.loads(rows[0]["document"])) if rows else None

        return await self._read(work)

    # -- policy versions ---------------------------------------------------------------------

    async def add_policy_version(
        self,
        tenant: TenantId,
        *,
        text: str,
        sha256: str,
        source: str,
        audit: AuditEvent | None = None,
    ) -> StoredPolicyVersion:
        created_at = datetime.now(UTC)

        async def work(tx: AsyncManagedTransaction) -> StoredPolicyVersion:
            rows = await self._run(tx, cypher.LOCK_POLICY_VERSIONS, tenant)
            stored = StoredPolicyVersion(
                (rows[0]["version"] or 0) + 1, text, sha256, source, created_at
            )
            await self._run(
                tx,
                cypher.ADD_POLICY_VERSION,
                tenant,
                version=stored.version,
                text=text,
                sha256=sha256,
                source=source,
                created_at=dump_time(created_at),
            )
            if audit is not None:
                audit.details["version"] = stored.version
            return stored

        return await self._write(work, audit)

    async def list_policy_versions(self, tenant: TenantId) -> list[StoredPolicyVersion]:
        async def work(tx: AsyncManagedTransaction) -> list[StoredPolicyVersion]:
            rows = await self._run(tx, cypher.LIST_POLICY_VERSIONS, tenant)
            return [_policy_version(row["version"]) for row in rows]

        return await self._read(work)

    async def latest_policy_version(self, tenant: TenantId) -> int | None:
        async def work(tx: AsyncManagedTransaction) -> int | None:
            rows = await self._run(tx, cypher.LATEST_POLICY_VERSION, tenant)
            latest: int | None = rows[0]["version"]
            return latest

        return await self._read(work)

    # -- federation -------------------------------------------------------------------------

    async def remember_nonce(self, org: str, nonce: str, expires_at: datetime) -> bool:
        token = secrets.token_hex(8)

        async def work(tx: AsyncManagedTransaction) -> bool:
            key = TenantId(org)
            await self._run(tx, cypher.FORGET_EXPIRED_NONCES, key, now=dump_time(now_utc()))
            rows = await self._run(
                tx,
                cypher.REMEMBER_NONCE,
                key,
                nonce=nonce,
                expires_at=dump_time(expires_at),
                token=token,
            )
            return bool(rows[0]["fresh"])

        return await self._write(work)

    async def save_partner(self, record: PartnerRecord, *, audit: AuditEvent | None = None) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            settings = orjson.dumps(record.settings).decode()
            await self._run(tx, cypher.SAVE_PARTNER, TenantId(record.org), settings=settings)

        await self._write(work, audit)

    async def delete_partner(self, org: str, *, audit: AuditEvent | None = None) -> bool:
        async def work(tx: AsyncManagedTransaction) -> bool:
            rows = await self._run(tx, cypher.DELETE_PARTNER, TenantId(org))
            return bool(rows[0]["deleted"])

        return await self._write(work, audit)

    async def list_partners(self) -> list[PartnerRecord]:
        async def work(tx: AsyncManagedTransaction) -> list[PartnerRecord]:
            # Platform data: not scoped to a tenant (its nodes are partner organisations).
            if self._observer is not None:
                self._observer(cypher.LIST_PARTNERS, {})
            result = await tx.run(cypher.LIST_PARTNERS)
            return [PartnerRecord(r["org"], orjson.loads(r["settings"])) async for r in result]

        return await self._read(work)

    # -- platform tenant records ----------------------------------------------------------

    async def save_tenant(self, record: TenantRecord, *, audit: AuditEvent | None = None) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await self._run(
                tx,
                cypher.SAVE_TENANT,
                TenantId(record.id),
                disabled=record.disabled,
                created_at=dump_time(record.created_at),
            )

        await self._write(work, audit)

    async def get_tenant(self, tenant: TenantId) -> TenantRecord | None:
        async def work(tx: AsyncManagedTransaction) -> TenantRecord | None:
            rows = await self._run(tx, cypher.GET_TENANT, tenant)
            return _tenant(rows[0]["tenant"]) if rows else None

        return await self._read(work)

    async def list_tenants(self) -> list[TenantRecord]:
        async def work(tx: AsyncManagedTransaction) -> list[TenantRecord]:
            # Platform data: the one statement not scoped to a tenant (its nodes are tenants).
            if self._observer is not None:
                self._observer(cypher.LIST_TENANTS, {})
            result = await tx.run(cypher.LIST_TENANTS)
            return [_tenant(record.data()["tenant"]) async for record in result]

        return await self._read(work)


def _policy_version(data: Record) -> StoredPolicyVersion:
    return StoredPolicyVersion(
        version=data["version"],
        text=data["text"],
        sha256=data["sha256"],
        source=data["source"],
        created_at=load_time(data["created_at"]),
    )


def _tenant(data: Record) -> TenantRecord:
    return TenantRecord(
        id=data["id"], disabled=bool(data["disabled"]), created_at=load_time(data["created_at"])
    )
