"""``twinmesh ontology validate``: check DTDL model files/folders from the command line.

Exit codes: 0 valid and complete, 1 invalid or incomplete, 2 usage error (e.g. missing path).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from twinmesh.ontology import ModelSet, load_paths, parse_model_set

ontology_app = typer.Typer(
    name="ontology",
    help="Validate DTDL (Digital Twins Definition Language) ontologies.",
    no_args_is_help=True,
)


@ontology_app.callback()
def _ontology() -> None:
    """Validate DTDL (Digital Twins Definition Language) ontologies."""


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _as_json(result: ModelSet) -> bytes:
    payload = {
        "valid": result.valid,
        "complete": result.complete,
        "interfaces": len(result.interfaces),
        "errors": [e.as_dict() for e in result.errors],
        "unresolved": result.unresolved,
    }
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2)


def _print_text(result: ModelSet, console: Console) -> None:
    for error in result.errors:
        console.print(
            f"[bold red]{error.code}[/] {error.file}#{error.pointer or '/'}: {error.message}",
            highlight=False,
            soft_wrap=True,
        )
    for dtmi in result.unresolved:
        console.print(f"[yellow]UNRESOLVED[/] {dtmi}", highlight=False)
    ok = result.valid and result.complete
    status = "[green]valid[/]" if ok else "[red]invalid[/]"
    if result.valid and not result.complete:
        status = "[yellow]incomplete[/]"
    console.print(
        f"{status}: {len(result.interfaces)} interface(s), {len(result.errors)} error(s), "
        f"{len(result.unresolved)} unresolved reference(s)",
        highlight=False,
    )


@ontology_app.command("validate")
def validate(
    paths: Annotated[
        list[Path], typer.Argument(help="DTDL JSON files or folders (searched recursively).")
    ],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.text,
    allow_undefined_extensions: Annotated[
        bool,
        typer.Option("--allow-undefined-extensions", help="Tolerate unknown extension contexts."),
    ] = False,
) -> None:
    """Validate DTDL documents together as one model set."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        typer.echo(f"error: path not found: {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(2)
    result = parse_model_set(
        load_paths(paths), allow_undefined_extensions=allow_undefined_extensions
    )
    if output is OutputFormat.json:
        typer.echo(_as_json(result).decode())
    else:
        _print_text(result, Console())
    raise typer.Exit(0 if result.valid and result.complete else 1)
