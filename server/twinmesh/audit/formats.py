"""The three encodings of an audit export, and reading any of them back.

An export is a stream of items: one :class:`ExportHeader`, the records in sequence order with
the stored checkpoints that end at them, and a checkpoint signed at export time. :func:`render`
encodes the stream as

* ``ndjson`` — one JSON document per line; a record's line is its stored canonical text;
* ``csv`` — one row per item for spreadsheets; the last column holds the item's ndjson line,
  so a CSV export verifies as well as the ndjson one;
* ``ocsf`` — one OCSF 1.3 "API Activity" (6003) event per record for a SIEM; the record, the
  header and the checkpoints travel in ``unmapped.twinmesh``.

:func:`parse` detects the encoding from the first line and yields the logical documents again.
The CSV columns and the OCSF fields are derived from the record, so :func:`parse` derives them
once more and refuses a row or event whose visible fields were changed: an auditor must not see
a value that the verifier did not check. That makes the CSV columns and the OCSF mapping part of
the format: changing them needs a new format version, or old exports stop verifying.

JSON is read with the standard library (not orjson) to refuse duplicate member names, which
readers would otherwise resolve differently from the verifier.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, get_args

import orjson
import rfc8785

from twinmesh.audit.checkpoints import Checkpoint
from twinmesh.audit.records import ExportHeader, SealedRecord, canonical

ExportItem = ExportHeader | SealedRecord | Checkpoint
ExportFormat = Literal["ndjson", "csv", "ocsf"]
FORMATS: Final[tuple[ExportFormat, ...]] = get_args(ExportFormat)
MEDIA_TYPES: Final[dict[ExportFormat, str]] = {
    "ndjson": "application/x-ndjson",
    "csv": "text/csv",
    "ocsf": "application/x-ndjson",
}

CSV_COLUMNS: Final = (
    "kind", "seq", "time", "tenant", "principal_type", "principal_id", "action",
    "resource_type", "resource_id", "effect", "policies", "outcome", "error", "request_id",
    "trace_id", "source_ip", "hash", "prev_hash", "document",
)  # fmt: skip
_KINDS: Final = frozenset({"header", "record", "checkpoint"})
# Cells starting with these are formulas (or become them) in spreadsheet applications (OWASP).
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")

OCSF_VERSION: Final = "1.3.0"
_API_ACTIVITY: Final = 6003
_ACTIVITIES: Final = (
    (("create", "upload"), 1, "Create"),
    (("read", "list", "export", "traverse"), 2, "Read"),
    (("update", "activate", "rollback", "write"), 3, "Update"),
    (("delete", "decommission"), 4, "Delete"),
)
# A denial is a security-relevant event; a failure (e.g. a conflict) less so.
_SEVERITIES: Final = {
    "success": (1, "Informational"),
    "failure": (2, "Low"),
    "denied": (3, "Medium"),
}
_USER_TYPES: Final = {"anonymous": 0, "user": 1, "system": 3}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class ExportFormatError(ValueError):
    """A line of an export cannot be read as the format it claims; ``seq`` when it is known."""

    def __init__(self, line: int, message: str, seq: int | None = None) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message
        self.seq = seq


# Rendering


def render(items: Iterable[ExportItem], fmt: ExportFormat) -> Iterator[bytes]:
    """Encode the export stream ``items``: one chunk per item (per record event for OCSF)."""
    if fmt == "ndjson":
        return (ndjson_line(item).encode() + b"\n" for item in items)
    if fmt == "csv":
        return _render_csv(items)
    if fmt == "ocsf":
        return _render_ocsf(items)
    raise ValueError(f"unknown export format {fmt!r}")


def ndjson_line(item: ExportItem) -> str:
    """The item's line in an ndjson export (without the newline): canonical JSON."""
    if isinstance(item, SealedRecord):
        return item.text
    return canonical(item.as_json()).decode()


def _render_csv(items: Iterable[ExportItem]) -> Iterator[bytes]:
    yield _csv_text(CSV_COLUMNS).encode()
    for item in items:
        text = ndjson_line(item)
        document = item.as_json()
        yield _csv_text(_csv_row(document, text)).encode()


def _csv_text(row: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue()


def _csv_row(document: dict[str, Any], text: str) -> list[str]:
    """The row of ``document`` whose ndjson line is ``text``; raises on a malformed document."""
    kind = document["type"]
    if kind == "record":
        principal, resource = document["principal"], document["resource"]
        decision = document["decision"]
        cells = [
            "record", document["seq"], document["time"], document["tenant"],
            principal["type"], principal["id"], document["action"], resource["type"],
            resource["id"], decision["effect"], " ".join(map(str, decision["policies"])),
            document["outcome"], document["error"], document["requestId"],
            document["traceId"], document["source"]["ip"], document["hash"],
            document["prevHash"],
        ]  # fmt: skip
    elif kind == "header":
        cells = ["header", None, document["exportedAt"], document["tenant"]]
    elif kind == "checkpoint":
        cells = ["checkpoint", document["toSeq"], document["time"], document["tenant"]]
    else:
        raise ValueError(f"unknown item type {kind!r}")
    cells += [None] * (len(CSV_COLUMNS) - 1 - len(cells))
    return [_guard("" if cell is None else str(cell)) for cell in cells] + [text]


def _guard(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _render_ocsf(items: Iterable[ExportItem]) -> Iterator[bytes]:
    # A record's event also carries the checkpoints that follow it, so it is written when the
    # next record (or the end) arrives. The first event carries the header and any checkpoint
    # that precedes the first record (the one ending at the retention cut).
    header: dict[str, Any] | None = None
    current: dict[str, Any] | None = None
    current_header: dict[str, Any] | None = None
    checkpoints: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, ExportHeader):
            header = item.as_json()
        elif isinstance(item, Checkpoint):
            checkpoints.append(item.as_json())
        else:
            if current is not None:
                yield _ocsf_line(ocsf_event(current, current_header, checkpoints))
                checkpoints, current_header = [], None
            else:
                current_header = header
            current = item.as_json()
    if current is not None:
        yield _ocsf_line(ocsf_event(current, current_header, checkpoints))
    elif header is not None or checkpoints:
        yield _ocsf_line(ocsf_event(None, header, checkpoints))


def _ocsf_line(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event) + b"\n"


def ocsf_activity(action: str) -> tuple[int, str]:
    """OCSF API Activity ``activity_id`` and name of a twinmesh action, by its verb."""
    verb = action.rsplit(".", 1)[-1].lower()
    for prefixes, activity_id, name in _ACTIVITIES:
        if verb.startswith(prefixes):
            return activity_id, name
    return 99, "Other"


def ocsf_event(
    record: dict[str, Any] | None,
    header: dict[str, Any] | None,
    checkpoints: list[dict[str, Any]],
) -> dict[str, Any]:
    """The OCSF event of a record (or, without records, of the export itself)."""
    twinmesh: dict[str, Any] = {}
    if header is not None:
        twinmesh["header"] = header
    if checkpoints:
        twinmesh["checkpoints"] = checkpoints
    if record is None:
        if header is None:
            raise ValueError("an event needs a record or the export header")
        return _ocsf_export_event(header, twinmesh)
    twinmesh["record"] = record
    principal, decision = record["principal"], record["decision"]
    activity_id, activity_name = ocsf_activity(record["action"])
    severity_id, severity = _SEVERITIES.get(record["outcome"], (99, "Other"))
    succeeded = record["outcome"] == "success"
    user: dict[str, Any] = {
        "uid": principal["id"],
        "type": principal["type"],
        "type_id": _USER_TYPES.get(principal["type"], 99),
    }
    if principal["roles"]:
        user["groups"] = [{"name": role} for role in principal["roles"]]
    actor: dict[str, Any] = {"user": user}
    if principal["clientId"] is not None:
        actor["app_uid"] = principal["clientId"]
    api: dict[str, Any] = {"operation": record["action"], "service": {"name": "twinmesh"}}
    if record["requestId"] is not None:
        api["request"] = {"uid": record["requestId"]}
    metadata: dict[str, Any] = {
        "version": OCSF_VERSION,
        "product": {"name": "twinmesh", "vendor_name": "twinmesh"},
        "log_name": "audit",
        "uid": str(record["seq"]),
        "tenant_uid": record["tenant"],
    }
    if record["traceId"] is not None:
        metadata["correlation_uid"] = record["traceId"]
    ip = record["source"]["ip"]
    resource = record["resource"]
    event: dict[str, Any] = {
        **_api_activity(activity_id, activity_name),
        "time": _epoch_ms(record["time"]),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1 if succeeded else 2,
        "status": "Success" if succeeded else "Failure",
        "message": (
            f"{principal['type']} {principal['id']} {record['action']} "
            f"{resource['type']} {resource['id']}: {record['outcome']}"
        ),
        "actor": actor,
        "api": api,
        "src_endpoint": {} if ip is None else {"ip": ip},
        "resources": [{"type": resource["type"], "uid": resource["id"]}],
        "metadata": metadata,
        "unmapped": {"twinmesh": twinmesh},
    }
    if record["error"] is not None:
        event["status_detail"] = record["error"]
    if decision["policies"]:
        event["policy"] = {
            "uid": decision["policies"][0],
            "is_applied": True,
            "data": {"effect": decision["effect"], "policies": decision["policies"]},
        }
    return event


def _ocsf_export_event(header: dict[str, Any], twinmesh: dict[str, Any]) -> dict[str, Any]:
    return {
        **_api_activity(2, "Read"),
        "time": _epoch_ms(header["exportedAt"]),
        "severity_id": 1,
        "severity": "Informational",
        "status_id": 1,
        "status": "Success",
        "message": "audit export without records",
        "actor": {"user": {"uid": "twinmesh", "type": "system", "type_id": 3}},
        "api": {"operation": "exportAudit", "service": {"name": "twinmesh"}},
        "src_endpoint": {},
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "twinmesh", "vendor_name": "twinmesh"},
            "log_name": "audit",
            "tenant_uid": header["tenant"],
        },
        "unmapped": {"twinmesh": twinmesh},
    }


def _api_activity(activity_id: int, activity_name: str) -> dict[str, Any]:
    return {
        "class_uid": _API_ACTIVITY,
        "class_name": "API Activity",
        "category_uid": 6,
        "category_name": "Application Activity",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": _API_ACTIVITY * 100 + activity_id,
        "type_name": f"API Activity: {activity_name}",
    }


def _epoch_ms(text: str) -> int:
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError(f"time without a time zone: {text}")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


# Parsing


def parse(lines: Iterable[str | bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, document)`` for each header, record and checkpoint of an export.

    The format is detected from the first line. ``lines`` may be text or UTF-8 bytes (as read
    from a binary file: a byte that is not UTF-8 is then reported on its line), split only at
    line feeds: ``str.splitlines`` also splits at U+2028 and U+0085, which RFC 8785 leaves
    unescaped inside strings. Raises :class:`ExportFormatError` at the first line that
    cannot be read, including a record line that is not RFC 8785 canonical JSON and a CSV row
    or OCSF event whose visible fields disagree with the document it carries.
    """
    numbered = _decoded(lines)
    first = next(numbered, None)
    if first is None:
        raise ExportFormatError(1, "the export is empty")
    number, text = first
    text = text.removeprefix("\ufeff")
    stream = itertools.chain([(number, text)], numbered)
    stripped = text.strip()
    if stripped.startswith("{"):
        if "class_uid" in _load_object(stripped, number):
            return _parse_ocsf(stream)
        return _parse_ndjson(stream)
    if next(csv.reader([text]), None) == list(CSV_COLUMNS):
        return _parse_csv(stream)
    raise ExportFormatError(number, "not a twinmesh audit export (ndjson, csv or ocsf)")


def _decoded(lines: Iterable[str | bytes]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                yield number, line.decode()
            except UnicodeDecodeError:
                raise ExportFormatError(number, "not UTF-8 text") from None
        else:
            yield number, line


def _parse_ndjson(stream: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in stream:
        text = raw.rstrip("\r\n")
        if not text:
            continue
        document = _load_object(text, number)
        kind = document.get("type")
        if kind not in _KINDS:
            raise ExportFormatError(number, f"unknown item type {kind!r}")
        if kind == "record":
            _require_canonical(document, text, number)
        yield number, document


def _parse_csv(stream: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    # Lines split without their endings (str.splitlines) still rejoin a cell's line break.
    reader = csv.reader(t if t.endswith(("\n", "\r")) else t + "\n" for _, t in stream)
    rows = iter(reader)
    next(rows)  # the column names, checked by parse()
    row_start = reader.line_num + 1
    while True:
        try:
            row = next(rows, None)
        except csv.Error as exc:
            raise ExportFormatError(reader.line_num, f"not valid CSV ({exc})") from None
        if row is None:
            return
        number, row_start = row_start, reader.line_num + 1
        if not row:
            continue
        if len(row) != len(CSV_COLUMNS):
            raise ExportFormatError(number, f"expected {len(CSV_COLUMNS)} columns, not {len(row)}")
        document = _load_object(row[-1], number)
        seq = _seq_of(document)
        if document.get("type") != row[0]:
            raise ExportFormatError(number, "the row's kind disagrees with its document", seq)
        if row[0] == "record":
            _require_canonical(document, row[-1], number)
        try:
            expected = _csv_row(document, row[-1])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ExportFormatError(number, f"malformed {row[0]} document", seq) from None
        if row != expected:
            column = next(n for n, a, b in zip(CSV_COLUMNS, row, expected, strict=True) if a != b)
            raise ExportFormatError(
                number, f"the row's {column!r} column disagrees with its document", seq
            )
        yield number, document


def _parse_ocsf(stream: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in stream:
        text = raw.rstrip("\r\n")
        if not text:
            continue
        event = _load_object(text, number)
        unmapped = event.get("unmapped")
        twinmesh = unmapped.get("twinmesh") if isinstance(unmapped, dict) else None
        if event.get("class_uid") != _API_ACTIVITY or not isinstance(twinmesh, dict):
            raise ExportFormatError(number, "not a twinmesh OCSF API Activity event")
        header, record = twinmesh.get("header"), twinmesh.get("record")
        checkpoints = twinmesh.get("checkpoints", [])
        seq = _seq_of(record) if isinstance(record, dict) else None
        if not isinstance(checkpoints, list) or not all(isinstance(c, dict) for c in checkpoints):
            raise ExportFormatError(number, "the event's checkpoints are malformed", seq)
        documents = [d for d in (header, record) if d is not None]
        if not all(isinstance(d, dict) for d in documents):
            raise ExportFormatError(number, "the event's header or record is malformed", seq)
        try:
            expected = ocsf_event(record, header, checkpoints)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ExportFormatError(number, "malformed event", seq) from None
        if header is not None:  # first, so that an edit to the first event names its record
            yield number, header
        if event != expected:
            field = min(k for k in {*event, *expected} if event.get(k) != expected.get(k))
            raise ExportFormatError(
                number, f"the event's {field!r} field disagrees with its record", seq
            )
        # In the stream a checkpoint follows the record its range ends at.
        later = [c for c in checkpoints if seq is None or not _ends_before(c, seq)]
        yield from ((number, c) for c in checkpoints if seq is not None and _ends_before(c, seq))
        if record is not None:
            yield number, record
        yield from ((number, c) for c in later)


def _ends_before(checkpoint: dict[str, Any], seq: int) -> bool:
    to_seq = checkpoint.get("toSeq")
    return type(to_seq) is int and to_seq < seq


def _load_object(text: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(text, object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ExportFormatError(number, f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ExportFormatError(number, "not a JSON object")
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        duplicate = next(k for k, _ in pairs if sum(1 for n, _ in pairs if n == k) > 1)
        raise ValueError(f"duplicate member {duplicate!r}")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _require_canonical(document: dict[str, Any], text: str, number: int) -> None:
    seq = _seq_of(document)
    try:
        exact = canonical(document) == text.encode()
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        exact = False
    if not exact:
        what = "record" if seq is None else f"record {seq}"
        raise ExportFormatError(number, f"{what} is not in RFC 8785 canonical form", seq)


def _seq_of(document: dict[str, Any]) -> int | None:
    seq = document.get("seq")
    return seq if type(seq) is int else None
