"""Governance data of the embedded store: audit chain, checkpoints, policy versions, tenants."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson

from twinmesh.audit.checkpoints import Checkpoint
from twinmesh.audit.records import GENESIS, AuditEvent, SealedRecord
from twinmesh.domain import PartnerRecord, StoredPolicyVersion, TenantId, TenantRecord
from twinmesh.store.codec import dump_time, load_time
from twinmesh.store.embedded import sql
from twinmesh.store.embedded.base import Connection, Row, SqliteBase


class GovernanceTables(SqliteBase):
    """What the audit log, the policy administration and the platform keep in the store."""

    # -- audit chain -------------------------------------------------------------------------

    async def append_audit(
        self, tenant: TenantId, events: Sequence[AuditEvent]
    ) -> list[SealedRecord]:
        return await self._transaction(lambda conn: self._append(conn, tenant, events))

    async def audit_head(self, tenant: TenantId) -> tuple[int, str]:
        row = await self._call(lambda conn: self._run(conn, sql.GET_AUDIT_HEAD, tenant).fetchone())
        return (row[0], row[1]) if row else (0, GENESIS)

    async def read_audit(
        self, tenant: TenantId, *, after_seq: int, through_seq: int, limit: int
    ) -> list[SealedRecord]:
        rows = await self._call(
            lambda conn: self._run(
                conn, sql.READ_AUDIT, tenant, after=after_seq, through=through_seq, limit=limit
            ).fetchall()
        )
        return [SealedRecord(seq=r[0], hash=r[1], time=r[2], text=r[3]) for r in rows]

    async def audit_seq_range(
        self, tenant: TenantId, *, since: str, until: str
    ) -> tuple[int, int] | None:
        row = await self._call(
            lambda conn: self._run(
                conn, sql.AUDIT_SEQ_RANGE, tenant, since=since, until=until
            ).fetchone()
        )
        if row is None or row[0] is None or row[1] is None or row[0] > row[1]:
            return None
        return (row[0], row[1])

    async def prune_audit(self, tenant: TenantId, *, through_seq: int) -> int:
        def prune(conn: Connection) -> int:
            count: int = self._run(conn, sql.PRUNE_AUDIT, tenant, through=through_seq).rowcount
            return count

        return await self._transaction(prune)

    async def add_checkpoint(self, tenant: TenantId, checkpoint: Checkpoint) -> None:
        document = orjson.dumps(checkpoint.as_json()).decode()
        await self._transaction(
            lambda conn: self._run(
                conn,
                sql.INSERT_CHECKPOINT,
                tenant,
                to_seq=checkpoint.to_seq,
                from_seq=checkpoint.from_seq,
                document=document,
            )
        )

    async def list_checkpoints(
        self, tenant: TenantId, *, from_seq: int, to_seq: int
    ) -> list[Checkpoint]:
        rows = await self._call(
            lambda conn: self._run(
                conn, sql.LIST_CHECKPOINTS, tenant, from_seq=from_seq, to_seq=to_seq
            ).fetchall()
        )
        return [Checkpoint.from_json(orjson.loads(row[0])) for row in rows]

    async def last_checkpoint(self, tenant: TenantId) -> Checkpoint | None:
        row = await self._call(lambda conn: self._run(conn, sql.LAST_CHECKPOINT, tenant).fetchone())
        return None if row is None else Checkpoint.from_json(orjson.loads(row[0]))

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

        def insert(conn: Connection) -> StoredPolicyVersion:
            latest = self._run(conn, sql.LATEST_POLICY_VERSION, tenant).fetchone()[0]
            stored = StoredPolicyVersion((latest or 0) + 1, text, sha256, source, created_at)
            self._run(
                conn,
                sql.INSERT_POLICY_VERSION,
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

        return await self._transaction(insert, audit)

    async def list_policy_versions(self, tenant: TenantId) -> list[StoredPolicyVersion]:
        rows = await self._call(
            lambda conn: self._run(conn, sql.LIST_POLICY_VERSIONS, tenant).fetchall()
        )
        return [StoredPolicyVersion(r[0], r[1], r[2], r[3], load_time(r[4])) for r in rows]

    async def latest_policy_version(self, tenant: TenantId) -> int | None:
        row = await self._call(
            lambda conn: self._run(conn, sql.LATEST_POLICY_VERSION, tenant).fetchone()
        )
        latest: int | None = row[0]
        return latest

    # -- federation -------------------------------------------------------------------------

    async def remember_nonce(self, org: str, nonce: str, expires_at: datetime) -> bool:
        def remember(conn: Connection) -> bool:
            key = TenantId(org)
            self._run(conn, sql.FORGET_EXPIRED_NONCES, key, now=dump_time(datetime.now(UTC)))
            inserted = self._run(
                conn, sql.REMEMBER_NONCE, key, nonce=nonce, expires_at=dump_time(expires_at)
            )
            return bool(inserted.rowcount == 1)

        return await self._transaction(remember)

    async def save_partner(self, record: PartnerRecord, *, audit: AuditEvent | None = None) -> None:
        settings = orjson.dumps(record.settings).decode()
        await self._transaction(
            lambda conn: self._run(conn, sql.SAVE_PARTNER, TenantId(record.org), settings=settings),
            audit,
        )

    async def delete_partner(self, org: str, *, audit: AuditEvent | None = None) -> bool:
        def delete(conn: Connection) -> bool:
            return bool(self._run(conn, sql.DELETE_PARTNER, TenantId(org)).rowcount)

        return await self._transaction(delete, audit)

    async def list_partners(self) -> list[PartnerRecord]:
        # Platform data: not scoped to a tenant (its rows are partner organisations).
        rows = await self._call(lambda conn: conn.execute(sql.LIST_PARTNERS).fetchall())
        return [PartnerRecord(row[0], orjson.loads(row[1])) for row in rows]

    # -- platform tenant records ----------------------------------------------------------

    async def save_tenant(self, record: TenantRecord, *, audit: AuditEvent | None = None) -> None:
        def save(conn: Connection) -> None:
            self._run(
                conn,
                sql.SAVE_TENANT,
                TenantId(record.id),
                disabled=int(record.disabled),
                created_at=dump_time(record.created_at),
            )

        await self._transaction(save, audit)

    async def get_tenant(self, tenant: TenantId) -> TenantRecord | None:
        row = await self._call(lambda conn: self._run(conn, sql.GET_TENANT, tenant).fetchone())
        return None if row is None else _tenant(row)

    async def list_tenants(self) -> list[TenantRecord]:
        # Platform data: the one statement not scoped to a tenant (its rows are tenants).
        rows = await self._call(lambda conn: conn.execute(sql.LIST_TENANTS).fetchall())
        return [_tenant(row) for row in rows]


def _tenant(row: Row) -> TenantRecord:
    return TenantRecord(id=row[0], disabled=bool(row[1]), created_at=load_time(row[2]))
