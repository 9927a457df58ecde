"""Test helpers for tests/audit (imported as ``audit.chains``): audit chains built in memory.

A :class:`Chain` seals a few varied events for one tenant, signs stored checkpoints every few
records with a real Ed25519 keyring, and lays out exports exactly as the export stream is
specified: the header, a checkpoint ending right before the first record (the retention cut),
the records each followed by the stored checkpoints ending at it, and a checkpoint signed at
export time over the whole range.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from twinmesh.audit.checkpoints import Checkpoint, header_digest, sign_checkpoint
from twinmesh.audit.formats import ExportFormat, ExportItem, render
from twinmesh.audit.records import (
    GENESIS,
    Actor,
    AuditEvent,
    ExportHeader,
    SealedRecord,
    canonical,
    seal,
    utc_text,
)
from twinmesh.audit.verify import VerifyReport, verify_export
from twinmesh.identity import Keyring

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)

ADA = Actor("user", "ada", ("operator", "viewer"), client_id="console")
PARTNER = Actor("partner", "org-b")

# (actor, action, resource type, resource id, outcome, policies, error)
_EVENTS: tuple[tuple[Actor, str, str, str, str, tuple[str, ...], str | None], ...] = (
    (ADA, "createTwin", "Twin", "room-1", "success", ("operators-write",), None),
    (ADA, "updateTwin", "Twin", "room-1", "success", ("operators-write",), None),
    (PARTNER, "readTwin", "Twin", "room-1", "denied", ("partner-read", "forbid-hvac"), "FORBIDDEN"),
    (ADA, "uploadModels", "Model", "dtmi:demo:Room;1", "success", (), None),
    (ADA, "writeProperty", "Twin", "room-1", "failure", (), "VERSION_CONFLICT"),
    (ADA, "deleteTwin", "Twin", "room-2", "success", ("operators-write",), None),
    (ADA, "administerPolicies", "PolicySet", "default", "success", (), None),
    (ADA, "exportAudit", "AuditLog", "a", "success", (), None),
)


def event(n: int, tenant: str = "a", **changes: Any) -> AuditEvent:
    """The ``n``-th sample event (they cycle), ``changes`` applied."""
    actor, action, resource_type, resource_id, outcome, policies, error = _EVENTS[n % len(_EVENTS)]
    base = AuditEvent(
        tenant=tenant,
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,  # type: ignore[arg-type]
        effect="deny" if outcome == "denied" else "allow",
        policies=policies,
        error=error,
        request_id=f"req-{n}",
        trace_id=f"{n:032x}",
        source_ip="192.0.2.7" if n % 3 else None,
        details={"n": n, "ok": n % 2 == 0, "names": ["x", "y"]},
        time=T0 + n * MINUTE,
    )
    return dataclasses.replace(base, **changes)


def prev_hash(record: SealedRecord) -> str:
    value: str = record.as_json()["prevHash"]
    return value


@dataclass
class Chain:
    """One tenant's sealed records and the checkpoints the server stored for them."""

    keyring: Keyring
    tenant: str = "a"
    records: list[SealedRecord] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        count: int = 12,
        *,
        tenant: str = "a",
        every: int = 4,
        keyring: Keyring | None = None,
    ) -> Chain:
        """``count`` records from seq 1, a stored checkpoint every ``every`` records."""
        chain = cls(keyring or Keyring.generate(now=T0 - DAY), tenant)
        chain.append(count, every=every)
        return chain

    def append(self, count: int, *, every: int = 4, **changes: Any) -> None:
        """Seal ``count`` more records; sign a stored checkpoint after each ``every``."""
        for _ in range(count):
            seq = len(self.records) + 1
            previous = self.records[-1].hash if self.records else GENESIS
            self.records.append(seal(event(seq, self.tenant, **changes), seq, previous))
            if seq % every == 0:
                self.checkpoints.append(self.sign(seq - every + 1, seq))

    def record(self, seq: int) -> SealedRecord:
        return self.records[seq - 1]

    def sign(
        self,
        from_seq: int,
        to_seq: int,
        *,
        key_at: datetime | None = None,
        export: str | None = None,
    ) -> Checkpoint:
        """A checkpoint over ``from_seq..to_seq``, signed at the last record's time + 1s
        (``export``: the digest of the header it seals)."""
        moment = key_at or datetime.fromisoformat(self.record(to_seq).time) + timedelta(seconds=1)
        return sign_checkpoint(
            self.tenant,
            from_seq=from_seq,
            from_prev_hash=prev_hash(self.record(from_seq)),
            to_seq=to_seq,
            to_hash=self.record(to_seq).hash,
            key=self.keyring.signing_key(moment),
            moment=moment,
            export=export,
        )

    def export(
        self, first: int = 1, last: int | None = None, *, at: datetime | None = None
    ) -> list[ExportItem]:
        """The export stream of records ``first..last`` (default: all), made at ``at``."""
        last = len(self.records) if last is None else last
        at = at or T0 + 30 * DAY
        records = [r for r in self.records if first <= r.seq <= last]
        oldest = min((datetime.fromisoformat(c.time) for c in self.checkpoints), default=at)
        header = ExportHeader(
            tenant=self.tenant,
            exported_at=utc_text(at),
            since=None,
            until=None,
            from_seq=first if records else None,
            to_seq=last if records else None,
            keys=self.keyring.public_document(at=oldest),
        )
        items: list[ExportItem] = [header]
        items += [c for c in self.checkpoints if c.to_seq == first - 1]
        for record in records:
            items.append(record)
            items += [c for c in self.checkpoints if c.to_seq == record.seq]
        if records:
            items.append(self.sign(first, last, key_at=at, export=header_digest(header.as_json())))
        return items


def rendered(items: Sequence[ExportItem], fmt: ExportFormat = "ndjson") -> bytes:
    return b"".join(render(items, fmt))


def lines(data: bytes) -> list[bytes]:
    """``data`` split into lines as iterating a binary file does (only at ``\\n``)."""
    return io.BytesIO(data).readlines()


def verify(
    items: Sequence[ExportItem],
    fmt: ExportFormat = "ndjson",
    *,
    trusted_keys: Keyring | None = None,
    anchors: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Render ``items`` in ``fmt`` and verify the result."""
    return verify_export(lines(rendered(items, fmt)), trusted_keys=trusted_keys, anchors=anchors)


def with_record(record: SealedRecord, **changes: Any) -> SealedRecord:
    """``record`` with top-level fields changed and its text re-encoded, hash left as it was."""
    document = {**record.as_json(), **changes}
    return SealedRecord(record.seq, record.hash, record.time, canonical(document).decode())
