"""Offline verification of an audit export (``twinmesh audit verify``).

The verifier reads an export in any of its formats (:func:`twinmesh.audit.formats.parse`) in
one pass and stops at the first problem, naming the first sequence number that cannot be
trusted. It checks that

* the records are consecutive from the header's ``fromSeq``, belong to the header's tenant,
  hash to their ``hash`` and link by ``prevHash`` (record 1 to the genesis hash);
* every checkpoint is signed by a key valid at its time (the header's keys, or only the
  ``trusted_keys`` given) and agrees with the records at both ends of its range;
* signed checkpoints cover the export: one ends at the last record, and one starts at the
  first record or ends right before it (the retention cut);
* checkpoints the auditor kept from earlier (``anchors``) agree with the export, so a tail that
  was truncated or rewritten after them is detected even if it was re-signed.

Because each record hashes its predecessor, a verified checkpoint at the last record
authenticates every record before it; the per-record checks only say *where* it went wrong.
The record hashes are kept as 32 bytes each so that any checkpoint can be compared with the
record it names, wherever it appears in the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785

from twinmesh.audit.checkpoints import Checkpoint, checkpoint_problem, header_digest
from twinmesh.audit.formats import ExportFormatError, parse
from twinmesh.audit.records import FORMAT, GENESIS, ExportHeader, recompute_hash
from twinmesh.identity import Keyring, KeyringError

__all__ = ["VerifyReport", "verify_export"]

_UNTRUSTED_KEYS = (
    "the signing keys were taken from the export itself; verify with trusted keys "
    "(--trusted-keys) to rule out an export re-signed with another key"
)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The verdict on an export; on failure, the first bad sequence number and why."""

    ok: bool
    tenant: str
    records: int
    checkpoints: int  # verified checkpoints of the export (not the anchors)
    first_seq: int | None
    last_seq: int | None
    key_ids: tuple[str, ...]
    first_bad_seq: int | None = None
    problem: str | None = None
    line: int | None = None  # the export line where the problem was found, when there is one
    warnings: tuple[str, ...] = ()


def verify_export(
    lines: Iterable[str | bytes],
    *,
    trusted_keys: Keyring | None = None,
    anchors: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Verify an export (any format) read from ``lines``.

    Raises :class:`ExportFormatError` when the input is not an audit export at all (empty, an
    unknown format, or no readable header on its first line); every problem after the header
    is reported in the :class:`VerifyReport` instead.
    """
    items = parse(lines)
    first = next(items, None)
    if first is None:
        raise ExportFormatError(1, "the export has no header")
    verifier = _Verifier(*first, trusted_keys=trusted_keys)
    try:
        verifier.check_anchors(anchors)
        for number, document in items:
            verifier.item(number, document, items)
        verifier.finish()
    except _Tampered as tampered:
        return verifier.report(tampered)
    except ExportFormatError as error:
        after = f" (after record {verifier.last})" if verifier.last is not None else ""
        return verifier.report(_Tampered(f"{error}{after}", error.seq, error.line))
    return verifier.report(None)


class _Tampered(Exception):
    def __init__(self, problem: str, seq: int | None, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.seq, self.line = problem, seq, line


class _Verifier:
    def __init__(
        self, number: int, document: dict[str, Any], *, trusted_keys: Keyring | None
    ) -> None:
        self.header = _read_header(number, document)
        self.header_digest = header_digest(document)
        self.sealed = False
        self.seal_problem = ""
        self.trusted = trusted_keys is not None
        self.warnings: list[str] = []
        if trusted_keys is None:
            try:
                self.keys = Keyring.from_public_document(self.header.keys)
            except (KeyringError, ValueError) as exc:
                message = f"the header's keys cannot be read: {exc}"
                raise ExportFormatError(number, message) from None
            self.warnings.append(_UNTRUSTED_KEYS)
        else:
            self.keys = trusted_keys
        self.first = self.header.from_seq
        self.last: int | None = None
        self.last_line = 0
        self.first_prev_hash = ""
        self.hashes = bytearray()  # the hash of record first + i at [32 i, 32 i + 32)
        self.verified = 0
        self.key_ids: set[str] = set()
        self.covered_from: set[int] = set()
        self.covered_to: set[int] = set()
        self.linked_to_cut = False
        # Checks waiting for the record they need: (line, checkpoint, kept by the auditor).
        self.pending: dict[int, list[tuple[int, Checkpoint, bool]]] = {}

    # the stream

    def item(self, number: int, document: dict[str, Any], rest: Iterator[Any]) -> None:
        kind = document.get("type")
        if kind == "record":
            self.record(number, document, rest)
        elif kind == "checkpoint":
            self.checkpoint(number, document)
        else:
            raise _Tampered(f"line {number}: a second export header", None, number)

    def record(self, number: int, document: dict[str, Any], rest: Iterator[Any]) -> None:
        seq, expected = document.get("seq"), self._next_seq()
        if type(seq) is not int:
            raise _Tampered(f"line {number}: a record without a sequence number", expected, number)
        if expected is None:
            raise _Tampered(
                f"record {seq} (line {number}) is not part of the export: "
                "its header says it holds no records",
                seq,
                number,
            )
        if seq != expected:
            self._out_of_sequence(number, seq, expected, rest)
        if self.header.to_seq is not None and seq > self.header.to_seq:
            raise _Tampered(
                f"record {seq} (line {number}) lies beyond the export's last record "
                f"{self.header.to_seq}: it was added",
                seq,
                number,
            )
        record_hash, prev_hash = document.get("hash"), document.get("prevHash")
        if not isinstance(record_hash, str) or not isinstance(prev_hash, str):
            raise _Tampered(f"record {seq} is malformed: no hash or prevHash", seq, number)
        try:
            computed = recompute_hash(document)
        except (rfc8785.CanonicalizationError, UnicodeEncodeError):
            raise _Tampered(f"record {seq} is malformed: not hashable", seq, number) from None
        if computed != record_hash:
            raise _Tampered(
                f"record {seq} was altered: its hash does not match its contents", seq, number
            )
        if document.get("tenant") != self.header.tenant:
            raise _Tampered(
                f"record {seq} belongs to tenant {document.get('tenant')!r}, "
                f"not to the export's tenant {self.header.tenant!r}",
                seq,
                number,
            )
        if seq == 1 and prev_hash != GENESIS:
            raise _Tampered("record 1 does not start the chain: its prevHash is not the genesis "
                            "hash", 1, number)  # fmt: skip
        if self.last is None:
            self.first_prev_hash = prev_hash
        elif prev_hash != self._hash_at(seq - 1):
            raise _Tampered(
                f"record {seq} does not follow record {seq - 1}: its prevHash is not the hash of "
                f"record {seq - 1} (record {seq - 1} was rewritten, or records were removed or "
                "inserted between them)",
                seq - 1,
                number,
            )
        self.hashes += bytes.fromhex(computed)
        self.last, self.last_line = seq, number
        for pending_line, checkpoint, kept in self.pending.pop(seq, ()):
            self._compare(pending_line, checkpoint, kept)

    def checkpoint(self, number: int, document: dict[str, Any]) -> None:
        try:
            checkpoint = Checkpoint.from_json(document)
        except ValueError as exc:
            raise _Tampered(f"line {number}: {exc}", self._affected(None), number) from None
        start = self._affected(checkpoint)
        where = f"the checkpoint for records {checkpoint.from_seq}..{checkpoint.to_seq}"
        if checkpoint.as_json() != document:
            raise _Tampered(f"line {number}: {where} has altered or added fields", start, number)
        problem = self._trust_problem(checkpoint)
        if problem is not None:
            raise _Tampered(f"{where} (line {number}) cannot be trusted: {problem}", start, number)
        if checkpoint.export is not None:  # judged at the end, after the specific checks
            span = (checkpoint.from_seq, checkpoint.to_seq)
            if checkpoint.export == self.header_digest and span == (
                self.header.from_seq,
                self.header.to_seq,
            ):
                self.sealed = True
            else:
                self.seal_problem = f"{where} (line {number}) seals another header or range"
        self.verified += 1
        self.key_ids.add(checkpoint.key_id)
        self._schedule(number, checkpoint, kept=False)

    def check_anchors(self, anchors: Sequence[Checkpoint]) -> None:
        for anchor in anchors:
            where = f"the kept checkpoint for records {anchor.from_seq}..{anchor.to_seq}"
            problem = self._trust_problem(anchor)
            if problem is not None:
                raise _Tampered(f"{where} cannot be trusted: {problem}", None)
            if self.first is None or anchor.to_seq < self.first - 1:
                self.warnings.append(f"{where} ends before this export; it was not compared")
            else:
                self._schedule(0, anchor, kept=True)

    def finish(self) -> None:
        first, last = self.first, self.last
        if first is None:
            self.warnings.append("the export holds no records")
            return
        if last is None:
            raise _Tampered(
                f"record {first} is missing: the export holds no records, though its header says "
                f"it covers records {first}..{self.header.to_seq}",
                first,
            )
        if self.pending:
            need = max(self.pending)
            number, checkpoint, kept = max(self.pending[need], key=lambda p: p[1].to_seq)
            whose = "the checkpoint you kept" if kept else f"its checkpoint (line {number})"
            raise _Tampered(
                f"the export ends at record {last} but {whose} covers up to "
                f"{checkpoint.to_seq}: records were removed from its end",
                last + 1,
            )
        if self.header.to_seq is not None and self.header.to_seq > last:
            raise _Tampered(
                f"the export ends at record {last} but its header says it runs to record "
                f"{self.header.to_seq}: records were removed from its end",
                last + 1,
            )
        if first not in self.covered_from and not self.linked_to_cut:
            raise _Tampered(
                f"record {first} is not covered by a signed checkpoint: none starts at it or "
                "ends right before it",
                first,
            )
        if last not in self.covered_to:
            covered = [t for t in self.covered_to if first - 1 <= t < last]
            if not covered:
                raise _Tampered(f"no signed checkpoint covers records {first}..{last}", first)
            raise _Tampered(
                f"records after {max(covered)} are not covered by a signed checkpoint",
                max(covered) + 1,
            )
        if not self.sealed:
            why = self.seal_problem or "no signed checkpoint seals the export's header"
            raise _Tampered(
                f"{why}: the header was edited, or records after {last} were removed and the "
                "header edited to match",
                last + 1,
            )

    def report(self, tampered: _Tampered | None) -> VerifyReport:
        return VerifyReport(
            ok=tampered is None,
            tenant=self.header.tenant,
            records=0 if self.last is None or self.first is None else self.last - self.first + 1,
            checkpoints=self.verified,
            first_seq=self.first if self.last is not None else None,
            last_seq=self.last,
            key_ids=tuple(sorted(self.key_ids)),
            first_bad_seq=None if tampered is None else tampered.seq,
            problem=None if tampered is None else tampered.problem,
            line=None if tampered is None else tampered.line,
            warnings=tuple(self.warnings),
        )

    # checks

    def _out_of_sequence(self, number: int, seq: int, expected: int, rest: Iterator[Any]) -> None:
        if self.last is not None and seq <= self.last:
            again = "appears twice" if seq == self.last else "appears again"
            raise _Tampered(
                f"record {seq} {again} (line {number}, after record {self.last}): "
                "records were duplicated, inserted or reordered",
                seq,
                number,
            )
        if self.last is None and seq < expected:
            raise _Tampered(
                f"the export starts with record {seq}, but its header says it starts at record "
                f"{expected}",
                seq,
                number,
            )
        later = _find_record(rest, expected)
        if later is None:
            raise _Tampered(f"record {expected} is missing", expected, number)
        raise _Tampered(
            f"records are out of order: record {expected} is at line {later}, after record {seq} "
            f"(line {number})",
            expected,
            number,
        )

    def _trust_problem(self, checkpoint: Checkpoint) -> str | None:
        if checkpoint.tenant != self.header.tenant:
            return f"it is for tenant {checkpoint.tenant!r}, not {self.header.tenant!r}"
        if not 1 <= checkpoint.from_seq <= checkpoint.to_seq:
            return "its range is empty"
        if self.keys.find(checkpoint.key_id) is None:
            among = "the trusted keys" if self.trusted else "the export's keys"
            return f"it is signed with key {checkpoint.key_id!r}, which is not among {among}"
        try:
            zone = datetime.fromisoformat(checkpoint.time).utcoffset()
        except ValueError:
            zone = None
        if zone is None:  # a naive time cannot be compared with a key's validity
            return f"its time {checkpoint.time!r} is not a UTC time"
        return checkpoint_problem(checkpoint, self.keys)

    def _schedule(self, number: int, checkpoint: Checkpoint, *, kept: bool) -> None:
        """Compare the checkpoint with its records now, or when the record it needs arrives."""
        if self.first is None:
            return
        if checkpoint.to_seq < self.first - 1:
            return  # ends before the export; it authenticates nothing in it
        need = max(checkpoint.to_seq, self.first)
        if self.last is not None and need <= self.last:
            self._compare(number, checkpoint, kept)
        else:
            self.pending.setdefault(need, []).append((number, checkpoint, kept))

    def _compare(self, number: int, checkpoint: Checkpoint, kept: bool) -> None:
        assert self.first is not None
        first, f, t = self.first, checkpoint.from_seq, checkpoint.to_seq
        line = None if kept else number
        where = (
            f"the checkpoint you kept for records {f}..{t}"
            if kept
            else f"the signed checkpoint for records {f}..{t} (line {number})"
        )
        if t == first - 1:
            if self.first_prev_hash != checkpoint.to_hash:
                raise _Tampered(
                    f"record {first} does not follow {where}: its prevHash is not the "
                    "checkpoint's last hash",
                    first,
                    line,
                )
            self.linked_to_cut = self.linked_to_cut or not kept
            return
        if f >= first and self._prev_hash_at(f) != checkpoint.from_prev_hash:
            raise _Tampered(
                f"record {f} does not match {where}: its prevHash is not the one signed",
                f,
                line,
            )
        if self._hash_at(t) != checkpoint.to_hash:
            start = max(f, first)
            change = "were rewritten after" if kept else "do not match"
            raise _Tampered(
                f"records {start}..{t} {change} {where}: record {t}'s hash is not the one "
                "signed, so a record in that range was altered, inserted or removed",
                start,
                line,
            )
        if not kept:
            self.covered_to.add(t)
            if f == first:
                self.covered_from.add(f)

    # positions

    def _next_seq(self) -> int | None:
        return self.first if self.last is None else self.last + 1

    def _hash_at(self, seq: int) -> str:
        assert self.first is not None
        offset = 32 * (seq - self.first)
        return self.hashes[offset : offset + 32].hex()

    def _prev_hash_at(self, seq: int) -> str:
        assert self.first is not None
        return self.first_prev_hash if seq == self.first else self._hash_at(seq - 1)

    def _affected(self, checkpoint: Checkpoint | None) -> int | None:
        """The first exported record whose coverage a bad checkpoint breaks."""
        if self.first is None:
            return None if checkpoint is None else checkpoint.from_seq
        if checkpoint is None or checkpoint.to_seq < self.first:
            return self.first
        return max(checkpoint.from_seq, self.first)


def _read_header(number: int, document: dict[str, Any]) -> ExportHeader:
    kind = document.get("type")
    if kind != "header":
        raise ExportFormatError(number, f"an export starts with its header, not a {kind}")
    if document.get("format") != FORMAT:
        raise ExportFormatError(
            number, f"unsupported format {document.get('format')!r}; expected {FORMAT!r}"
        )
    header = ExportHeader(
        tenant=document.get("tenant"),  # type: ignore[arg-type]  # checked below
        exported_at=document.get("exportedAt"),  # type: ignore[arg-type]
        since=document.get("since"),
        until=document.get("until"),
        from_seq=document.get("fromSeq"),
        to_seq=document.get("toSeq"),
        keys=document.get("keys"),  # type: ignore[arg-type]
    )
    seqs = (header.from_seq, header.to_seq)
    if (
        not isinstance(header.tenant, str)
        or not isinstance(header.exported_at, str)
        or not isinstance(header.keys, dict)
        or not (
            seqs == (None, None)
            or (type(seqs[0]) is int and type(seqs[1]) is int and 1 <= seqs[0] <= seqs[1])
        )
    ):
        raise ExportFormatError(number, "the export header is malformed")
    return header


def _find_record(rest: Iterator[Any], seq: int) -> int | None:
    """The line of record ``seq`` further on in the stream, if it is there."""
    try:
        for number, document in rest:
            if document.get("type") == "record" and document.get("seq") == seq:
                return int(number)
    except ExportFormatError:
        pass
    return None
