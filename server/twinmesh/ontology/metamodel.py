"""Typed access to the generated DTDL metamodel tables.

``_metamodel_data`` is compiled from the official RDF/SHACL metamodel (see
``tests/ontology/metamodel_gen.py``); this module answers the questions the parser asks of it:
which classes a class inherits from, which property constraints apply to an element, which
contexts and terms exist, and which DTMIs name built-in instances such as ``double``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from twinmesh.ontology import _metamodel_data as data

DTDL_CONTEXT_PREFIX = "dtmi:dtdl:context;"
SUPPORTED_VERSIONS = (2, 3)
EXTENSIONS: dict[int, tuple[str, ...]] = {
    2: ("dtmi:iotcentral:context;2",),
    3: (
        "dtmi:dtdl:extension:quantitativeTypes;1",
        "dtmi:dtdl:extension:historization;1",
        "dtmi:dtdl:extension:annotation;1",
        "dtmi:dtdl:extension:overriding;1",
        "dtmi:dtdl:extension:mqtt;1",
    ),
}
CONTEXT_DTMI = re.compile(
    r"^dtmi:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*"
    r";[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,5})?$"
)
ANY_DTMI = re.compile(
    r"^dtmi:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*"
    r"(?:;[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,5})?)?$"
)


@dataclass(frozen=True, slots=True)
class Constraint:
    """One SHACL property shape, as applied to one element."""

    name: str
    owner: str
    min: int = 0
    max: int | None = None
    datatype: str | None = None
    kind: str | None = None
    classes: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    infer: bool = False
    unique: tuple[str, ...] = ()
    child_of: str | None = None
    deprecated: bool = False


@dataclass(frozen=True, slots=True)
class ClassInfo:
    dtmi: str
    name: str
    version: int
    supers: tuple[str, ...]
    abstract: bool
    material: bool
    extensible: bool
    partition: bool
    id_max: int | None
    hosts: tuple[str, ...]
    requires: tuple[str, ...]
    constraints: tuple[Constraint, ...] = field(default=())


def _constraint(name: str, owner: str, raw: dict[str, Any]) -> Constraint:
    return Constraint(
        name=name,
        owner=owner,
        min=int(raw.get("min", 0)),
        max=raw.get("max"),
        datatype=raw.get("dt"),
        kind=raw.get("kind"),
        classes=tuple(raw.get("cls", ())),
        allowed=tuple(raw.get("in", ())),
        pattern=raw.get("pattern"),
        max_length=raw.get("maxlen"),
        min_value=raw.get("minv"),
        max_value=raw.get("maxv"),
        infer=bool(raw.get("infer", False)),
        unique=tuple(raw.get("unique", ())),
        child_of=raw.get("child_of"),
        deprecated=bool(raw.get("deprecated", False)),
    )


def _build_classes() -> dict[str, ClassInfo]:
    out: dict[str, ClassInfo] = {}
    for dtmi, raw in data.CLASSES.items():
        out[dtmi] = ClassInfo(
            dtmi=dtmi,
            name=raw["name"],
            version=raw["v"],
            supers=tuple(raw["super"]),
            abstract=raw["abstract"],
            material=raw["material"],
            extensible=raw["extensible"],
            partition=raw["partition"],
            id_max=raw.get("id_max"),
            hosts=tuple(raw["hosts"]),
            requires=tuple(raw["requires"]),
            constraints=tuple(_constraint(n, dtmi, c) for n, c in raw["props"].items()),
        )
    return out


CLASSES: dict[str, ClassInfo] = _build_classes()
PROPERTY_NAMES: dict[str, str] = data.PROPERTY_NAMES
INSTANCES: dict[str, list[str]] = data.INSTANCES
UNIT_TYPES: dict[str, list[str]] = data.UNIT_TYPES
GLOBALS: dict[int, dict[str, Any]] = data.GLOBALS
LIMITS: dict[str, Any] = data.LIMITS
RESERVED_PREFIXES: tuple[str, ...] = tuple(
    {p for g in GLOBALS.values() for p in g["reserved"]} | set(LIMITS.get("reserved_extra", []))
)
ID_PATTERNS: dict[int, re.Pattern[str]] = {
    v: re.compile(g["id_pattern"]) for v, g in GLOBALS.items()
}


SEMANTIC_TYPES = ("dtmi:dtdl:class:SemanticType;2", "dtmi:dtdl:class:SemanticType;3")


def class_dtmi(name: str, version: int) -> str:
    return f"dtmi:dtdl:class:{name};{version}"


@cache
def lineage(dtmi: str) -> frozenset[str]:
    """The class and all of its superclasses."""
    info = CLASSES.get(dtmi)
    if info is None:
        return frozenset({dtmi})
    out = {dtmi}
    for sup in info.supers:
        out |= lineage(sup)
    return frozenset(out)


def is_a(dtmi: str, wanted: tuple[str, ...] | list[str]) -> bool:
    """True when class ``dtmi`` is (a subclass of) one of ``wanted``."""
    full = lineage(dtmi)
    return any(w in full for w in wanted)


@cache
def constraints_of(dtmi: str) -> tuple[Constraint, ...]:
    """Constraints declared on the class and every superclass."""
    out: list[Constraint] = []
    for cls in sorted(lineage(dtmi)):
        info = CLASSES.get(cls)
        if info is not None:
            out.extend(info.constraints)
    return tuple(out)


def context_terms(context_id: str) -> dict[str, str]:
    return data.CONTEXTS.get(context_id, {})


def is_extensible(dtmi: str) -> bool:
    """Adjunct (co-type) classes: semantic types, extension features, units."""
    return any(CLASSES[c].extensible for c in lineage(dtmi) if c in CLASSES)
