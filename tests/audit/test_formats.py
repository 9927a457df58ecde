"""Export formats: ndjson, CSV and OCSF carry the same logical stream, and read back exactly."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from audit.chains import ADA, Chain, event, lines, rendered, verify
from twinmesh.audit.checkpoints import Checkpoint
from twinmesh.audit.formats import (
    CSV_COLUMNS,
    FORMATS,
    MEDIA_TYPES,
    ExportFormat,
    ExportFormatError,
    ExportItem,
    ocsf_activity,
    parse,
    render,
)
from twinmesh.audit.records import GENESIS, ExportHeader, SealedRecord, seal


def documents(items: list[ExportItem]) -> list[dict[str, Any]]:
    return [item.as_json() for item in items]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def ocsf_events(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain.build(12)


@pytest.fixture(scope="module")
def export(chain: Chain) -> list[ExportItem]:
    return chain.export()


def test_media_types() -> None:
    assert MEDIA_TYPES == {
        "ndjson": "application/x-ndjson",
        "csv": "text/csv",
        "ocsf": "application/x-ndjson",
    }
    assert set(FORMATS) == set(MEDIA_TYPES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_as_the_same_logical_stream(
    export: list[ExportItem], fmt: ExportFormat
) -> None:
    parsed = [document for _, document in parse(lines(rendered(export, fmt)))]
    assert parsed == documents(export)


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_streams_one_chunk_per_item(export: list[ExportItem], fmt: ExportFormat) -> None:
    chunks = list(render(iter(export), fmt))
    records = sum(isinstance(item, SealedRecord) for item in export)
    expected = {"ndjson": len(export), "csv": len(export) + 1, "ocsf": records}
    assert len(chunks) == expected[fmt]
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in chunks)


def test_ndjson_lines_are_the_header_the_stored_record_texts_and_the_checkpoints(
    export: list[ExportItem],
) -> None:
    text_lines = rendered(export, "ndjson").decode().split("\n")
    assert text_lines[-1] == ""
    for item, line in zip(export, text_lines, strict=False):
        if isinstance(item, SealedRecord):
            assert line == item.text
        else:
            assert json.loads(line) == item.as_json()


def test_the_stream_places_stored_checkpoints_after_the_record_they_end_at(
    export: list[ExportItem],
) -> None:
    kinds = [item.as_json()["type"] for item in export]
    assert kinds[0] == "header"
    for index, item in enumerate(export):
        if isinstance(item, Checkpoint) and index < len(export) - 1:
            previous = export[index - 1]
            while isinstance(previous, Checkpoint):
                index -= 1
                previous = export[index - 1]
            assert isinstance(previous, SealedRecord)
            assert previous.seq == item.to_seq
    final = export[-1]
    assert isinstance(final, Checkpoint)
    assert (final.from_seq, final.to_seq) == (1, 12)


def test_csv_columns_and_a_record_row(chain: Chain, export: list[ExportItem]) -> None:
    data = rendered(export, "csv")
    assert data.split(b"\r\n", 1)[0].decode().split(",") == list(CSV_COLUMNS)
    rows = csv_rows(data)
    assert [row["kind"] for row in rows[:3]] == ["header", "record", "record"]
    header = rows[0]
    assert (header["tenant"], header["seq"], header["action"]) == ("a", "", "")
    assert header["time"] == export[0].as_json()["exportedAt"]
    denied = next(row for row in rows if row["outcome"] == "denied")
    record = chain.record(int(denied["seq"])).as_json()
    assert denied == {
        "kind": "record",
        "seq": str(record["seq"]),
        "time": record["time"],
        "tenant": "a",
        "principal_type": "partner",
        "principal_id": "org-b",
        "action": "readTwin",
        "resource_type": "Twin",
        "resource_id": "room-1",
        "effect": "deny",
        "policies": "partner-read forbid-hvac",
        "outcome": "denied",
        "error": "FORBIDDEN",
        "request_id": record["requestId"],
        "trace_id": record["traceId"],
        "source_ip": record["source"]["ip"] or "",
        "hash": record["hash"],
        "prev_hash": record["prevHash"],
        "document": chain.record(record["seq"]).text,
    }
    checkpoints = [row for row in rows if row["kind"] == "checkpoint"]
    assert [row["seq"] for row in checkpoints] == ["4", "8", "12", "12"]
    assert all(json.loads(row["document"])["type"] == "checkpoint" for row in checkpoints)


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_csv_guards_formula_injection_in_human_columns_but_not_in_the_document(
    value: str,
) -> None:
    chain = Chain.build(0)
    chain.records.append(seal(event(1, resource_id=value, error=value), 1, GENESIS))
    chain.checkpoints.append(chain.sign(1, 1))
    data = rendered(chain.export(), "csv")
    row = csv_rows(data)[1]
    assert row["resource_id"] == "'" + value
    assert row["error"] == "'" + value
    assert json.loads(row["document"])["resource"]["id"] == value
    assert row["document"] == chain.record(1).text
    assert verify(chain.export(), "csv").ok


def test_csv_keeps_cells_with_line_breaks_and_quotes() -> None:
    chain = Chain.build(0)
    awkward = 'room "7",\nsecond line'
    chain.records.append(seal(event(1, resource_id=awkward), 1, GENESIS))
    chain.checkpoints.append(chain.sign(1, 1))
    data = rendered(chain.export(), "csv")
    assert csv_rows(data)[1]["resource_id"] == awkward
    assert [d for _, d in parse(lines(data))] == documents(chain.export())
    assert verify(chain.export(), "csv").ok


def test_csv_lines_split_without_their_endings_still_read_back() -> None:
    chain = Chain.build(0)
    chain.records.append(seal(event(1, resource_id="first line\nsecond line"), 1, GENESIS))
    chain.checkpoints.append(chain.sign(1, 1))
    text = rendered(chain.export(), "csv").decode()
    assert [d for _, d in parse(text.splitlines())] == documents(chain.export())


def test_records_with_unicode_line_separators_verify_when_split_at_line_feeds() -> None:
    # RFC 8785 leaves U+2028 and U+0085 unescaped: split lines as a binary file does.
    chain = Chain.build(0)
    chain.records.append(seal(event(1, resource_id="a\u2028b\x85c"), 1, GENESIS))
    chain.checkpoints.append(chain.sign(1, 1))
    for fmt in FORMATS:
        data = rendered(chain.export(), fmt)
        assert [d for _, d in parse(lines(data))] == documents(chain.export())
        assert [d for _, d in parse(data.decode().split("\n"))] == documents(chain.export())


def test_a_csv_row_edited_in_a_visible_column_is_refused(export: list[ExportItem]) -> None:
    data = rendered(export, "csv").decode()
    tampered = data.replace(",denied,FORBIDDEN,", ",success,,", 1)
    assert tampered != data
    with pytest.raises(ExportFormatError, match="'outcome' column disagrees") as caught:
        list(parse(lines(tampered.encode())))
    assert caught.value.seq == 2  # the first denied record of the sample chain


@pytest.mark.parametrize(
    ("action", "activity_id", "name"),
    [
        ("createTwin", 1, "Create"),
        ("uploadModels", 1, "Create"),
        ("readTwin", 2, "Read"),
        ("listTenants", 2, "Read"),
        ("exportAudit", 2, "Read"),
        ("traverse", 2, "Read"),
        ("updateTwin", 3, "Update"),
        ("writeProperty", 3, "Update"),
        ("activatePolicySet", 3, "Update"),
        ("rollbackPolicySet", 3, "Update"),
        ("deleteTwin", 4, "Delete"),
        ("decommissionTenant", 4, "Delete"),
        ("tenant.delete", 4, "Delete"),
        ("administerPolicies", 99, "Other"),
    ],
)
def test_ocsf_activity_by_action(action: str, activity_id: int, name: str) -> None:
    assert ocsf_activity(action) == (activity_id, name)


def test_ocsf_api_activity_event(chain: Chain, export: list[ExportItem]) -> None:
    events = ocsf_events(rendered(export, "ocsf"))
    assert len(events) == 12
    assert all(e["class_uid"] == 6003 and e["category_uid"] == 6 for e in events)
    assert all(e["type_uid"] == 600300 + e["activity_id"] for e in events)
    denied = events[1]
    record = chain.record(2).as_json()
    assert record["outcome"] == "denied"
    assert denied["activity_id"] == 2
    assert denied["time"] == 1772442120000  # 2026-03-02T09:02:00Z in epoch milliseconds
    assert (denied["status"], denied["status_id"], denied["status_detail"]) == (
        "Failure",
        2,
        "FORBIDDEN",
    )
    assert denied["severity_id"] == 3
    assert denied["actor"]["user"] == {"uid": "org-b", "type": "partner", "type_id": 99}
    assert denied["api"] == {
        "operation": "readTwin",
        "service": {"name": "twinmesh"},
        "request": {"uid": "req-2"},
    }
    assert denied["src_endpoint"] == {"ip": "192.0.2.7"}
    assert denied["resources"] == [{"type": "Twin", "uid": "room-1"}]
    assert denied["metadata"] == {
        "version": "1.3.0",
        "product": {"name": "twinmesh", "vendor_name": "twinmesh"},
        "log_name": "audit",
        "uid": "2",
        "tenant_uid": "a",
        "correlation_uid": record["traceId"],
    }
    assert denied["policy"]["uid"] == "partner-read"
    assert denied["policy"]["data"]["policies"] == ["partner-read", "forbid-hvac"]
    assert denied["unmapped"]["twinmesh"] == {"record": record}
    success = events[0]
    assert (success["status"], success["status_id"], success["severity_id"]) == ("Success", 1, 1)
    assert "status_detail" not in success
    assert success["actor"]["user"]["groups"] == [{"name": "operator"}, {"name": "viewer"}]
    assert success["actor"]["app_uid"] == ADA.client_id
    assert events[2]["src_endpoint"] == {}  # event 3 has no source address


def test_ocsf_carries_the_header_first_and_checkpoints_on_the_event_they_end_at(
    export: list[ExportItem],
) -> None:
    events = ocsf_events(rendered(export, "ocsf"))
    header = export[0]
    assert isinstance(header, ExportHeader)
    assert events[0]["unmapped"]["twinmesh"]["header"] == header.as_json()
    assert all("header" not in e["unmapped"]["twinmesh"] for e in events[1:])
    carrying = {
        int(e["metadata"]["uid"]): [c["toSeq"] for c in e["unmapped"]["twinmesh"]["checkpoints"]]
        for e in events
        if "checkpoints" in e["unmapped"]["twinmesh"]
    }
    assert carrying == {4: [4], 8: [8], 12: [12, 12]}  # the stored one and the export's


def test_an_ocsf_event_edited_in_a_mapped_field_is_refused(export: list[ExportItem]) -> None:
    events = ocsf_events(rendered(export, "ocsf"))
    events[4]["resources"][0]["uid"] = "room-99"
    data = "".join(json.dumps(e) + "\n" for e in events).encode()
    with pytest.raises(ExportFormatError, match="'resources' field disagrees") as caught:
        list(parse(lines(data)))
    assert (caught.value.line, caught.value.seq) == (5, 5)


def test_an_empty_export_is_one_ocsf_event_carrying_the_header() -> None:
    items = Chain.build(0).export()
    assert len(items) == 1
    events = ocsf_events(rendered(items, "ocsf"))
    assert len(events) == 1
    assert events[0]["unmapped"]["twinmesh"] == {"header": items[0].as_json()}
    assert events[0]["api"]["operation"] == "exportAudit"
    assert [d for _, d in parse(lines(rendered(items, "ocsf")))] == documents(items)


def test_parse_numbers_lines_and_accepts_text_lines(export: list[ExportItem]) -> None:
    text = rendered(export, "ndjson").decode()
    numbered = list(parse(io.StringIO(text, newline="")))
    assert [number for number, _ in numbered] == list(range(1, len(export) + 1))


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 1, "empty"),
        (b"hello\n", 1, "not a twinmesh audit export"),
        (b'{"type": "header"\n', 1, "not valid JSON"),
        (b'{"a": 1}\n', 1, "unknown item type"),
    ],
)
def test_unreadable_first_lines(data: bytes, line: int, message: str) -> None:
    with pytest.raises(ExportFormatError, match=message) as caught:
        list(parse(lines(data)))
    assert caught.value.line == line


def test_malformed_lines_are_reported_with_their_number(export: list[ExportItem]) -> None:
    good = lines(rendered(export, "ndjson"))
    cases: list[tuple[list[bytes], str, int | None]] = [
        ([*good[:3], b"{not json}\n", *good[3:]], "not valid JSON", None),
        ([*good[:3], b'{"type": "memo"}\n', *good[3:]], "unknown item type", None),
        ([*good[:3], b'{"seq": 1, "seq": 2, "type": "record"}\n'], "duplicate member 'seq'", None),
        ([*good[:3], b"\xff\xfe\n"], "not UTF-8", None),
        ([*good[:3], good[3].replace(b'","', b'", "', 1)], "not in RFC 8785 canonical form", 3),
        ([*good[:3], b'{"type": "checkpoint", "x": NaN}\n'], "not valid JSON", None),
        ([*good[:3], b"[1, 2]\n"], "not a JSON object", None),
    ]
    for data, message, seq in cases:
        with pytest.raises(ExportFormatError, match=message) as caught:
            list(parse(data))
        assert caught.value.line == 4
        assert caught.value.seq == seq
