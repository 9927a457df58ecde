"""GraphStore on Neo4j 5 through the official async driver: twins, relationships, models.

Statements live in :mod:`twinmesh.store.neo4j.cypher` as constants; request data travels only
as parameters. The plumbing (driver, error translation, audited transactions) is in
:mod:`.base`; audit records, checkpoints, policy versions and tenant records in
:mod:`.governance`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from neo4j import AsyncManagedTransaction

from twinmesh.audit.records import AuditEvent
from twinmesh.domain import (
    JSONObject,
    NewModel,
    NewRelationship,
    NewTwin,
    Relationship,
    StoredModel,
    TenantId,
    Twin,
    TwinUpdate,
    changed_names,
    is_remote_ref,
    new_etag,
    refuse_delete_while_related,
    stamp_metadata,
)
from twinmesh.errors import Conflict, ModelInUse, NotFound
from twinmesh.store.batches import outside_references
from twinmesh.store.codec import dump_document, dump_time, load_document, load_time, now_utc
from twinmesh.store.etags import check_etag
from twinmesh.store.neo4j import cypher
from twinmesh.store.neo4j.base import Record
from twinmesh.store.neo4j.documents import flatten
from twinmesh.store.neo4j.governance import GovernanceNodes
from twinmesh.store.neo4j.reads import CypherCompiler
from twinmesh.store.plan import TwinListQuery, TwinLookup, TwinPage, TwinRow
from twinmesh.store.results import relationship_of, twin_of, twin_page, twin_row


def _node(
    model: str,
    properties: JSONObject,
    components: JSONObject,
    *,
    created_at: str,
    now: str,
    metadata: JSONObject,
) -> dict[str, Any]:
    """Every property of a twin node but tenant and id (see :mod:`.documents`)."""
    return {
        "model": model,
        "properties": dump_document(properties),
        "components": dump_document(components),
        "etag": new_etag(),
        "created_at": created_at,
        "updated_at": now,
        "metadata": dump_document(metadata),
        **flatten(properties),
    }


def _model(data: Record) -> StoredModel:
    return StoredModel(
        id=data["id"],
        document=load_document(data["document"]),
        uploaded_at=load_time(data["uploaded_at"]),
        decommissioned=bool(data["decommissioned"]),
    )


class Neo4jStore(GovernanceNodes):
    """Twins as ``:Twin`` nodes, relationships as ``:REL`` edges, all keyed by tenant."""

    # -- twins -----------------------------------------------------------------------------

    async def create_twin(
        self, tenant: TenantId, twin: NewTwin, *, audit: AuditEvent | None = None
    ) -> Twin:
        async def work(tx: AsyncManagedTransaction) -> Twin:
            if await self._run(tx, cypher.GET_TWIN, tenant, id=twin.id):
                raise Conflict(f"A twin with id {twin.id!r} already exists.")
            now = dump_time(now_utc())
            metadata = stamp_metadata(
                {}, twin.properties, twin.components, touched=None, moment=now
            )
            node = _node(
                twin.model,
                twin.properties,
                twin.components,
                created_at=now,
                now=now,
                metadata=metadata,
            )
            rows = await self._run(tx, cypher.CREATE_TWIN, tenant, id=twin.id, node=node)
            return twin_of(rows[0]["twin"])

        return await self._write(work, audit)

    async def get_twin(self, tenant: TenantId, twin_id: str) -> Twin | None:
        async def work(tx: AsyncManagedTransaction) -> Twin | None:
            rows = await self._run(tx, cypher.GET_TWIN, tenant, id=twin_id)
            return twin_of(rows[0]["twin"]) if rows else None

        return await self._read(work)

    async def _locked_twin(
        self, tx: AsyncManagedTransaction, tenant: TenantId, twin_id: str, if_match: str | None
    ) -> Record:
        rows = await self._run(tx, cypher.LOCK_TWIN, tenant, id=twin_id)
        if not rows:
            raise NotFound(f"No twin with id {twin_id!r} exists.")
        current: Record = rows[0]["twin"]
        check_etag(current["etag"], if_match, "twin")
        return current

    async def _update(
        self,
        tx: AsyncManagedTransaction,
        tenant: TenantId,
        twin_id: str,
        apply: Callable[[Twin], TwinUpdate],
        if_match: str | None,
    ) -> Twin:
        """Read-modify-write under the twin's write lock, inside the caller's transaction."""
        locked = await self._locked_twin(tx, tenant, twin_id, if_match)
        current = twin_of(locked)
        update = apply(current)
        now = dump_time(now_utc())
        metadata = stamp_metadata(
            current.metadata,
            update.properties,
            update.components,
            touched=update.touched,
            moment=now,
        )
        node = _node(
            locked["model"],
            update.properties,
            update.components,
            created_at=locked["created_at"],
            now=now,
            metadata=metadata,
        )
        rows = await self._run(tx, cypher.REPLACE_TWIN, tenant, id=twin_id, node=node)
        return twin_of(rows[0]["twin"])

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
        def apply(current: Twin) -> TwinUpdate:
            touched = changed_names(current, properties, components)
            return TwinUpdate(properties, components, touched)

        return await self.patch_twin(tenant, twin_id, apply, if_match=if_match, audit=audit)

    async def patch_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        apply: Callable[[Twin], TwinUpdate],
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> Twin:
        async def work(tx: AsyncManagedTransaction) -> Twin:
            return await self._update(tx, tenant, twin_id, apply, if_match)

        return await self._write(work, audit)

    async def delete_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        *,
        if_match: str | None = None,
        cascade: bool = False,
        audit: AuditEvent | None = None,
    ) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await self._locked_twin(tx, tenant, twin_id, if_match)
            if not cascade:
                [counts] = await self._run(tx, cypher.TWIN_RELATIONSHIP_COUNTS, tenant, id=twin_id)
                refuse_delete_while_related(twin_id, counts["outgoing"], counts["incoming"])
            await self._run(tx, cypher.DELETE_TWIN, tenant, id=twin_id)

        await self._write(work, audit)

    # -- relationships ---------------------------------------------------------------------

    async def create_relationship(
        self, tenant: TenantId, rel: NewRelationship, *, audit: AuditEvent | None = None
    ) -> Relationship:
        async def work(tx: AsyncManagedTransaction) -> Relationship:
            # Locking the source serialises concurrent creates of the same relationship id.
            if not await self._run(tx, cypher.LOCK_TWIN, tenant, id=rel.source_id):
                raise NotFound(f"No source twin with id {rel.source_id!r} exists.")
            remote = is_remote_ref(rel.target)
            if not remote and not await self._run(tx, cypher.GET_TWIN, tenant, id=rel.target):
                raise NotFound(f"No target twin with id {rel.target!r} exists.")
            existing = await self._run(
                tx, cypher.GET_RELATIONSHIP, tenant, source_id=rel.source_id, id=rel.id
            )
            if existing:
                raise Conflict(
                    f"Twin {rel.source_id!r} already has a relationship with id {rel.id!r}."
                )
            rows = await self._run(
                tx,
                cypher.CREATE_REMOTE_RELATIONSHIP if remote else cypher.CREATE_LOCAL_RELATIONSHIP,
                tenant,
                source_id=rel.source_id,
                id=rel.id,
                name=rel.name,
                target=rel.target,
                properties=dump_document(rel.properties),
                etag=new_etag(),
            )
            return relationship_of(rows[0]["rel"])

        return await self._write(work, audit)

    async def _list(
        self, query: str, tenant: TenantId, twin_id: str, name: str | None
    ) -> list[Relationship]:
        async def work(tx: AsyncManagedTransaction) -> list[Relationship]:
            rows = await self._run(tx, query, tenant, id=twin_id, name=name)
            return [relationship_of(row["rel"]) for row in rows]

        return await self._read(work)

    async def list_relationships(
        self, tenant: TenantId, source_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        return await self._list(cypher.LIST_OUTGOING, tenant, source_id, name)

    async def list_incoming_relationships(
        self, tenant: TenantId, target_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        return await self._list(cypher.LIST_INCOMING, tenant, target_id, name)

    async def delete_relationship(
        self,
        tenant: TenantId,
        source_id: str,
        rel_id: str,
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await self._run(tx, cypher.LOCK_TWIN, tenant, id=source_id)
            rows = await self._run(
                tx, cypher.GET_RELATIONSHIP, tenant, source_id=source_id, id=rel_id
            )
            if not rows:
                raise NotFound(f"Twin {source_id!r} has no relationship with id {rel_id!r}.")
            check_etag(rows[0]["rel"]["etag"], if_match, "relationship")
            await self._run(tx, cypher.DELETE_RELATIONSHIP, tenant, source_id=source_id, id=rel_id)

        await self._write(work, audit)

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
        async def work(tx: AsyncManagedTransaction) -> Relationship:
            # The source twin's lock serialises writes to its relationships.
            await self._run(tx, cypher.LOCK_TWIN, tenant, id=source_id)
            rows = await self._run(
                tx, cypher.GET_RELATIONSHIP, tenant, source_id=source_id, id=rel_id
            )
            if not rows:
                raise NotFound(f"Twin {source_id!r} has no relationship with id {rel_id!r}.")
            current = relationship_of(rows[0]["rel"])
            check_etag(current.etag, if_match, "relationship")
            updated = await self._run(
                tx,
                cypher.UPDATE_RELATIONSHIP,
                tenant,
                source_id=source_id,
                id=rel_id,
                properties=dump_document(apply(current)),
                etag=new_etag(),
            )
            return relationship_of(updated[0]["rel"])

        return await self._write(work, audit)

    # -- models ----------------------------------------------------------------------------

    async def add_models(
        self, tenant: TenantId, models: Sequence[NewModel], *, audit: AuditEvent | None = None
    ) -> list[StoredModel]:
        async def work(tx: AsyncManagedTransaction) -> list[StoredModel]:
            ids = [m.id for m in models]
            taken = await self._run(tx, cypher.GET_MODELS, tenant, ids=ids)
            if taken:
                raise Conflict(
                    "These models are already uploaded; models are immutable, so give a new "
                    "version a new DTMI.",
                    details={"models": sorted(row["model"]["id"] for row in taken)},
                )
            rows = await self._run(
                tx,
                cypher.CREATE_MODELS,
                tenant,
                models=[{"id": m.id, "document": dump_document(m.document)} for m in models],
                now=dump_time(now_utc()),
            )
            return [_model(row["model"]) for row in rows]

        return await self._write(work, audit)

    async def list_models(self, tenant: TenantId) -> list[StoredModel]:
        async def work(tx: AsyncManagedTransaction) -> list[StoredModel]:
            return [_model(row["model"]) for row in await self._run(tx, cypher.LIST_MODELS, tenant)]

        return await self._read(work)

    async def get_model(self, tenant: TenantId, model_id: str) -> StoredModel | None:
        async def work(tx: AsyncManagedTransaction) -> StoredModel | None:
            rows = await self._run(tx, cypher.GET_MODELS, tenant, ids=[model_id])
            return _model(rows[0]["model"]) if rows else None

        return await self._read(work)

    async def decommission_model(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> StoredModel:
        async def work(tx: AsyncManagedTransaction) -> StoredModel:
            rows = await self._run(tx, cypher.DECOMMISSION_MODEL, tenant, id=model_id)
            if not rows:
                raise NotFound(f"No model {model_id!r} is uploaded.")
            return _model(rows[0]["model"])

        return await self._write(work, audit)

    async def delete_model(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            rows = await self._run(tx, cypher.LOCK_MODEL, tenant, id=model_id)
            if not rows:
                raise NotFound(f"No model {model_id!r} is uploaded.")
            if rows[0]["in_use"]:
                raise ModelInUse(
                    f"Twins of {model_id!r} exist; delete them (or decommission the model) first."
                )
            await self._run(tx, cypher.DELETE_MODEL, tenant, id=model_id)

        await self._write(work, audit)

    # -- read plans ------------------------------------------------------------------------

    async def lookup_twin(self, tenant: TenantId, query: TwinLookup) -> TwinRow | None:
        compiler = CypherCompiler()
        statement = compiler.lookup(query)

        async def work(tx: AsyncManagedTransaction) -> TwinRow | None:
            rows = await self._run(tx, statement, tenant, **compiler.params)
            return twin_row(rows[0]["twin"], query.node) if rows else None

        return await self._read(work)

    async def list_twins(self, tenant: TenantId, query: TwinListQuery) -> TwinPage:
        compiler = CypherCompiler()
        statement = compiler.list(query)

        async def work(tx: AsyncManagedTransaction) -> TwinPage:
            [row] = await self._run(tx, statement, tenant, **compiler.params)
            return twin_page(row["total"], row["rows"], query.first, query.node)

        return await self._read(work)

    # -- bulk import -----------------------------------------------------------------------

    async def import_batch(
        self,
        tenant: TenantId,
        twins: Sequence[NewTwin],
        relationships: Sequence[NewRelationship],
        *,
        audit: AuditEvent | None = None,
    ) -> None:
        if not twins and not relationships:
            return
        referenced = outside_references(twins, relationships)
        batch = {t.id for t in twins}
        now = dump_time(now_utc())
        twin_rows = [
            {
                "id": t.id,
                "node": _node(
                    t.model,
                    t.properties,
                    t.components,
                    created_at=now,
                    now=now,
                    metadata=stamp_metadata(
                        {}, t.properties, t.components, touched=None, moment=now
                    ),
                ),
            }
            for t in twins
        ]
        local: list[dict[str, Any]] = []
        remote: list[dict[str, Any]] = []
        for r in relationships:
            (remote if is_remote_ref(r.target) else local).append(
                {
                    "source_id": r.source_id,
                    "id": r.id,
                    "name": r.name,
                    "target": r.target,
                    "properties": dump_document(r.properties),
                    "etag": new_etag(),
                }
            )
        keys = [
            {"source_id": r.source_id, "id": r.id}
            for r in relationships
            if r.source_id not in batch
        ]

        async def work(tx: AsyncManagedTransaction) -> None:
            if twins:
                rows = await self._run(tx, cypher.EXISTING_TWIN_IDS, tenant, ids=list(batch))
                if rows:
                    taken = sorted(row["id"] for row in rows)
                    raise Conflict(
                        f"{len(taken)} twin ids of the batch already exist.",
                        details={"twins": taken[:20]},
                    )
            if referenced:
                rows = await self._run(tx, cypher.LOCK_TWIN_IDS, tenant, ids=referenced)
                found = {row["id"] for row in rows}
                missing = [twin_id for twin_id in referenced if twin_id not in found]
                if missing:
                    raise NotFound(
                        f"No twin with id {missing[0]!r} exists; relationships need their "
                        "source and local target.",
                        details={"twins": missing[:20]},
                    )
            if keys:
                rows = await self._run(tx, cypher.EXISTING_RELATIONSHIP_IDS, tenant, keys=keys)
                if rows:
                    raise Conflict(
                        "A relationship id of the batch is already taken for its source twin.",
                        details={"relationships": [[r["source_id"], r["id"]] for r in rows[:20]]},
                    )
            for statement, batch_rows in (
                (cypher.IMPORT_TWINS, twin_rows),
                (cypher.IMPORT_LOCAL_RELATIONSHIPS, local),
                (cypher.IMPORT_REMOTE_RELATIONSHIPS, remote),
            ):
                if batch_rows:
                    await self._run(tx, statement, tenant, rows=batch_rows)

        await self._write(work, audit)
