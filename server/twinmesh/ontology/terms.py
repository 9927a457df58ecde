"""Classify a JSON-LD term or IRI the way DTDL does when it appears as a type or property.

A string used as ``@type`` entry, property key or reference is either a term defined by the
active contexts, a DTMI, an invalid DTMI, an undefined term, or something that is neither a DTMI
nor a term (e.g. an ``http:`` IRI).  The DTDL version decides which of the unknown categories
are tolerated (DTDL v2 is lenient, v3 strict) via the metamodel's ``apocrypha`` settings.
"""

from __future__ import annotations

from enum import StrEnum

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.context import Context


class TermKind(StrEnum):
    DEFINED = "defined"
    UNDEFINED = "undefinedTerm"
    NOT_DTMI_NOR_TERM = "notDtmiNorTerm"
    INVALID_DTMI = "invalidDtmi"
    DTMI = "dtmi"


def classify(text: str, ctx: Context) -> tuple[TermKind, str]:
    """Return the kind of ``text`` and, for terms and DTMIs, the DTMI it stands for."""
    found = ctx.terms.get(text)
    if found is not None:
        return TermKind.DEFINED, found
    if text.startswith("dtmi:"):
        if mm.ANY_DTMI.match(text):
            return TermKind.DTMI, text
        return TermKind.INVALID_DTMI, text
    if ":" in text:
        return TermKind.NOT_DTMI_NOR_TERM, text
    return TermKind.UNDEFINED, text


def tolerated(category: str, usage: str, ctx: Context) -> bool:
    """May an unknown ``category`` (see ``TermKind`` / ``irrelevantDtmiOrTerm``) be ignored?

    ``usage`` is ``asCotype`` or ``asProperty``.
    """
    rules = mm.GLOBALS[ctx.version]
    if category in rules["never_allow"].get(usage, []):
        return False
    if category in rules["always_allow"].get(usage, []):
        return True
    return ctx.undefined_extension
