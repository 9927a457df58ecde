"""``where`` and ``orderBy`` inputs of ``Query.twins`` and their translation into plan terms."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from twinmesh.errors import LimitExceeded, ValidationFailed
from twinmesh.store.codec import dump_time
from twinmesh.store.plan import (
    AllOf,
    AnyOf,
    Condition,
    FieldRef,
    MetaField,
    Not,
    Operator,
    Predicate,
    SortKey,
    parse_property_path,
)

MAX_CONDITIONS = 50


@strawberry.enum(description="Twin metadata that can be filtered and sorted on.")
class TwinField(Enum):
    ID = "id"
    MODEL = "model"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(
    description="A filter on twins. Name a `property` (a path such as /address/city) or a "
    "metadata `field`, then one or more operators (all must hold); combine filters with "
    "and / or / not. A twin without the property matches only `exists: false`."
)
class TwinWhere:
    and_: list[TwinWhere] | None = strawberry.field(default=None, name="and")
    or_: list[TwinWhere] | None = strawberry.field(default=None, name="or")
    not_: TwinWhere | None = strawberry.field(default=None, name="not")
    property: str | None = None
    field: TwinField | None = None
    eq: JSON | None = None
    ne: JSON | None = None
    lt: JSON | None = None
    lte: JSON | None = None
    gt: JSON | None = None
    gte: JSON | None = None
    in_: list[JSON] | None = strawberry.field(default=None, name="in")
    contains: str | None = None
    starts_with: str | None = None
    exists: bool | None = None


@strawberry.input(description="One ordering key; twins without the property come last.")
class TwinOrder:
    property: str | None = None
    field: TwinField | None = None
    direction: SortDirection = SortDirection.ASC


_OPERATORS: tuple[tuple[str, Operator], ...] = (
    ("eq", "eq"),
    ("ne", "ne"),
    ("lt", "lt"),
    ("lte", "lte"),
    ("gt", "gt"),
    ("gte", "gte"),
    ("in_", "in"),
    ("contains", "contains"),
    ("starts_with", "starts_with"),
    ("exists", "exists"),
)


def _field_ref(property_path: str | None, field: TwinField | None, where: str) -> FieldRef:
    if (property_path is None) == (field is None):
        raise ValidationFailed(
            f"Each {where} names exactly one of `property` or `field`.", details={"input": where}
        )
    if field is not None:
        meta: MetaField = field.value
        return FieldRef(meta=meta)
    assert property_path is not None
    return FieldRef(path=parse_property_path(property_path))


def _scalar(value: Any, ref: FieldRef, op: str) -> Any:
    if not isinstance(value, str | int | float | bool) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63
    ):
        raise ValidationFailed(
            f"`{op}` compares with a string, number or boolean.", details={"operator": op}
        )
    if ref.meta in ("created_at", "updated_at"):
        try:
            return dump_time(datetime.fromisoformat(str(value)))
        except ValueError as exc:
            raise ValidationFailed(
                f"`{op}` on {ref.meta} takes an ISO 8601 date-time with an offset.",
                details={"operator": op},
            ) from exc
    if ref.meta is not None and not isinstance(value, str):
        raise ValidationFailed(f"`{op}` on {ref.meta} takes a string.", details={"operator": op})
    if isinstance(value, bool) and op not in ("eq", "ne", "in"):
        raise ValidationFailed(f"`{op}` does not apply to booleans.", details={"operator": op})
    return value


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.count > MAX_CONDITIONS:
            raise LimitExceeded(f"A filter may hold at most {MAX_CONDITIONS} conditions.")


def to_predicate(where: TwinWhere, counter: _Counter | None = None) -> Predicate:
    """The plan predicate of a ``where`` input (validated)."""
    counter = counter or _Counter()
    parts: list[Predicate] = []
    present = [(name, op) for name, op in _OPERATORS if getattr(where, name) is not None]
    if present:
        ref = _field_ref(where.property, where.field, "filter")
        for name, op in present:
            counter.tick()
            raw = getattr(where, name)
            if op == "in":
                value: Any = [_scalar(v, ref, "in") for v in raw]
            elif op == "exists":
                value = bool(raw)
            else:
                value = _scalar(raw, ref, op)
            parts.append(Condition(ref, op, value))
    elif where.property is not None or where.field is not None:
        raise ValidationFailed("A filter on a property or field needs an operator such as eq.")
    if where.and_ is not None:
        parts.append(AllOf(tuple(to_predicate(w, counter) for w in where.and_)))
    if where.or_ is not None:
        parts.append(AnyOf(tuple(to_predicate(w, counter) for w in where.or_)))
    if where.not_ is not None:
        parts.append(Not(to_predicate(where.not_, counter)))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def to_sort_keys(order: list[TwinOrder] | None) -> tuple[SortKey, ...]:
    keys = tuple(
        SortKey(_field_ref(o.property, o.field, "orderBy entry"), o.direction is SortDirection.DESC)
        for o in order or []
    )
    if len(keys) > 4:
        raise ValidationFailed("orderBy takes at most 4 keys.")
    return keys


def order_spec(keys: tuple[SortKey, ...]) -> str:
    """A stable text form of an ordering, for cursor fingerprints."""
    return ";".join(
        f"{k.field.meta or '/'.join(k.field.path)}:{'d' if k.descending else 'a'}" for k in keys
    )
