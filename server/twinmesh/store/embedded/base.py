"""Plumbing of the embedded store: one SQLite connection on one thread, audited transactions.

One connection lives on one dedicated thread; every call is shipped to that thread, so SQLite
never blocks the event loop and writes are naturally serialised. Statements are constants in
:mod:`twinmesh.store.embedded.sql`, and :meth:`SqliteBase._run` is the only place that
executes them: it binds ``:tenant`` and reports each statement to the observer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from twinmesh.audit.records import GENESIS, AuditEvent, SealedRecord, seal
from twinmesh.domain import TenantId
from twinmesh.errors import StoreUnavailable
from twinmesh.store.embedded import sql
from twinmesh.store.embedded.schema import COLUMN_UPGRADES, SCHEMA
from twinmesh.store.port import StatementObserver

T = TypeVar("T")
Row = tuple[Any, ...]
Connection = sqlite3.Connection

MEMORY = ":memory:"


class SqliteBase:
    """The connection, its thread, statement execution and audited transactions."""

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

    async def _transaction(
        self, work: Callable[[Connection], T], audit: AuditEvent | None = None
    ) -> T:
        """Run ``work`` in one immediate transaction: all of it commits, or none of it.

        With ``audit``, the event is appended to its tenant's chain in the same transaction
        after ``work`` succeeds: the change and its record commit together or not at all.
        """

        def atomically(conn: Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                if audit is not None:
                    self._append(conn, TenantId(audit.tenant), [audit])
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

    def _append(
        self, conn: Connection, tenant: TenantId, events: Sequence[AuditEvent]
    ) -> list[SealedRecord]:
        """Seal and insert events after the tenant's chain head, inside the open transaction
        (BEGIN IMMEDIATE holds SQLite's write lock, so the head cannot move meanwhile)."""
        head = self._run(conn, sql.GET_AUDIT_HEAD, tenant).fetchone()
        seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
        sealed: list[SealedRecord] = []
        for event in events:
            if event.tenant != tenant:
                raise ValueError("an audit event must belong to the tenant of its change")
            seq += 1
            record = seal(event, seq, prev_hash)
            self._run(
                conn,
                sql.INSERT_AUDIT_RECORD,
                tenant,
                seq=record.seq,
                time=record.time,
                hash=record.hash,
                record=record.text,
            )
            sealed.append(record)
            prev_hash = record.hash
        self._run(conn, sql.SET_AUDIT_HEAD, tenant, seq=seq, hash=prev_hash)
        return sealed
