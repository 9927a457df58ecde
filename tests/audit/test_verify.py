"""The offline verifier (SECURITY.md items 47, 48, 51, 53) and ``twinmesh audit verify``.

Each kind of tampering is applied to the logical export stream and checked in every format,
so the verifier names the same first bad sequence number however the export was encoded.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from audit.chains import (
    DAY,
    T0,
    Chain,
    event,
    lines,
    prev_hash,
    rendered,
    verify,
    with_record,
)
from twinmesh.audit.checkpoints import Checkpoint, sign_checkpoint
from twinmesh.audit.formats import FORMATS, ExportFormat, ExportFormatError, ExportItem
from twinmesh.audit.records import ExportHeader, SealedRecord, seal
from twinmesh.audit.verify import verify_export
from twinmesh.cli.audit_cmd import audit_app
from twinmesh.identity import Keyring

every_format = pytest.mark.parametrize("fmt", FORMATS)


@pytest.fixture(scope="module")
def chain() -> Chain:
    """Records 1..12, stored checkpoints 1..4, 5..8, 9..12."""
    return Chain.build(12)


@pytest.fixture
def export(chain: Chain) -> list[ExportItem]:
    return chain.export()


def index_of(items: list[ExportItem], seq: int) -> int:
    return next(i for i, it in enumerate(items) if isinstance(it, SealedRecord) and it.seq == seq)


def replace_header(items: list[ExportItem], **changes: object) -> list[ExportItem]:
    header = items[0]
    assert isinstance(header, ExportHeader)
    return [dataclasses.replace(header, **changes), *items[1:]]  # type: ignore[arg-type]


def forge_from(chain: Chain, seq: int, **changes: object) -> Chain:
    """A copy of ``chain`` whose record ``seq`` was rewritten with ``changes`` and every record
    and checkpoint after it resealed and signed again with the chain's key: what someone
    holding the key could do."""
    forged = Chain(chain.keyring, chain.tenant, chain.records[: seq - 1], [])
    previous = chain.record(seq - 1).hash
    for n in range(seq, len(chain.records) + 1):
        forged.records.append(
            seal(event(n, chain.tenant, **(changes if n == seq else {})), n, previous)
        )
        previous = forged.records[-1].hash
    forged.checkpoints = [forged.sign(c.from_seq, c.to_seq) for c in chain.checkpoints]
    return forged


# untouched exports


@every_format
def test_an_untouched_export_verifies(chain: Chain, fmt: ExportFormat) -> None:
    report = verify(chain.export(), fmt)
    assert report.ok, report.problem
    assert (report.tenant, report.records, report.first_seq, report.last_seq) == ("a", 12, 1, 12)
    assert report.checkpoints == 4  # three stored, one signed at export time
    assert report.key_ids == (chain.keyring.keys[0].kid,)
    assert (report.first_bad_seq, report.problem, report.line) == (None, None, None)
    assert len(report.warnings) == 1
    assert "taken from the export itself" in report.warnings[0]


@every_format
def test_with_trusted_keys_there_is_no_warning(chain: Chain, fmt: ExportFormat) -> None:
    trusted = Keyring.from_public_document(chain.keyring.public_document(at=T0))
    report = verify(chain.export(), fmt, trusted_keys=trusted)
    assert report.ok
    assert report.warnings == ()


@every_format
def test_a_part_of_the_chain_verifies(chain: Chain, fmt: ExportFormat) -> None:
    # 3..10: stored checkpoints 1..4 and 5..8 end inside; 9..12 does not, the export's covers.
    report = verify(chain.export(3, 10), fmt)
    assert report.ok, report.problem
    assert (report.records, report.first_seq, report.last_seq) == (8, 3, 10)


@every_format
def test_an_empty_export_verifies_with_a_warning(fmt: ExportFormat) -> None:
    report = verify(Chain.build(0).export(), fmt)
    assert report.ok
    assert (report.records, report.first_seq, report.last_seq) == (0, None, None)
    assert "the export holds no records" in report.warnings


# tampering: SECURITY.md item 47 and the tail (item 48 without kept checkpoints)


Tamper = Callable[[Chain, list[ExportItem]], list[ExportItem]]


def edit_record_7(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    i = index_of(items, 7)
    record = items[i]
    assert isinstance(record, SealedRecord)
    return [*items[:i], with_record(record, outcome="denied"), *items[i + 1 :]]


def delete_record_7(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    i = index_of(items, 7)
    return [*items[:i], *items[i + 1 :]]


def swap_records_7_and_8(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    i, j = index_of(items, 7), index_of(items, 8)
    swapped = list(items)
    swapped[i], swapped[j] = items[j], items[i]
    return swapped


def duplicate_record_5(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    i = index_of(items, 5)
    return [*items[: i + 1], items[i], *items[i + 1 :]]


def insert_forged_record_7(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    forged = seal(event(99, resource_id="room-x"), 7, chain.record(6).hash)  # a correct hash
    i = index_of(items, 7)
    return [*items[:i], forged, *items[i:]]


def insert_and_renumber(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    """Insert a forged record 7, then renumber and reseal the later records (links kept)."""
    i = index_of(items, 7)
    out = [*items[:i], seal(event(99, resource_id="room-x"), 7, chain.record(6).hash)]
    for item in items[i:]:
        if isinstance(item, SealedRecord):
            item = seal(event(item.seq), item.seq + 1, prev_hash(item))
        out.append(item)
    return out


def insert_and_rechain(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    """Insert a forged record 7, then renumber, relink and reseal every later record."""
    i = index_of(items, 7)
    previous = seal(event(99, resource_id="room-x"), 7, chain.record(6).hash)
    out = [*items[:i], previous]
    for item in items[i:]:
        if isinstance(item, SealedRecord):
            previous = item = seal(event(item.seq), item.seq + 1, previous.hash)
        out.append(item)
    return out


def truncate_tail(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    """Drop records 10..12 (and the stored checkpoint 9..12); keep the export's checkpoint."""
    return [*items[: index_of(items, 10)], items[-1]]


def truncate_tail_and_final_checkpoint(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    return items[: index_of(items, 10)]


def truncate_tail_and_header(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    return replace_header(items[: index_of(items, 10)], to_seq=9)


def append_forged_record_13(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    forged = seal(event(13), 13, chain.record(12).hash)
    return [*replace_header(items, to_seq=13), forged]


def edit_checkpoint_5_8(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    i = next(i for i, it in enumerate(items) if isinstance(it, Checkpoint) and it.to_seq == 8)
    checkpoint = items[i]
    assert isinstance(checkpoint, Checkpoint)
    edited = dataclasses.replace(checkpoint, to_hash=chain.record(7).hash)
    return [*items[:i], edited, *items[i + 1 :]]


def header_for_tenant_b(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    return replace_header(items, tenant="b")


def final_checkpoint_of_tenant_b(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    final = items[-1]
    assert isinstance(final, Checkpoint)
    moment = datetime.fromisoformat(final.time)
    signed_for_b = sign_checkpoint(
        "b",
        from_seq=1,
        from_prev_hash=final.from_prev_hash,
        to_seq=12,
        to_hash=final.to_hash,
        key=chain.keyring.signing_key(moment),
        moment=moment,
    )
    return [*items[:-1], signed_for_b]


def delete_records_1_to_3_and_edit_header(
    chain: Chain, items: list[ExportItem]
) -> list[ExportItem]:
    kept = [it for it in items if not (isinstance(it, SealedRecord) and it.seq <= 3)]
    return replace_header(kept, from_seq=4)


def delete_every_record(chain: Chain, items: list[ExportItem]) -> list[ExportItem]:
    return [it for it in items if not isinstance(it, SealedRecord)]


TAMPERING: list[tuple[Tamper, int, str]] = [
    (edit_record_7, 7, "record 7 was altered: its hash does not match its contents"),
    (delete_record_7, 7, "record 7 is missing"),
    (swap_records_7_and_8, 7, "records are out of order: record 7 is at line"),
    (duplicate_record_5, 5, "record 5 appears twice"),
    (insert_forged_record_7, 7, "record 7 appears twice"),
    (insert_and_renumber, 7, "record 8 does not follow record 7"),
    (insert_and_rechain, 5, "records 5..8 do not match the signed checkpoint for records 5..8"),
    (truncate_tail, 10, "the export ends at record 9 but its checkpoint (line"),
    (truncate_tail_and_final_checkpoint, 10, "ends at record 9 but its header says it runs to"),
    (truncate_tail_and_header, 9, "records after 8 are not covered by a signed checkpoint"),
    (append_forged_record_13, 13, "records after 12 are not covered by a signed checkpoint"),
    (edit_checkpoint_5_8, 5, "records 5..8 (line"),
    (header_for_tenant_b, 1, "record 1 belongs to tenant 'a', not to the export's tenant 'b'"),
    (final_checkpoint_of_tenant_b, 1, "it is for tenant 'b', not 'a'"),
    (delete_records_1_to_3_and_edit_header, 4, "record 4 is not covered by a signed checkpoint"),
    (delete_every_record, 1, "record 1 is missing: the export holds no records"),
]


@every_format
@pytest.mark.parametrize(
    ("tamper", "first_bad", "reason"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING]
)
def test_tampering_is_detected_and_names_the_first_bad_seq(
    chain: Chain,
    export: list[ExportItem],
    tamper: Tamper,
    first_bad: int,
    reason: str,
    fmt: ExportFormat,
) -> None:
    report = verify(tamper(chain, export), fmt)
    assert not report.ok
    assert report.first_bad_seq == first_bad, report.problem
    assert report.problem is not None
    assert reason in report.problem


def test_an_edited_checkpoint_fails_its_signature(chain: Chain, export: list[ExportItem]) -> None:
    report = verify(edit_checkpoint_5_8(chain, export))
    assert report.problem == (
        f"the checkpoint for records 5..8 (line {report.line}) cannot be trusted: "
        "checkpoint signature does not verify"
    )


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b'"outcome":"success"', b'"outcome":"succe$s"', "record 7 was altered"),
        (b'"seq":7', b'"seq":4', "record 4 appears again"),
    ],
)
def test_a_flipped_byte_in_an_ndjson_line_names_the_record(
    export: list[ExportItem], old: bytes, new: bytes, reason: str
) -> None:
    data = lines(rendered(export))
    i = index_of(export, 7)
    assert old in data[i]
    data[i] = data[i].replace(old, new, 1)
    report = verify_export(data)
    assert not report.ok
    assert reason in (report.problem or "")
    assert report.line == i + 1


def test_a_deleted_ndjson_line_names_the_missing_record(export: list[ExportItem]) -> None:
    data = lines(rendered(export))
    del data[index_of(export, 3)]
    report = verify_export(data)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 3, "record 3 is missing")


def test_an_edit_to_the_first_ocsf_event_names_record_1(export: list[ExportItem]) -> None:
    events = [orjson.loads(line) for line in lines(rendered(export, "ocsf"))]
    events[0]["actor"]["user"]["uid"] = "mallory"
    report = verify_export([orjson.dumps(e) + b"\n" for e in events])
    assert (report.ok, report.first_bad_seq, report.line) == (False, 1, 1)
    assert "the event's 'actor' field disagrees with its record" in (report.problem or "")


def test_a_header_that_starts_later_than_the_records_is_named(export: list[ExportItem]) -> None:
    report = verify(replace_header(export, from_seq=4))
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert (
        report.problem
        == "the export starts with record 1, but its header says it starts at record 4"
    )


def test_a_record_with_a_foreign_tenant_is_named(chain: Chain, export: list[ExportItem]) -> None:
    b = Chain.build(12, tenant="b", keyring=chain.keyring)
    items = list(export)
    items[index_of(items, 6)] = b.record(6)
    report = verify(items)
    assert report.first_bad_seq == 6
    assert report.problem == "record 6 belongs to tenant 'b', not to the export's tenant 'a'"


def test_record_1_must_start_from_the_genesis_hash(chain: Chain) -> None:
    forged = Chain(chain.keyring)
    forged.records.append(seal(event(1), 1, "1" * 64))
    forged.checkpoints.append(forged.sign(1, 1))
    report = verify(forged.export())
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert "genesis" in (report.problem or "")


def test_unparseable_lines_after_the_header_fail_verification(export: list[ExportItem]) -> None:
    data = lines(rendered(export))
    data[5] = b"{garbage\n"
    report = verify_export(data)
    assert not report.ok
    assert report.line == 6
    assert report.problem is not None
    assert report.problem.startswith("line 6: not valid JSON")
    assert report.problem.endswith("(after record 4)")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"not an export\n", "not a twinmesh audit export"),
        (b'{"type":"checkpoint"}\n', "starts with its header, not a checkpoint"),
        (b'{"type":"header","format":"other/2"}\n', "unsupported format 'other/2'"),
        (b'{"type":"header","format":"twinmesh-audit/1","tenant":"a"}\n', "header is malformed"),
    ],
)
def test_input_that_is_not_an_export_raises(data: bytes, message: str) -> None:
    with pytest.raises(ExportFormatError, match=message):
        verify_export(lines(data))


# keys: re-signed exports, rotation (item 53)


def test_an_export_re_signed_with_another_key_verifies_only_against_its_own_keys(
    chain: Chain,
) -> None:
    attacker = Keyring.generate(now=T0 - DAY)
    forged = forge_from(
        Chain(attacker, chain.tenant, list(chain.records), list(chain.checkpoints)),
        7,
        outcome="denied",
    )
    items = forged.export()
    self_signed = verify(items)
    assert self_signed.ok
    assert "taken from the export itself" in self_signed.warnings[0]
    assert self_signed.key_ids == (attacker.keys[0].kid,)

    trusted = Keyring.from_public_document(chain.keyring.public_document(at=T0))
    report = verify(items, trusted_keys=trusted)
    assert not report.ok
    assert report.first_bad_seq == 1
    assert f"signed with key {attacker.keys[0].kid!r}, which is not among the trusted keys" in (
        report.problem or ""
    )


def test_checkpoints_signed_before_and_after_a_key_rotation_verify_together() -> None:
    old = Keyring.generate(now=T0 - DAY)
    chain = Chain.build(8, keyring=old)  # checkpoints 1..4 and 5..8 signed with the old key
    old_export = chain.export(at=T0 + DAY)
    chain.keyring = old.rotated(overlap=DAY, now=T0 + 2 * DAY)
    new_key = chain.keyring.keys[-1]
    chain.append(4)  # record times are T0 + n minutes: still inside the old key's window ...
    chain.checkpoints[-1] = chain.sign(9, 12, key_at=T0 + 2 * DAY)  # ... so sign 9..12 anew
    export = chain.export(at=T0 + 10 * DAY)
    report = verify(export)
    assert report.ok, report.problem
    assert set(report.key_ids) == {old.keys[0].kid, new_key.kid}

    # An auditor holding today's public keys still verifies the export made before rotation.
    trusted = Keyring.from_public_document(chain.keyring.public_document(at=T0))
    assert verify(old_export, trusted_keys=trusted).ok
    assert verify(export, trusted_keys=trusted).ok


def test_a_checkpoint_signed_with_a_key_after_its_validity_fails() -> None:
    keyring = Keyring.generate(now=T0 - DAY)
    chain = Chain.build(4, keyring=keyring)
    key = keyring.keys[0]
    late = key.not_after + DAY
    stale = sign_checkpoint(
        "a",
        from_seq=1,
        from_prev_hash=prev_hash(chain.record(1)),
        to_seq=4,
        to_hash=chain.record(4).hash,
        key=key,
        moment=late,
    )
    items = [*chain.export()[:-1], stale]
    report = verify(items)
    assert not report.ok
    assert "outside key" in (report.problem or "")


# kept checkpoints: SECURITY.md item 48


def test_a_kept_checkpoint_detects_a_re_signed_rewrite_after_it(chain: Chain) -> None:
    kept = chain.export(1, 8)[-1]
    assert isinstance(kept, Checkpoint)
    rewritten = forge_from(chain, 6, outcome="denied")  # signed with the organisation's own key
    assert verify(rewritten.export()).ok  # nothing in the export itself gives it away
    report = verify(rewritten.export(), anchors=[kept])
    assert not report.ok
    assert report.first_bad_seq == 1
    assert "records 1..8 were rewritten after the checkpoint you kept" in (report.problem or "")
    # A narrower kept checkpoint narrows the report down.
    narrow = chain.checkpoints[1]
    assert (narrow.from_seq, narrow.to_seq) == (5, 8)
    assert verify(rewritten.export(), anchors=[narrow]).first_bad_seq == 5


def test_a_kept_checkpoint_detects_a_truncation_at_a_checkpoint_boundary(chain: Chain) -> None:
    kept = chain.export()[-1]
    assert isinstance(kept, Checkpoint)
    items = chain.export()
    # Records 9..12 gone with the checkpoints that name them, the header edited to match.
    truncated = replace_header(items[: index_of(items, 9)], to_seq=8)
    # The export's seal (its last checkpoint signs the header) is gone with the tail.
    unsealed = verify(truncated)
    assert not unsealed.ok
    assert unsealed.first_bad_seq == 9
    assert "no signed checkpoint seals the export's header" in (unsealed.problem or "")
    report = verify(truncated, anchors=[kept])
    assert not report.ok
    assert report.first_bad_seq == 9
    assert "the export ends at record 8 but the checkpoint you kept covers up to 12" in (
        report.problem or ""
    )


def test_kept_checkpoints_that_agree_or_end_before_the_export(chain: Chain) -> None:
    report = verify(chain.export(5), anchors=[chain.checkpoints[0], chain.checkpoints[1]])
    assert report.ok, report.problem
    report = verify(chain.export(9), anchors=[chain.checkpoints[0]])
    assert report.ok
    assert any("ends before this export" in w for w in report.warnings)


def test_a_kept_checkpoint_that_does_not_verify_fails(chain: Chain) -> None:
    forged = dataclasses.replace(chain.checkpoints[0], to_hash=chain.record(3).hash)
    report = verify(chain.export(), anchors=[forged])
    assert not report.ok
    assert "the kept checkpoint for records 1..4 cannot be trusted" in (report.problem or "")


# retention


@every_format
def test_an_export_after_a_retention_cut_verifies(fmt: ExportFormat) -> None:
    chain = Chain.build(110, every=10)
    items = chain.export(101)
    cut = items[1]
    assert isinstance(cut, Checkpoint)
    assert (cut.from_seq, cut.to_seq) == (91, 100)
    # As if the records before the cut had been deleted, and only signed exports remained.
    report = verify(items, fmt)
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq, report.records) == (101, 110, 10)
    assert report.checkpoints == 3  # the cut, the stored 101..110, the export's


def test_a_first_record_that_does_not_follow_the_retention_cut_is_named() -> None:
    chain = Chain.build(110, every=10)
    items = chain.export(101)
    # A forged 101 linked to something else, and the export checkpoints that would give it away
    # dropped: only the cut checkpoint still speaks for record 101.
    forged = seal(event(101), 101, "f" * 64)
    items = [items[0], items[1], forged]
    report = verify(replace_header(items, to_seq=101))
    assert not report.ok
    assert report.first_bad_seq == 101
    assert "record 101 does not follow the signed checkpoint for records 91..100" in (
        report.problem or ""
    )


# the property (item 47): no single-byte change inside a record line goes unnoticed


@pytest.fixture(scope="module")
def ndjson_lines(chain: Chain) -> list[bytes]:
    return lines(rendered(chain.export()))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_in_a_record_line_fails_verification(
    ndjson_lines: list[bytes], data: st.DataObject
) -> None:
    record_lines = [i for i, line in enumerate(ndjson_lines) if b'"type":"record"' in line]
    i = data.draw(st.sampled_from(record_lines), label="line")
    line = ndjson_lines[i]
    position = data.draw(st.integers(0, len(line) - 2), label="position")  # not the newline
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != line[position]), label="byte")
    mutated = list(ndjson_lines)
    mutated[i] = line[:position] + bytes([byte]) + line[position + 1 :]
    report = verify_export(mutated)
    assert not report.ok
    assert report.problem


# the command


app = typer.Typer()
app.add_typer(audit_app, name="audit")
runner = CliRunner()


def write_export(path: Path, items: list[ExportItem], fmt: ExportFormat = "ndjson") -> Path:
    path.write_bytes(rendered(items, fmt))
    return path


@every_format
def test_cli_verifies_an_export(
    tmp_path: Path, chain: Chain, export: list[ExportItem], fmt: ExportFormat
) -> None:
    path = write_export(tmp_path / f"audit.{fmt}", export, fmt)
    result = runner.invoke(app, ["audit", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "verifies" in result.stdout
    assert "tenant: a" in result.stdout
    assert "records: 12 (seq 1..12)" in result.stdout
    assert "checkpoints: 4" in result.stdout
    assert chain.keyring.keys[0].kid in result.stdout
    assert "warning: the signing keys were taken from the export itself" in result.stdout


def test_cli_with_trusted_keys_and_a_kept_checkpoint(
    tmp_path: Path, chain: Chain, export: list[ExportItem]
) -> None:
    path = write_export(tmp_path / "audit.ndjson", export)
    keys = tmp_path / "keys.json"
    keys.write_bytes(orjson.dumps(chain.keyring.public_document(at=T0)))
    kept = tmp_path / "kept.json"
    kept.write_bytes(orjson.dumps(chain.checkpoints[1].as_json()))
    args = ["audit", "verify", str(path), "--trusted-keys", str(keys), "--checkpoint", str(kept)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stdout

    truncated = replace_header(export[: index_of(export, 9)], to_seq=8)
    write_export(path, truncated)
    kept.write_bytes(orjson.dumps(export[-1].as_json()))
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "first bad sequence number: 9" in result.stdout


def test_cli_reports_tampering_with_exit_1(
    tmp_path: Path, chain: Chain, export: list[ExportItem]
) -> None:
    path = write_export(tmp_path / "audit.ndjson", edit_record_7(chain, export))
    result = runner.invoke(app, ["audit", "verify", str(path)])
    assert result.exit_code == 1
    assert "does NOT verify" in result.stdout
    assert "first bad sequence number: 7" in result.stdout
    assert "reason: record 7 was altered: its hash does not match its contents" in result.stdout


def test_cli_reads_stdin(export: list[ExportItem]) -> None:
    result = runner.invoke(app, ["audit", "verify", "-"], input=rendered(export))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: [str(d / "missing.ndjson")], "cannot read"),
        (lambda d: [write_text(d / "x.txt", "hello\n")], "is not an audit export"),
        (lambda d: [write_text(d / "empty", "")], "is not an audit export"),
        (
            lambda d: [d / "ok.ndjson", "--trusted-keys", write_text(d / "k.json", "{")],
            "is not JSON",
        ),
        (
            lambda d: [d / "ok.ndjson", "--trusted-keys", write_text(d / "k.json", '{"keys":1}')],
            "trusted keys",
        ),
        (
            lambda d: [d / "ok.ndjson", "--checkpoint", write_text(d / "c.json", '{"x":1}')],
            "malformed checkpoint",
        ),
        (lambda d: [d / "ok.ndjson", "--checkpoint", d / "nope.json"], "cannot read checkpoint"),
    ],
)
def test_cli_unreadable_input_exits_2_with_one_line(
    tmp_path: Path,
    export: list[ExportItem],
    setup: Callable[[Path], list[object]],
    message: str,
) -> None:
    write_export(tmp_path / "ok.ndjson", export)
    result = runner.invoke(app, ["audit", "verify", *map(str, setup(tmp_path))])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_report_is_json_friendly(chain: Chain) -> None:
    report = verify(chain.export())
    assert json.loads(json.dumps(dataclasses.asdict(report)))["records"] == 12


def test_cli_detects_a_re_signed_export_only_with_trusted_keys(
    tmp_path: Path, chain: Chain
) -> None:
    attacker = Keyring.generate(now=T0 - DAY)
    forged = forge_from(Chain(attacker, "a", list(chain.records), list(chain.checkpoints)), 7)
    path = write_export(tmp_path / "audit.ndjson", forged.export())
    keys = tmp_path / "keys.json"
    keys.write_bytes(orjson.dumps(chain.keyring.public_document(at=T0)))
    assert runner.invoke(app, ["audit", "verify", str(path)]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify", str(path), "--trusted-keys", str(keys)])
    assert result.exit_code == 1
    assert "first bad sequence number: 1" in result.stdout
    assert "which is not among the trusted keys" in result.stdout


def test_verifying_needs_neither_the_store_nor_the_server(tmp_path: Path, chain: Chain) -> None:
    path = write_export(tmp_path / "audit.ndjson", chain.export())
    script = (
        "import sys\n"
        "from twinmesh.cli.audit_cmd import audit_app\n"
        "try:\n"
        f"    audit_app(['verify', {str(path)!r}])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print(' '.join(m for m in sys.modules if m.startswith('twinmesh')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = done.stdout.strip().splitlines()[-1].split()
    assert "twinmesh.audit.verify" in loaded
    heavy = ("twinmesh.store", "twinmesh.http", "twinmesh.services", "twinmesh.graphql")
    assert not [m for m in loaded if m.startswith(heavy)]
