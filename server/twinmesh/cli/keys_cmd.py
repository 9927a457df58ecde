"""``twinmesh keys``: create, rotate and inspect the organisation keyring (twinmesh.identity).

The keyring file is ``--file`` or else ``org-keys.json`` in ``--data-dir`` (default: the
``data_dir`` setting). Exit codes: 0 done, 1 ``generate`` refused to overwrite an existing
keyring, 2 usage error or an unusable keyring file (one line on stderr, no traceback).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Column, Table

from twinmesh.identity import (
    DEFAULT_OVERLAP,
    DEFAULT_VALIDITY,
    KEYRING_FILE,
    MAX_VALIDITY,
    Keyring,
    KeyringError,
    OrgKey,
)

keys_app = typer.Typer(
    name="keys",
    help="Manage the organisation's Ed25519 signing keyring.",
    no_args_is_help=True,
)

DataDirOption = Annotated[
    Path | None,
    typer.Option(help=f"Directory holding {KEYRING_FILE} (default: the data_dir setting)."),
]
FileOption = Annotated[
    Path | None, typer.Option("--file", help="The keyring file itself (overrides --data-dir).")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (default: $TWINMESH_CONFIG).", exists=True),
]
ValidityOption = Annotated[
    int,
    typer.Option(min=1, max=MAX_VALIDITY.days, help="Days the new key is valid."),
]


@keys_app.callback()
def _keys() -> None:
    """Manage the organisation's Ed25519 signing keyring."""


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg="red")
    return typer.Exit(2)


def _keyring_path(file: Path | None, data_dir: Path | None, config: Path | None) -> Path:
    if file is not None:
        return file
    if data_dir is None:
        from twinmesh.config import load_settings

        try:
            data_dir = load_settings(config).data_dir
        except (ValueError, FileNotFoundError) as exc:
            raise _fail(f"invalid settings: {exc}") from exc
    return data_dir / KEYRING_FILE


def _load(path: Path) -> Keyring:
    try:
        return Keyring.load(path)
    except KeyringError as exc:
        raise _fail(str(exc)) from exc


def _write_failed(path: Path, exc: OSError) -> typer.Exit:
    return _fail(f"cannot write {path}: {exc.strerror or exc}")


def _window(key: OrgKey) -> tuple[str, str]:
    jwk = key.public_jwk()  # the times exactly as peers see them
    return jwk["notBefore"], jwk["notAfter"]


@keys_app.command("generate")
def generate(
    data_dir: DataDirOption = None,
    file: FileOption = None,
    config: ConfigOption = None,
    validity_days: ValidityOption = DEFAULT_VALIDITY.days,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing keyring; signatures by its keys can no longer be verified.",
        ),
    ] = False,
) -> None:
    """Create a keyring with one fresh signing key."""
    path = _keyring_path(file, data_dir, config)
    keyring = Keyring.generate(timedelta(days=validity_days))
    try:
        keyring.save(path, replace=force)
    except FileExistsError as exc:
        typer.secho(
            f"error: {path} already exists; use `twinmesh keys rotate` to add a key "
            "(or --force to replace the keyring)",
            err=True,
            fg="red",
        )
        raise typer.Exit(1) from exc
    except OSError as exc:
        raise _write_failed(path, exc) from exc
    (key,) = keyring.keys
    start, end = _window(key)
    typer.echo(f"Created {path} with signing key {key.kid}, valid {start} to {end}.")


@keys_app.command("rotate")
def rotate(
    data_dir: DataDirOption = None,
    file: FileOption = None,
    config: ConfigOption = None,
    validity_days: ValidityOption = DEFAULT_VALIDITY.days,
    overlap_days: Annotated[
        int,
        typer.Option(
            min=0, max=MAX_VALIDITY.days, help="Days the older keys stay valid after the rotation."
        ),
    ] = DEFAULT_OVERLAP.days,
) -> None:
    """Add a new signing key; older keys stay verifiable and expire after the overlap."""
    path = _keyring_path(file, data_dir, config)
    before = _load(path)
    now = datetime.now(UTC)
    try:
        after = before.rotated(
            timedelta(days=validity_days), overlap=timedelta(days=overlap_days), now=now
        )
    except KeyringError as exc:
        raise _fail(str(exc)) from exc
    try:
        after.save(path)
    except OSError as exc:
        raise _write_failed(path, exc) from exc
    new_key = after.signing_key(now)
    start, end = _window(new_key)
    typer.echo(f"New signing key {new_key.kid}, valid {start} to {end}.")
    updated = {key.kid: key for key in after.keys}
    for old in before.keys:
        if old.not_after >= now:
            was, ends = _window(old)[1], _window(updated[old.kid])[1]
            change = "unchanged" if ends == was else f"was {was}"
            typer.echo(f"Older key {old.kid} now ends {ends} ({change}).")


def _status(key: OrgKey, active: OrgKey | None, now: datetime) -> str:
    if key is active:
        return "[green]active[/]"
    if now > key.not_after:
        return "[dim]expired[/]"
    if now < key.not_before:
        return "[yellow]pending[/]"
    return "valid"


@keys_app.command("show")
def show(
    data_dir: DataDirOption = None,
    file: FileOption = None,
    config: ConfigOption = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public", help="Print the public key document (JSON) that peers fetch instead."
        ),
    ] = False,
) -> None:
    """List the keys with their validity and status (active = the one that signs now)."""
    keyring = _load(_keyring_path(file, data_dir, config))
    now = datetime.now(UTC)
    if public:
        typer.echo(orjson.dumps(keyring.public_document(now), option=orjson.OPT_INDENT_2).decode())
        return
    try:
        active: OrgKey | None = keyring.signing_key(now)
    except KeyringError:
        active = None
    # Fold rather than crop: a kid cut short by "…" could not be copied.
    table = Table(
        Column("kid", overflow="fold"),
        Column("not before", overflow="fold"),
        Column("not after", overflow="fold"),
        "private",
        "status",
    )
    for key in reversed(keyring.keys):
        table.add_row(
            key.kid,
            *_window(key),
            "yes" if key.private is not None else "no",
            _status(key, active, now),
        )
    console = Console()
    console.print(table)
    if active is None:
        console.print("[red]No valid signing key[/]; run `twinmesh keys rotate`.")
