"""Read DTDL JSON files (or folders of them) into ``SourceDocument`` objects.

This is the only module of the package that touches the file system.  Unreadable files and
JSON syntax errors become diagnostics (``FILE_UNREADABLE`` / ``INVALID_JSON``) carried by a
``SourceDocument`` whose content is an ``InvalidSource`` marker, so one bad file never aborts
loading the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from twinmesh.ontology.diagnostics import Code, Diagnostic
from twinmesh.ontology.model import SourceDocument


@dataclass(frozen=True, slots=True)
class InvalidSource:
    """Content placeholder for a file that could not be decoded."""

    diagnostic: Diagnostic


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    return [path]


def load_paths(paths: Sequence[Path]) -> list[SourceDocument]:
    """Load every ``*.json`` file under ``paths`` (files are taken as given)."""
    documents: list[SourceDocument] = []
    for root in paths:
        for file in _files(root):
            name = str(file)
            try:
                data = file.read_bytes()
            except OSError as exc:
                diag = Diagnostic(name, "", Code.FILE_UNREADABLE, f"cannot read file: {exc}")
                documents.append(SourceDocument(name, InvalidSource(diag)))
                continue
            try:
                content = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError as exc:
                diag = Diagnostic(name, "", Code.INVALID_JSON, f"not valid JSON: {exc}")
                documents.append(SourceDocument(name, InvalidSource(diag)))
                continue
            documents.append(SourceDocument(name, content))
    return documents
