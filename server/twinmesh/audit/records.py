"""Audit records and the per-tenant hash chain.

An :class:`AuditEvent` is what the services know about one decision or change (who, what,
when, where from, outcome, policy ids, request and trace ids). A store appends it in the
transaction of the change it records, with the tenant's chain head read under a lock:
:func:`seal` gives it the next sequence number, links it to the previous record's hash and
hashes it. The hash is SHA-256 over the record's RFC 8785 canonical JSON (without ``hash``),
so anyone can recompute it from an export, in any language, byte for byte.

Records are stored and exported as that canonical JSON plus ``hash``; verification
(:mod:`twinmesh.audit.verify`) never re-serialises a record through anything but RFC 8785.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import orjson
import rfc8785

FORMAT: Final = "twinmesh-audit/1"
GENESIS: Final = "0" * 64  # the previous hash of a tenant's first record
Outcome = Literal["success", "denied", "failure"]
Effect = Literal["allow", "deny"]


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``; sorts as text in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(document: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    return rfc8785.dumps(document)


def digest(document: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON."""
    return hashlib.sha256(canonical(document)).hexdigest()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a user, a service client, a partner organisation, or twinmesh itself."""

    type: Literal["user", "service", "partner", "system", "anonymous"]
    id: str
    roles: tuple[str, ...] = ()
    client_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "roles": sorted(self.roles),
            "clientId": self.client_id,
        }


SYSTEM: Final = Actor("system", "twinmesh")


@dataclass(slots=True)
class AuditEvent:
    """One audited decision or change, before it has a place in the chain.

    Mutable on purpose in two fields: an authorisation made inside a store transaction
    (a patch is authorised on the locked twin) records its decision with :meth:`decided`
    before the store seals the event.
    """

    tenant: str
    actor: Actor
    action: str
    resource_type: str
    resource_id: str
    outcome: Outcome = "success"
    effect: Effect = "allow"
    policies: tuple[str, ...] = ()
    error: str | None = None
    request_id: str | None = None
    trace_id: str | None = None
    source_ip: str | None = None
    details: dict[str, str | int | bool | list[str]] = field(default_factory=dict)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def decided(self, allowed: bool, policies: tuple[str, ...]) -> None:
        self.effect = "allow" if allowed else "deny"
        self.policies = policies

    def failed(self, outcome: Outcome, error: str | None) -> AuditEvent:
        """A copy recording that the change did not happen."""
        return dataclasses.replace(self, outcome=outcome, error=error, details=dict(self.details))

    def body(self) -> dict[str, Any]:
        """The record's fields other than its place in the chain."""
        return {
            "time": utc_text(self.time),
            "tenant": self.tenant,
            "principal": self.actor.as_json(),
            "action": self.action,
            "resource": {"type": self.resource_type, "id": self.resource_id},
            "decision": {"effect": self.effect, "policies": list(self.policies)},
            "outcome": self.outcome,
            "error": self.error,
            "requestId": self.request_id,
            "traceId": self.trace_id,
            "source": {"ip": self.source_ip},
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """A record with its place in the chain; ``text`` is what stores keep and exports carry."""

    seq: int
    hash: str
    time: str
    text: str

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = orjson.loads(self.text)
        return document


def seal(event: AuditEvent, seq: int, prev_hash: str) -> SealedRecord:
    """Give ``event`` sequence number ``seq`` after the record whose hash is ``prev_hash``.

    Each value is canonicalised once; the record's canonical text without and with ``hash``
    are joins of those parts in RFC 8785 key order (the keys are fixed ASCII names, so code
    point order is UTF-16 order). Sealing runs inside the store's write transaction.
    """
    record = {"type": "record", "seq": seq, **event.body(), "prevHash": prev_hash}
    parts = {key: canonical(value) for key, value in record.items()}
    record_hash = hashlib.sha256(_joined(parts)).hexdigest()
    parts["hash"] = canonical(record_hash)
    text = _joined(parts).decode()
    return SealedRecord(seq=seq, hash=record_hash, time=record["time"], text=text)


def _joined(parts: dict[str, bytes]) -> bytes:
    return (
        b"{" + b",".join(b'"' + key.encode() + b'":' + parts[key] for key in sorted(parts)) + b"}"
    )


def recompute_hash(record: dict[str, Any]) -> str:
    """The hash a record should carry, from all of its other fields."""
    return digest({k: v for k, v in record.items() if k != "hash"})


@dataclass(frozen=True, slots=True)
class ExportHeader:
    """The first item of an export: what it covers and the public keys that verify it."""

    tenant: str
    exported_at: str
    since: str | None
    until: str | None
    from_seq: int | None
    to_seq: int | None
    keys: dict[str, Any]  # a Keyring.public_document()

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "header",
            "format": FORMAT,
            "tenant": self.tenant,
            "exportedAt": self.exported_at,
            "since": self.since,
            "until": self.until,
            "fromSeq": self.from_seq,
            "toSeq": self.to_seq,
            "keys": self.keys,
        }
