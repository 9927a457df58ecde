"""Render an export stream as it is read from the store, without holding it in memory.

:func:`twinmesh.audit.formats.render` encodes a whole (synchronous) stream; an export is read
page by page from the store, asynchronously. This cuts the stream into segments, one per
record with the checkpoints that follow it (the first also holds the header), and renders
each: OCSF attaches checkpoints to the record before them, which a segment always contains.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from twinmesh.audit.formats import ExportFormat, ExportItem, render
from twinmesh.audit.records import SealedRecord


async def render_stream(
    items: AsyncIterator[ExportItem], fmt: ExportFormat
) -> AsyncIterator[bytes]:
    segment: list[ExportItem] = []
    first = True

    def encode(part: list[ExportItem], first: bool) -> bytes:
        chunks = list(render(part, fmt))
        if fmt == "csv" and not first:
            chunks = chunks[1:]  # the column names, once per export
        return b"".join(chunks)

    async for item in items:
        if isinstance(item, SealedRecord) and any(isinstance(i, SealedRecord) for i in segment):
            yield encode(segment, first)
            segment, first = [], False
        segment.append(item)
    if segment:
        yield encode(segment, first)
