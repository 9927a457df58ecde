"""Signed checkpoints: the organisation's signature over a range of a tenant's audit chain.

Like CloudTrail's digest files, a checkpoint covers a contiguous range of records: it names
the first record's sequence number and previous hash and the last record's sequence number
and hash. Because every record hashes its predecessor, the signature authenticates every
record of the range, and consecutive checkpoints chain (one's ``toHash`` is the next one's
``fromPrevHash``). The signature is Ed25519 over the RFC 8785 canonical JSON of the
checkpoint without ``signature``, made with the organisation key valid at ``time``; the key
id travels with it, so checkpoints stay verifiable after rotation as long as the public key
(with its validity) is kept, which :class:`~twinmesh.identity.Keyring` never drops.

The checkpoint an export ends with also signs ``export``: the hash of the export's header,
which names the exported range. So an export cut short (with its header edited to match) no
longer carries a valid seal, even when it ends exactly at a periodic checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twinmesh.audit.records import FORMAT, canonical, utc_text
from twinmesh.identity import Keyring, OrgKey


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that records ``from_seq``..``to_seq`` of a tenant's chain exist."""

    tenant: str
    from_seq: int
    from_prev_hash: str
    to_seq: int
    to_hash: str
    time: str
    key_id: str
    signature: str  # base64url, no padding
    export: str | None = None  # the header digest, on the checkpoint that seals an export

    def signed_part(self) -> dict[str, Any]:
        sealed = {} if self.export is None else {"export": self.export}
        return {
            **sealed,
            "type": "checkpoint",
            "format": FORMAT,
            "tenant": self.tenant,
            "fromSeq": self.from_seq,
            "fromPrevHash": self.from_prev_hash,
            "toSeq": self.to_seq,
            "toHash": self.to_hash,
            "time": self.time,
            "keyId": self.key_id,
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.signed_part(), "signature": self.signature}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Checkpoint:
        """Parse an exported checkpoint; ``ValueError`` when a field is missing or mistyped."""
        try:
            checkpoint = cls(
                tenant=document["tenant"],
                from_seq=document["fromSeq"],
                from_prev_hash=document["fromPrevHash"],
                to_seq=document["toSeq"],
                to_hash=document["toHash"],
                time=document["time"],
                key_id=document["keyId"],
                signature=document["signature"],
                export=document.get("export"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed checkpoint: {exc}") from None
        ints = (checkpoint.from_seq, checkpoint.to_seq)
        texts = (
            checkpoint.tenant,
            checkpoint.from_prev_hash,
            checkpoint.to_hash,
            checkpoint.time,
            checkpoint.key_id,
            checkpoint.signature,
        )
        if checkpoint.export is not None and not isinstance(checkpoint.export, str):
            raise ValueError("malformed checkpoint: export must be a string")
        if not all(type(v) is int for v in ints) or not all(isinstance(v, str) for v in texts):
            raise ValueError("malformed checkpoint: a field has the wrong type")
        return checkpoint


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_checkpoint(
    tenant: str,
    *,
    from_seq: int,
    from_prev_hash: str,
    to_seq: int,
    to_hash: str,
    key: OrgKey,
    moment: datetime,
    export: str | None = None,
) -> Checkpoint:
    """Sign the range with ``key`` (which must be valid at ``moment``); ``export`` is the
    header digest (:func:`header_digest`) when the checkpoint seals an export."""
    unsigned = Checkpoint(
        tenant, from_seq, from_prev_hash, to_seq, to_hash, utc_text(moment), key.kid, "", export
    )
    signature = _b64(key.sign(canonical(unsigned.signed_part())))
    return dataclasses.replace(unsigned, signature=signature)


def header_digest(header: dict[str, Any]) -> str:
    """What an export's sealing checkpoint signs of its header."""
    return hashlib.sha256(canonical(header)).hexdigest()


def checkpoint_problem(checkpoint: Checkpoint, keys: Keyring) -> str | None:
    """Why the checkpoint's signature cannot be trusted, or ``None`` when it verifies."""
    key = keys.find(checkpoint.key_id)
    if key is None:
        return f"checkpoint signed with unknown key {checkpoint.key_id!r}"
    try:
        moment = datetime.fromisoformat(checkpoint.time)
        signature = _unb64(checkpoint.signature)
    except (ValueError, binascii.Error):
        return "checkpoint has a malformed time or signature"
    if moment.utcoffset() is None:
        return "checkpoint time has no time zone"
    if not key.valid_at(moment):
        return f"checkpoint time {checkpoint.time} is outside key {key.kid!r}'s validity"
    if not key.verify(signature, canonical(checkpoint.signed_part())):
        return "checkpoint signature does not verify"
    return None
