"""``twinmesh audit``: export the audit log from the store, and check an export offline.

``twinmesh audit export --tenant T`` reads the store the settings name
(:mod:`twinmesh.cli.audit_export`, imported only by that command).

``twinmesh audit verify FILE`` needs neither the server nor the store: only the export and,
ideally, the organisation's public keys obtained some other way (``--trusted-keys``) and
checkpoints kept from earlier exports (``--checkpoint``). Exit codes: 0 verified, 1 the export
was tampered with (the first bad sequence number and the reason are printed), 2 unreadable
input (a missing file, not an export, an unusable key or checkpoint file).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

audit_app = typer.Typer(
    name="audit",
    help="Export and verify the tamper-evident audit log.",
    no_args_is_help=True,
)


@audit_app.callback()
def _audit() -> None:
    """Export and verify the tamper-evident audit log."""


def _unreadable(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg="red")
    return typer.Exit(2)


def _read_json(path: Path, what: str) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise _unreadable(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise _unreadable(f"{what} {path} is not JSON: {exc}") from None


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for reading bytes; ``-`` is standard input."""
    if str(path) == "-":
        yield sys.stdin.buffer
        return
    try:
        file = path.open("rb")
    except OSError as exc:
        raise _unreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    with file:
        yield file


@audit_app.command("verify")
def verify(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The export (ndjson, csv or ocsf); - for stdin.")
    ],
    trusted_keys: Annotated[
        Path | None,
        typer.Option(
            "--trusted-keys",
            metavar="PATH",
            help="The organisation's public keys (JSON, as served at "
            "/.well-known/twinmesh/keys); only these are trusted.",
        ),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            metavar="PATH",
            help="A checkpoint kept from an earlier export (JSON); repeat for several.",
        ),
    ] = None,
) -> None:
    """Verify an audit export offline: hash chain, signed checkpoints, coverage."""
    from twinmesh.audit.checkpoints import Checkpoint
    from twinmesh.audit.formats import ExportFormatError
    from twinmesh.audit.verify import verify_export
    from twinmesh.identity import Keyring, KeyringError

    keys = None
    if trusted_keys is not None:
        try:
            keys = Keyring.from_public_document(_read_json(trusted_keys, "trusted keys"))
        except (KeyringError, ValueError) as exc:
            raise _unreadable(f"trusted keys {trusted_keys}: {exc}") from None
    anchors = []
    for path in checkpoint or []:
        document = _read_json(path, "checkpoint")
        try:
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            anchors.append(Checkpoint.from_json(document))
        except ValueError as exc:
            raise _unreadable(f"checkpoint {path}: {exc}") from None
    with _opened(file) as lines:
        try:
            report = verify_export(lines, trusted_keys=keys, anchors=anchors)
        except ExportFormatError as exc:
            raise _unreadable(f"{file} is not an audit export: {exc}") from None
        except OSError as exc:
            raise _unreadable(f"cannot read {file}: {exc.strerror or exc}") from None

    console = Console(highlight=False, soft_wrap=True)
    if report.ok:
        console.print("[green]✓ the audit export verifies[/green]")
    else:
        console.print("[red]✗ the audit export does NOT verify[/red]")
        bad = "unknown" if report.first_bad_seq is None else str(report.first_bad_seq)
        console.print(f"first bad sequence number: {bad}")
        console.print(f"reason: {escape(report.problem or '')}")
        if report.line is not None:
            console.print(f"line: {report.line}")
    verified = "" if report.ok else " verified before the problem"
    seqs = "" if report.first_seq is None else f" (seq {report.first_seq}..{report.last_seq})"
    console.print(f"tenant: {escape(report.tenant)}")
    console.print(f"records{verified}: {report.records}{seqs}")
    console.print(f"checkpoints{verified}: {report.checkpoints}")
    console.print(f"keys: {escape(', '.join(report.key_ids)) or 'none'}")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def export(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant whose log to export.")],
    since: Annotated[
        str | None, typer.Option(help="Records from this ISO 8601 time on (e.g. 2026-11-01Z).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Records before this ISO 8601 time.")] = None,
    export_format: Annotated[
        str, typer.Option("--format", help="ndjson, csv or ocsf.", metavar="ndjson|csv|ocsf")
    ] = "ndjson",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: stdout).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML settings file (default: $TWINMESH_CONFIG).", exists=True
        ),
    ] = None,
) -> None:
    """Export a tenant's audit log from the configured store, sealed and verifiable."""
    import asyncio
    from datetime import datetime

    from twinmesh.audit.formats import MEDIA_TYPES
    from twinmesh.cli.audit_export import export_to
    from twinmesh.config import load_settings
    from twinmesh.errors import TwinmeshError
    from twinmesh.identity import KeyringError

    if export_format not in MEDIA_TYPES:
        raise _unreadable("--format must be ndjson, csv or ocsf")
    times: list[datetime | None] = []
    for name, value in (("--since", since), ("--until", until)):
        try:
            moment = datetime.fromisoformat(value) if value else None
        except ValueError:
            raise _unreadable(
                f"{name} must be an ISO 8601 time such as 2026-11-01T00:00:00Z"
            ) from None
        if moment is not None and moment.tzinfo is None:
            raise _unreadable(f"{name} needs a time zone, such as Z")
        times.append(moment)
    try:
        settings = load_settings(config)
        written = asyncio.run(
            export_to(
                settings,
                tenant,
                since=times[0],
                until=times[1],
                fmt=export_format,
                output=output,
            )
        )
    except (TwinmeshError, KeyringError, ValueError, OSError) as exc:
        raise _unreadable(str(getattr(exc, "message", exc))) from None
    if output is not None:
        Console(stderr=True).print(
            f"{written} records of tenant {escape(tenant)} written to {escape(str(output))}"
        )
