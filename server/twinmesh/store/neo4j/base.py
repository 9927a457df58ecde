"""Plumbing of the Neo4j store: the async driver, error translation, audited transactions.

:meth:`Neo4jBase._run` is the one place that sends a tenant statement: it binds ``$tenant``
from the verified tenant and reports every statement to the observer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError, DriverError, Neo4jError

from twinmesh.audit.records import GENESIS, AuditEvent, SealedRecord, seal
from twinmesh.domain import TenantId
from twinmesh.errors import Conflict, StoreUnavailable, TwinmeshError
from twinmesh.store.neo4j import cypher
from twinmesh.store.port import StatementObserver

T = TypeVar("T")
Record = dict[str, Any]


class Neo4jBase:
    """The driver, statement execution, error translation and audited transactions."""

    def __init__(
        self,
        uri: str,
        *,
        user: str = "neo4j",
        password: str = "",
        database: str = "neo4j",
        connect_timeout_s: float = 3.0,
        retry_budget_s: float = 5.0,
        observer: StatementObserver | None = None,
    ) -> None:
        self._uri = uri
        self._auth = (user, password)
        self._database = database
        self._observer = observer
        self._connect_timeout_s = connect_timeout_s
        self._retry_budget_s = retry_budget_s
        self._driver: AsyncDriver | None = None

    # -- plumbing --------------------------------------------------------------------------

    @property
    def driver(self) -> AsyncDriver:
        if self._driver is None:
            raise StoreUnavailable("The Neo4j store is not open.")
        return self._driver

    async def _run(
        self, tx: AsyncManagedTransaction, query: str, tenant: TenantId, **params: Any
    ) -> list[Record]:
        """Send one tenant statement; ``$tenant`` is always bound from the verified tenant."""
        bound = {**params, "tenant": tenant}
        if self._observer is not None:
            self._observer(query, bound)
        result = await tx.run(query, bound)
        return [record.data() async for record in result]

    @asynccontextmanager
    async def _translated_errors(self) -> AsyncIterator[None]:
        try:
            yield
        except TwinmeshError:
            raise
        except ConstraintError as exc:
            raise Conflict("That id is already taken; choose another.") from exc
        except (DriverError, Neo4jError, OSError) as exc:
            raise StoreUnavailable(
                "The Neo4j store could not complete the request; try again."
            ) from exc

    async def _write(
        self,
        work: Callable[[AsyncManagedTransaction], Awaitable[T]],
        audit: AuditEvent | None = None,
    ) -> T:
        """Run ``work`` in one managed write transaction (retried on transient errors).

        With ``audit``, the event is appended to its tenant's chain in the same transaction
        after ``work`` succeeds: the change and its record commit together or not at all.
        """

        async def audited(tx: AsyncManagedTransaction) -> T:
            result = await work(tx)
            if audit is not None:
                await self._append(tx, TenantId(audit.tenant), [audit])
            return result

        async with self._translated_errors(), self.driver.session(database=self._database) as s:
            return await s.execute_write(audited)

    async def _read(self, work: Callable[[AsyncManagedTransaction], Awaitable[T]]) -> T:
        async with self._translated_errors(), self.driver.session(database=self._database) as s:
            return await s.execute_read(work)

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        self._driver = AsyncGraphDatabase.driver(
            self._uri,
            auth=self._auth,
            notifications_min_severity="OFF",
            connection_timeout=self._connect_timeout_s,
            connection_acquisition_timeout=self._connect_timeout_s,
            # Transient failures are retried within this budget, then reported as unavailable.
            max_transaction_retry_time=self._retry_budget_s,
        )
        async with self._translated_errors():
            await self._driver.verify_connectivity()
            for statement in cypher.SCHEMA:
                if self._observer is not None:
                    self._observer(statement, {})
                await self._driver.execute_query(statement, database_=self._database)

    async def close(self) -> None:
        if self._driver is not None:
            await self._driver.close()
            self._driver = None

    async def ping(self) -> None:
        # An auto-commit query: one attempt, no retries, so readiness answers quickly.
        async with self._translated_errors(), self.driver.session(database=self._database) as s:
            result = await s.run(cypher.PING)
            await result.consume()

    async def _append(
        self, tx: AsyncManagedTransaction, tenant: TenantId, events: Sequence[AuditEvent]
    ) -> list[SealedRecord]:
        """Seal events after the tenant's chain head, locked first, inside ``tx``."""
        head = await self._run(tx, cypher.LOCK_AUDIT_HEAD, tenant, genesis=GENESIS)
        seq, prev_hash = head[0]["seq"], head[0]["hash"]
        sealed: list[SealedRecord] = []
        for event in events:
            if event.tenant != tenant:
                raise ValueError("an audit event must belong to the tenant of its change")
            seq += 1
            record = seal(event, seq, prev_hash)
            sealed.append(record)
            prev_hash = record.hash
        await self._run(
            tx,
            cypher.APPEND_AUDIT,
            tenant,
            seq=seq,
            hash=prev_hash,
            records=[
                {"seq": r.seq, "time": r.time, "hash": r.hash, "text": r.text} for r in sealed
            ],
        )
        return sealed
