"""JSON-LD ``@context`` handling for DTDL: language version, extensions and term lookup.

DTDL only permits a constrained subset of JSON-LD contexts: a DTMI string or an array of DTMI
strings, the DTDL context first, then feature extensions.  Each element may add a context of
its own, layered over its parent's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.diagnostics import Code


@dataclass(frozen=True, slots=True)
class Context:
    """The active context of one element."""

    version: int
    terms: dict[str, str] = field(hash=False)
    undefined_extension: bool = False


@dataclass(slots=True)
class ContextProblem:
    code: Code
    message: str


def process(
    value: object,
    parent: Context | None,
    *,
    allow_undefined: bool,
) -> tuple[Context | None, list[ContextProblem]]:
    """Layer an ``@context`` value over ``parent``; top-level elements pass ``parent=None``."""
    problems: list[ContextProblem] = []
    if isinstance(value, str):
        entries: list[object] = [value]
    elif isinstance(value, list):
        entries = list(value)
    else:
        problems.append(
            ContextProblem(
                Code.CONTEXT_INVALID,
                "@context must be a DTMI string or an array of DTMI strings",
            )
        )
        return parent, problems
    version = parent.version if parent else None
    terms = dict(parent.terms) if parent else {}
    undefined = parent.undefined_extension if parent else False
    for index, entry in enumerate(entries):
        if not isinstance(entry, str):
            problems.append(
                ContextProblem(Code.CONTEXT_INVALID, "every @context entry must be a string")
            )
            continue
        if not mm.CONTEXT_DTMI.match(entry):
            problems.append(
                ContextProblem(
                    Code.CONTEXT_INVALID,
                    f"@context entry '{entry}' is not a DTMI with a version number",
                )
            )
            continue
        if entry.startswith(mm.DTDL_CONTEXT_PREFIX):
            dtdl_version = entry[len(mm.DTDL_CONTEXT_PREFIX) :]
            if dtdl_version not in {str(v) for v in mm.SUPPORTED_VERSIONS}:
                problems.append(
                    ContextProblem(
                        Code.CONTEXT_UNSUPPORTED,
                        f"DTDL language version in '{entry}' is not supported (use 2 or 3)",
                    )
                )
                continue
            if index != 0 and not all(
                isinstance(e, str)
                and (e.startswith(mm.DTDL_CONTEXT_PREFIX) or e in mm.EXTENSIONS[2])
                for e in entries[:index]
            ):
                problems.append(
                    ContextProblem(
                        Code.CONTEXT_ORDER,
                        "the DTDL context must be the first entry of @context",
                    )
                )
            version = int(dtdl_version)
            terms.update(mm.context_terms(entry))
            continue
        effective = version or _later_version(entries, index)
        if effective is not None and version is None and entry in mm.EXTENSIONS[2]:
            pass  # DTDL v2 tolerates its partner extension before the DTDL context
        elif version is None:
            problems.append(
                ContextProblem(
                    Code.CONTEXT_ORDER, "the DTDL context must precede extension contexts"
                )
            )
            continue
        if entry in mm.EXTENSIONS.get(effective or 0, ()):
            terms.update(mm.context_terms(entry))
        elif allow_undefined:
            undefined = True
        else:
            problems.append(
                ContextProblem(
                    Code.UNDEFINED_EXTENSION,
                    f"extension context '{entry}' is not defined; the model is incomplete "
                    "unless undefined extensions are allowed",
                )
            )
    if version is None:
        if parent is None:
            problems.append(
                ContextProblem(
                    Code.CONTEXT_MISSING,
                    "a top-level element needs @context starting with 'dtmi:dtdl:context;3'",
                )
            )
        return parent, problems
    return Context(version, terms, undefined), problems


def _later_version(entries: list[object], index: int) -> int | None:
    for entry in entries[index + 1 :]:
        if isinstance(entry, str) and entry == f"{mm.DTDL_CONTEXT_PREFIX}2":
            return 2
    return None
