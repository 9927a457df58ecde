"""Store-neutral read plans: one GraphQL read becomes one plan, and each adapter compiles a
whole plan into one database statement (one Cypher query, one SQL query).

A plan names what to fetch: the root twins (by id, or a filtered, ordered, keyset-paginated
list with its total), and for each twin the relationship expansions the client selected,
nested to any depth, each with its own name/model filters, page and total. Values the client
supplied only ever travel as parameters; paths and field names are validated here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from twinmesh.domain import Relationship, Twin
from twinmesh.errors import ValidationFailed

Scalar: TypeAlias = str | int | float | bool
MetaField = Literal["id", "model", "created_at", "updated_at"]
Operator = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "starts_with", "exists"]
COMPARISONS: dict[str, str] = {
    "eq": "=",
    "ne": "<>",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
}

# Sort order across value types, the same on every store: numbers, strings, booleans, missing.
MISSING_RANK = 3


def sort_rank(value: Any) -> int:
    """The type rank of a property value in an ordering (see :data:`MISSING_RANK`)."""
    if isinstance(value, bool):
        return 2
    if isinstance(value, int | float):
        return 0
    if isinstance(value, str):
        return 1
    return MISSING_RANK


_SEGMENT = re.compile(r"[A-Za-z](?:[A-Za-z0-9_]{0,510}[A-Za-z0-9])?")
MAX_PATH_DEPTH = 8


def parse_property_path(text: str) -> tuple[str, ...]:
    """``/address/city`` or ``address.city`` -> ``("address", "city")``; segments are DTDL names."""
    segments = tuple(text.strip("/").split("/" if text.startswith("/") else "."))
    if (
        not segments
        or len(segments) > MAX_PATH_DEPTH
        or not all(_SEGMENT.fullmatch(s) for s in segments)
    ):
        raise ValidationFailed(
            f"{text[:80]!r} is not a property path; write /name or /object/field with DTDL "
            "names (letters, digits, underscores).",
            details={"path": text[:200]},
        )
    return segments


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A twin property path, or one of the twin's metadata fields."""

    path: tuple[str, ...] = ()
    meta: MetaField | None = None

    def __post_init__(self) -> None:
        if (self.meta is None) == (not self.path):
            raise ValueError("a field is either a property path or a metadata field")


@dataclass(frozen=True, slots=True)
class Condition:
    """``field <op> value``; a missing property never satisfies a condition but ``exists false``."""

    field: FieldRef
    op: Operator
    value: Any


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Predicate


Predicate: TypeAlias = Condition | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    """Order by a field. Property values sort by type first (numbers, strings, booleans), then
    by value; twins without the property come last in either direction."""

    field: FieldRef
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Expansion:
    """A twin's relationships (outgoing or incoming), optionally filtered, one page of them."""

    key: str  # the response key (alias) the client selected them under
    direction: Literal["out", "in"]
    first: int
    name: str | None = None
    models: tuple[str, ...] | None = None  # the neighbour twin's model must be one of these
    after: tuple[str, ...] | None = None  # out: (rel id,); in: (source id, rel id)
    total: bool = False
    where: Predicate | None = None  # a local neighbour twin must match (policy push-down)
    # Whether relationships to partners' twins (twin://...) stay in the page: ``where`` cannot
    # judge them (the partner authorises its own twins when they are followed).
    remote: bool = True
    node: NodeSelection = field(default_factory=lambda: NodeSelection())


@dataclass(frozen=True, slots=True)
class NodeSelection:
    """What to fetch with each twin besides its own fields."""

    expansions: tuple[Expansion, ...] = ()


@dataclass(frozen=True, slots=True)
class TwinLookup:
    """One twin by id."""

    id: str
    node: NodeSelection = field(default_factory=NodeSelection)


@dataclass(frozen=True, slots=True)
class TwinListQuery:
    """A filtered, ordered page of twins. ``order`` ends with ``id`` implicitly."""

    first: int
    models: tuple[str, ...] | None = None
    where: Predicate | None = None
    order: tuple[SortKey, ...] = ()
    after: tuple[Any, ...] | None = None  # per sort key: (rank, value); then the id
    total: bool = False
    node: NodeSelection = field(default_factory=NodeSelection)


# -- results -------------------------------------------------------------------------------


@dataclass(slots=True)
class EdgePage:
    """A page of relationships with their neighbour twins (``None`` for remote targets)."""

    edges: list[tuple[Relationship, TwinRow | None]]
    has_next: bool
    total: int | None


@dataclass(slots=True)
class TwinRow:
    """A twin with the expansions its selection asked for, by response key."""

    twin: Twin
    expansions: dict[str, EdgePage] = field(default_factory=dict)
    sort_values: tuple[Any, ...] = ()  # the keyset of this row in its list (for cursors)


@dataclass(slots=True)
class TwinPage:
    rows: list[TwinRow]
    has_next: bool
    total: int | None
