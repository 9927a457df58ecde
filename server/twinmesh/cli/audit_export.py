"""``twinmesh audit export``: an operator's export straight from the store.

It reads the store the settings name (as the server does) and writes the same stream as
``GET /audit/export``, sealed with the organisation key. The export itself is recorded in the
tenant's audit log, as a service principal named after the operating-system user.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import AsyncIterator
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from twinmesh.audit.formats import ExportFormat, ExportItem
from twinmesh.audit.records import Actor, ExportHeader, SealedRecord
from twinmesh.audit.streaming import render_stream
from twinmesh.bootstrap import build_store
from twinmesh.config import Settings
from twinmesh.domain import TenantId, validate_tenant_id
from twinmesh.identity import KEYRING_FILE, Keyring
from twinmesh.services.audit import RequestAudit, RequestInfo
from twinmesh.services.audit_log import AuditLog


async def export_to(
    settings: Settings,
    tenant: str,
    *,
    since: datetime | None,
    until: datetime | None,
    fmt: ExportFormat,
    output: Path | None,
) -> int:
    """Write the export; the number of records written."""
    tenant_id = TenantId(validate_tenant_id(tenant))
    keyring = Keyring.load(settings.keys_file or settings.data_dir / KEYRING_FILE)
    store = build_store(settings)
    await store.open()
    try:
        operator = Actor("service", f"cli:{getpass.getuser()}")
        audit = RequestAudit(store, tenant_id, operator, RequestInfo.internal())
        event = audit.event("exportAudit", "AuditLog", "log")
        event.details.update(
            since=since.isoformat() if since else "", until=until.isoformat() if until else ""
        )
        await audit.record(event)
        log = AuditLog(store, keyring)
        opened: Any = nullcontext(sys.stdout.buffer) if output is None else output.open("wb")
        with opened as sink, _progress(output is not None) as progress:
            return await _write(
                log.export(tenant_id, since=since, until=until), fmt, sink, progress
            )
    finally:
        await store.close()


def _progress(visible: bool) -> Progress:
    return Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        disable=not visible,
        transient=False,
    )


async def _write(
    items: AsyncIterator[ExportItem], fmt: ExportFormat, sink: IO[bytes], progress: Progress
) -> int:
    written = 0
    task = progress.add_task("export", total=None)

    async def counted() -> AsyncIterator[ExportItem]:
        nonlocal written
        async for item in items:
            if isinstance(item, ExportHeader) and item.from_seq and item.to_seq:
                progress.update(task, total=item.to_seq - item.from_seq + 1)
            elif isinstance(item, SealedRecord):
                written += 1
                progress.advance(task)
            yield item

    async for chunk in render_stream(counted(), fmt):
        sink.write(chunk)
    return written
