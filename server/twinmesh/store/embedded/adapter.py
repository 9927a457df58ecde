"""GraphStore on SQLite (stdlib ``sqlite3``): WAL, durable commits, run off the event loop.

One connection lives on one dedicated thread; every call is shipped to that thread, so SQLite
never blocks the event loop and writes are naturally serialised. Statements are constants in
:mod:`twinmesh.store.embedded.sql`, and :meth:`EmbeddedStore._run` is the only place that
executes them: it binds ``:tenant`` and reports each statement to the observer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from twinmesh.domain import (
    JSONObject,
    NewModel,
    NewRelationship,
    NewTwin,
    Relationship,
    StoredModel,
    TenantId,
    TenantRecord,
    Twin,
    TwinUpdate,
    changed_names,
    is_remote_ref,
    new_etag,
    refuse_delete_while_related,
    stamp_metadata,
)
from twinmesh.errors import Conflict, ModelInUse, NotFound, StoreUnavailable
from twinmesh.store.batches import outside_references
from twinmesh.store.codec import dump_document, dump_time, load_document, load_time, now_utc
from twinmesh.store.embedded import sql
from twinmesh.store.embedded.reads import SqlCompiler, assemble
from twinmesh.store.embedded.schema import COLUMN_UPGRADES, SCHEMA
from twinmesh.store.etags import check_etag
from twinmesh.store.plan import TwinListQuery, TwinLookup, TwinPage, TwinRow
from twinmesh.store.port import StatementObserver

T = TypeVar("T")
Row = tuple[Any, ...]
Connection = sqlite3.Connection

MEMORY = ":memory:"


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


class EmbeddedStore:
    """Twins and relationships in one SQLite file under the data directory, or in memory."""

    def __init__(
        self, path: Path | str = MEMORY, *, observer: StatementObserver | None = None
    ) -> None:
        self._path = str(path)
        self._observer = observer
        self._executor: ThreadPoolExecutor | None = None
        self._conn: Connection | None = None

    # -- plumbing --------------------------------------------------------------------------

    async def _call(self, fn: Callable[[Connection], T]) -> T:
        if self._executor is None:
            raise StoreUnavailable("The embedded store is not open.")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, fn)

    def _guarded(self, fn: Callable[[Connection], T]) -> T:
        if self._conn is None:
            raise StoreUnavailable("The embedded store is not open.")
        try:
            return fn(self._conn)
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                "The embedded store could not complete the request; try again."
            ) from exc

    def _run(self, conn: Connection, statement: str, tenant: TenantId, **params: Any) -> Any:
        """Execute one statement; ``:tenant`` is always bound from the verified tenant."""
        bound = {**params, "tenant": tenant}
        if self._observer is not None:
            self._observer(statement, bound)
        return conn.execute(statement, bound)

    async def _transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one immediate transaction: all of it commits, or none of it."""

        def atomically(conn: Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._call(atomically)

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        def connect() -> Connection:
            if self._path != MEMORY:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a crash
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(SCHEMA)
            for table, column, statement in COLUMN_UPGRADES:
                if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
                    conn.execute(statement)
            return conn

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twinmesh-sqlite")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._executor, connect)
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise StoreUnavailable(
                "The embedded store could not be opened; check that the data directory is writable."
            ) from exc

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)

    async def ping(self) -> None:
        await self._call(lambda conn: conn.execute("SELECT 1").fetchone())

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

    async def create_twin(self, tenant: TenantId, twin: NewTwin) -> Twin:
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

        return await self._transaction(insert)

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
    ) -> Twin:
        def apply(current: Twin) -> TwinUpdate:
            touched = changed_names(current, properties, components)
            return TwinUpdate(properties, components, touched)

        return await self._transaction(
            lambda conn: self._update(conn, tenant, twin_id, apply, if_match)
        )

    async def patch_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        apply: Callable[[Twin], TwinUpdate],
        *,
        if_match: str | None = None,
    ) -> Twin:
        return await self._transaction(
            lambda conn: self._update(conn, tenant, twin_id, apply, if_match)
        )

    async def delete_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        *,
        if_match: str | None = None,
        cascade: bool = False,
    ) -> None:
        def delete(conn: Connection) -> None:
            self._existing_twin(conn, tenant, twin_id, if_match)
            if not cascade:
                counts = self._run(conn, sql.TWIN_RELATIONSHIP_COUNTS, tenant, id=twin_id)
                outgoing, incoming = counts.fetchone()
                refuse_delete_while_related(twin_id, outgoing, incoming)
            self._run(conn, sql.DELETE_INCOMING, tenant, id=twin_id)
            self._run(conn, sql.DELETE_TWIN, tenant, id=twin_id)

        await self._transaction(delete)

    # -- relationships ---------------------------------------------------------------------

    def _fetch_relationship(
        self, conn: Connection, tenant: TenantId, source_id: str, rel_id: str
    ) -> Row | None:
        cursor = self._run(conn, sql.GET_RELATIONSHIP, tenant, source_id=source_id, id=rel_id)
        row: Row | None = cursor.fetchone()
        return row

    async def create_relationship(self, tenant: TenantId, rel: NewRelationship) -> Relationship:
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

        return await self._transaction(insert)

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
        self, tenant: TenantId, source_id: str, rel_id: str, *, if_match: str | None = None
    ) -> None:
        def delete(conn: Connection) -> None:
            current = self._fetch_relationship(conn, tenant, source_id, rel_id)
            if current is None:
                raise NotFound(f"Twin {source_id!r} has no relationship with id {rel_id!r}.")
            check_etag(current[5], if_match, "relationship")
            self._run(conn, sql.DELETE_RELATIONSHIP, tenant, source_id=source_id, id=rel_id)

        await self._transaction(delete)

    async def patch_relationship(
        self,
        tenant: TenantId,
        source_id: str,
        rel_id: str,
        apply: Callable[[Relationship], JSONObject],
        *,
        if_match: str | None = None,
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

        return await self._transaction(update)

    # -- models ----------------------------------------------------------------------------

    def _fetch_model(self, conn: Connection, tenant: TenantId, model_id: str) -> Row | None:
        row: Row | None = self._run(conn, sql.GET_MODEL, tenant, id=model_id).fetchone()
        return row

    async def add_models(self, tenant: TenantId, models: Sequence[NewModel]) -> list[StoredModel]:
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

        return await self._transaction(insert)

    async def list_models(self, tenant: TenantId) -> list[StoredModel]:
        rows = await self._call(lambda conn: self._run(conn, sql.LIST_MODELS, tenant).fetchall())
        return [_model(row) for row in rows]

    async def get_model(self, tenant: TenantId, model_id: str) -> StoredModel | None:
        row = await self._call(lambda conn: self._fetch_model(conn, tenant, model_id))
        return None if row is None else _model(row)

    async def decommission_model(self, tenant: TenantId, model_id: str) -> StoredModel:
        def decommission(conn: Connection) -> StoredModel:
            current = self._fetch_model(conn, tenant, model_id)
            if current is None:
                raise NotFound(f"No model {model_id!r} is uploaded.")
            self._run(conn, sql.DECOMMISSION_MODEL, tenant, id=model_id)
            return _model((*current[:3], 1))

        return await self._transaction(decommission)

    async def delete_model(self, tenant: TenantId, model_id: str) -> None:
        def delete(conn: Connection) -> None:
            if self._fetch_model(conn, tenant, model_id) is None:
                raise NotFound(f"No model {model_id!r} is uploaded.")
            if self._run(conn, sql.MODEL_IN_USE, tenant, id=model_id).fetchone() is not None:
                raise ModelInUse(
                    f"Twins of {model_id!r} exist; delete them (or decommission the model) first."
                )
            self._run(conn, sql.DELETE_MODEL, tenant, id=model_id)

        await self._transaction(delete)

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

        await self._transaction(insert)

    # -- platform tenant records ----------------------------------------------------------

    async def save_tenant(self, record: TenantRecord) -> None:
        def save(conn: Connection) -> None:
            self._run(
                conn,
                sql.SAVE_TENANT,
                TenantId(record.id),
                disabled=int(record.disabled),
                created_at=dump_time(record.created_at),
            )

        await self._transaction(save)

    async def get_tenant(self, tenant: TenantId) -> TenantRecord | None:
        row = await self._call(lambda conn: self._run(conn, sql.GET_TENANT, tenant).fetchone())
        return None if row is None else _tenant(row)

    async def list_tenants(self) -> list[TenantRecord]:
        # Platform data: the one statement not scoped to a tenant (its rows are tenants).
        rows = await self._call(lambda conn: conn.execute(sql.LIST_TENANTS).fetchall())
        return [_tenant(row) for row in rows]


def _tenant(row: Row) -> TenantRecord:
    return TenantRecord(id=row[0], disabled=bool(row[1]), created_at=load_time(row[2]))
