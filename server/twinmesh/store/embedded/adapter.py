"""GraphStore on SQLite (stdlib ``sqlite3``): twins, relationships, models and read plans.

The plumbing (the connection thread, statement execution, audited transactions) is in
:mod:`.base`; audit records, checkpoints, policy versions and tenant records in
:mod:`.governance`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

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
from twinmesh.store.embedded import sql
from twinmesh.store.embedded.base import Connection, Row
from twinmesh.store.embedded.governance import GovernanceTables
from twinmesh.store.embedded.reads import SqlCompiler, assemble
from twinmesh.store.etags import check_etag
from twinmesh.store.plan import TwinListQuery, TwinLookup, TwinPage, TwinRow


def _twin(row: Row) -> Twin:
    return Twin(
        id=row[0],
        model=row[1],
        properties=load_document(row[2]),
        components=load_document(row[3]),
        etag=row[4],
        created_at=load_time(row[5]),
        updated_at=load_time(row[6]),
        metadata=load_document(row[7]) if len(row) > 7 else {},
    )


def _relationship(row: Row) -> Relationship:
    return Relationship(
        source_id=row[0],
        id=row[1],
        name=row[2],
        target=row[3],
        properties=load_document(row[4]),
        etag=row[5],
    )


def _model(row: Row) -> StoredModel:
    return StoredModel(
        id=row[0],
        document=load_document(row[1]),
        uploaded_at=load_time(row[2]),
        decommissioned=bool(row[3]),
    )


class EmbeddedStore(GovernanceTables):
    """Twins and relationships in one SQLite file under the data directory, or in memory."""

    # -- twins -----------------------------------------------------------------------------

    def _fetch_twin(self, conn: Connection, tenant: TenantId, twin_id: str) -> Row | None:
        row: Row | None = self._run(conn, sql.GET_TWIN, tenant, id=twin_id).fetchone()
        return row

    def _existing_twin(
        self, conn: Connection, tenant: TenantId, twin_id: str, if_match: str | None
    ) -> Row:
        current = self._fetch_twin(conn, tenant, twin_id)
        if current is None:
            raise NotFound(f"No twin with id {twin_id!r} exists.")
        check_etag(current[4], if_match, "twin")
        return current

    async def create_twin(
        self, tenant: TenantId, twin: NewTwin, *, audit: AuditEvent | None = None
    ) -> Twin:
        moment = dump_time(now_utc())
        metadata = stamp_metadata({}, twin.properties, twin.components, touched=None, moment=moment)
        values = {
            "id": twin.id,
            "model": twin.model,
            "properties": dump_document(twin.properties),
            "components": dump_document(twin.components),
            "etag": new_etag(),
            "created_at": moment,
            "updated_at": moment,
            "metadata": dump_document(metadata),
        }

        def insert(conn: Connection) -> Twin:
            if self._fetch_twin(conn, tenant, twin.id) is not None:
                raise Conflict(f"A twin with id {twin.id!r} already exists.")
            self._run(conn, sql.INSERT_TWIN, tenant, **values)
            return _twin(tuple(values.values()))

        return await self._transaction(insert, audit)

    async def get_twin(self, tenant: TenantId, twin_id: str) -> Twin | None:
        row = await self._call(lambda conn: self._fetch_twin(conn, tenant, twin_id))
        return None if row is None else _twin(row)

    def _update(
        self,
        conn: Connection,
        tenant: TenantId,
        twin_id: str,
        apply: Callable[[Twin], TwinUpdate],
        if_match: str | None,
    ) -> Twin:
        """Read-modify-write inside the caller's immediate transaction (the write lock)."""
        current = _twin(self._existing_twin(conn, tenant, twin_id, if_match))
        update = apply(current)
        moment = dump_time(now_utc())
        metadata = stamp_metadata(
            current.metadata,
            update.properties,
            update.components,
            touched=update.touched,
            moment=moment,
        )
        values = {
            "properties": dump_document(update.properties),
            "components": dump_document(update.components),
            "etag": new_etag(),
            "updated_at": moment,
            "metadata": dump_document(metadata),
        }
        self._run(conn, sql.UPDATE_TWIN, tenant, id=twin_id, **values)
        return _twin(
            (
                current.id,
                current.model,
                values["properties"],
                values["components"],
                values["etag"],
                dump_time(current.created_at),
                moment,
                values["metadata"],
            )
        )

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

        return await self._transaction(
            lambda conn: self._update(conn, tenant, twin_id, apply, if_match), audit
        )

    async def patch_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        apply: Callable[[Twin], TwinUpdate],
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> Twin:
        return await self._transaction(
            lambda conn: self._update(conn, tenant, twin_id, apply, if_match), audit
        )

    async def delete_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        *,
        if_match: str | None = None,
        cascade: bool = False,
        audit: AuditEvent | None = None,
    ) -> None:
        def delete(conn: Connection) -> None:
            self._existing_twin(conn, tenant, twin_id, if_match)
            if not cascade:
                counts = self._run(conn, sql.TWIN_RELATIONSHIP_COUNTS, tenant, id=twin_id)
                outgoing, incoming = counts.fetchone()
                refuse_delete_while_related(twin_id, outgoing, incoming)
            self._run(conn, sql.DELETE_INCOMING, tenant, id=twin_id)
            self._run(conn, sql.DELETE_TWIN, tenant, id=twin_id)

        await self._transaction(delete, audit)

    # -- relationships ---------------------------------------------------------------------

    def _fetch_relationship(
        self, conn: Connection, tenant: TenantId, source_id: str, rel_id: str
    ) -> Row | None:
        cursor = self._run(conn, sql.GET_RELATIONSHIP, tenant, source_id=source_id, id=rel_id)
        row: Row | None = cursor.fetchone()
        return row

    async def create_relationship(
        self, tenant: TenantId, rel: NewRelationship, *, audit: AuditEvent | None = None
    ) -> Relationship:
        values = {
            "source_id": rel.source_id,
            "id": rel.id,
            "name": rel.name,
            "target": rel.target,
            "properties": dump_document(rel.properties),
            "etag": new_etag(),
        }

        def insert(conn: Connection) -> Relationship:
            if self._fetch_twin(conn, tenant, rel.source_id) is None:
                raise NotFound(f"No source twin with id {rel.source_id!r} exists.")
            if not is_remote_ref(rel.target) and self._fetch_twin(conn, tenant, rel.target) is None:
                raise NotFound(f"No target twin with id {rel.target!r} exists.")
            if self._fetch_relationship(conn, tenant, rel.source_id, rel.id) is not None:
                raise Conflict(
                    f"Twin {rel.source_id!r} already has a relationship with id {rel.id!r}."
                )
            self._run(conn, sql.INSERT_RELATIONSHIP, tenant, **values)
            return _relationship(tuple(values.values()))

        return await self._transaction(insert, audit)

    async def _list(
        self, statement: str, tenant: TenantId, twin_id: str, name: str | None
    ) -> list[Relationship]:
        rows = await self._call(
            lambda conn: self._run(conn, statement, tenant, id=twin_id, name=name).fetchall()
        )
        return [_relationship(r) for r in rows]

    async def list_relationships(
        self, tenant: TenantId, source_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        return await self._list(sql.LIST_OUTGOING, tenant, source_id, name)

    async def list_incoming_relationships(
        self, tenant: TenantId, target_id: str, *, name: str | None = None
    ) -> list[Relationship]:
        return await self._list(sql.LIST_INCOMING, tenant, target_id, name)

    async def delete_relationship(
        self,
        tenant: TenantId,
        source_id: str,
        rel_id: str,
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> None:
        def delete(conn: Connection) -> None:
            current = self._fetch_relationship(conn, tenant, source_id, rel_id)
            if current is None:
                raise NotFound(f"Twin {source_id!r} has no relationship with id {rel_id!r}.")
            check_etag(current[5], if_match, "relationship")
            self._run(conn, sql.DELETE_RELATIONSHIP, tenant, source_id=source_id, id=rel_id)

        await self._transaction(delete, audit)

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
        def update(conn: Connection) -> Relationship:
            row = self._fetch_relationship(conn, tenant, source_id, rel_id)
            if row is None:
                raise NotFound(f"Twin {source_id!r} has no relationship with id {rel_id!r}.")
            check_etag(row[5], if_match, "relationship")
            properties = dump_document(apply(_relationship(row)))
            etag = new_etag()
            self._run(
                conn,
                sql.UPDATE_RELATIONSHIP,
                tenant,
                source_id=source_id,
                id=rel_id,
                properties=properties,
                etag=etag,
            )
            return _relationship((*row[:4], properties, etag))

        return await self._transaction(update, audit)

    # -- models ----------------------------------------------------------------------------

    def _fetch_model(self, conn: Connection, tenant: TenantId, model_id: str) -> Row | None:
        row: Row | None = self._run(conn, sql.GET_MODEL, tenant, id=model_id).fetchone()
        return row

    async def add_models(
        self, tenant: TenantId, models: Sequence[NewModel], *, audit: AuditEvent | None = None
    ) -> list[StoredModel]:
        moment = dump_time(now_utc())
        rows = [(m.id, dump_document(m.document), moment, 0) for m in models]

        def insert(conn: Connection) -> list[StoredModel]:
            taken = [m.id for m in models if self._fetch_model(conn, tenant, m.id) is not None]
            if taken:
                raise Conflict(
                    "These models are already uploaded; models are immutable, so give a new "
                    "version a new DTMI.",
                    details={"models": taken},
                )
            for model_id, document, uploaded_at, _ in rows:
                self._run(
                    conn,
                    sql.INSERT_MODEL,
                    tenant,
                    id=model_id,
                    document=document,
                    uploaded_at=uploaded_at,
                )
            return [_model(row) for row in rows]

        return await self._transaction(insert, audit)

    async def list_models(self, tenant: TenantId) -> list[StoredModel]:
        rows = await self._call(lambda conn: self._run(conn, sql.LIST_MODELS, tenant).fetchall())
        return [_model(row) for row in rows]

    async def get_model(self, tenant: TenantId, model_id: str) -> StoredModel | None:
        row = await self._call(lambda conn: self._fetch_model(conn, tenant, model_id))
        return None if row is None else _model(row)

    async def decommission_model(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> StoredModel:
        def decommission(conn: Connection) -> StoredModel:
            current = self._fetch_model(conn, tenant, model_id)
            if current is None:
                raise NotFound(f"No model {model_id!r} is uploaded.")
            self._run(conn, sql.DECOMMISSION_MODEL, tenant, id=model_id)
            return _model((*current[:3], 1))

        return await self._transaction(decommission, audit)

    async def delete_model(
        self, tenant: TenantId, model_id: str, *, audit: AuditEvent | None = None
    ) -> None:
        def delete(conn: Connection) -> None:
            if self._fetch_model(conn, tenant, model_id) is None:
                raise NotFound(f"No model {model_id!r} is uploaded.")
            if self._run(conn, sql.MODEL_IN_USE, tenant, id=model_id).fetchone() is not None:
                raise ModelInUse(
                    f"Twins of {model_id!r} exist; delete them (or decommission the model) first."
                )
            self._run(conn, sql.DELETE_MODEL, tenant, id=model_id)

        await self._transaction(delete, audit)

    # -- read plans ------------------------------------------------------------------------

    async def lookup_twin(self, tenant: TenantId, query: TwinLookup) -> TwinRow | None:
        compiler = SqlCompiler()
        statement = compiler.lookup(query)
        rows = await self._call(
            lambda conn: self._run(conn, statement, tenant, **compiler.params).fetchall()
        )
        page = assemble(rows, query.node, 1)
        return page.rows[0] if page.rows else None

    async def list_twins(self, tenant: TenantId, query: TwinListQuery) -> TwinPage:
        compiler = SqlCompiler()
        statement = compiler.list(query)
        rows = await self._call(
            lambda conn: self._run(conn, statement, tenant, **compiler.params).fetchall()
        )
        return assemble(rows, query.node, query.first)

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
        moment = dump_time(now_utc())
        twin_rows = [
            {
                "tenant": tenant,
                "id": t.id,
                "model": t.model,
                "properties": dump_document(t.properties),
                "components": dump_document(t.components),
                "etag": new_etag(),
                "created_at": moment,
                "updated_at": moment,
                "metadata": dump_document(
                    stamp_metadata({}, t.properties, t.components, touched=None, moment=moment)
                ),
            }
            for t in twins
        ]
        rel_rows = [
            {
                "tenant": tenant,
                "source_id": r.source_id,
                "id": r.id,
                "name": r.name,
                "target": r.target,
                "properties": dump_document(r.properties),
                "etag": new_etag(),
            }
            for r in relationships
        ]
        ids: list[str] = [t.id for t in twins]
        payload: JSONObject = {"ids": [*ids, *referenced]}
        wanted = dump_document(payload)

        def insert(conn: Connection) -> None:
            found = {row[0] for row in self._run(conn, sql.EXISTING_TWIN_IDS, tenant, ids=wanted)}
            taken = [twin_id for twin_id in ids if twin_id in found]
            if taken:
                raise Conflict(
                    f"{len(taken)} twin ids of the batch already exist.",
                    details={"twins": taken[:20]},
                )
            missing = [twin_id for twin_id in referenced if twin_id not in found]
            if missing:
                raise NotFound(
                    f"No twin with id {missing[0]!r} exists; relationships need their source "
                    "and local target.",
                    details={"twins": missing[:20]},
                )
            for statement, rows in (
                (sql.INSERT_TWIN, twin_rows),
                (sql.INSERT_RELATIONSHIP, rel_rows),
            ):
                if not rows:
                    continue
                if self._observer is not None:
                    self._observer(statement, rows[0])
                try:
                    conn.executemany(statement, rows)
                except sqlite3.IntegrityError as exc:
                    raise Conflict(
                        "A relationship id of the batch is already taken for its source twin."
                    ) from exc

        await self._transaction(insert, audit)
