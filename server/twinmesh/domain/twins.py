"""Twins, relationships and the identifiers that address them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType, TypeAlias

from twinmesh.errors import Conflict, ValidationFailed

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONObject: TypeAlias = dict[str, JSONValue]

TenantId = NewType("TenantId", str)

REMOTE_REF_PREFIX = "twin://"
MAX_ID_LENGTH = 256
_TENANT_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def validate_tenant_id(value: str) -> TenantId:
    """A tenant id is a DNS-label-like name: lowercase letters, digits and inner hyphens."""
    if not _TENANT_RE.fullmatch(value):
        raise ValidationFailed(
            "A tenant id must be 1-63 lowercase letters, digits or inner hyphens.",
            details={"tenant": value[:80]},
        )
    return TenantId(value)


def validate_identifier(value: str, *, what: str) -> str:
    """Twin and relationship ids: 1-256 characters, no control characters."""
    if not value or len(value) > MAX_ID_LENGTH or _CONTROL_RE.search(value):
        raise ValidationFailed(
            f"A {what} id must be 1-{MAX_ID_LENGTH} characters without control characters.",
            details={"field": what},
        )
    if value.startswith(REMOTE_REF_PREFIX):
        raise ValidationFailed(
            f"A {what} id cannot start with {REMOTE_REF_PREFIX!r}; that prefix marks remote "
            "references.",
            details={"field": what},
        )
    return value


def is_remote_ref(target: str) -> bool:
    """Whether a relationship target points at a partner's twin (``twin://org/tenant/id``)."""
    return target.startswith(REMOTE_REF_PREFIX)


def new_etag() -> str:
    """A fresh opaque entity tag, in the weak form ADT uses (``W/"..."``)."""
    return f'W/"{secrets.token_hex(12)}"'


@dataclass(frozen=True, slots=True)
class NewTwin:
    """What a caller supplies to create a twin."""

    id: str
    model: str
    properties: JSONObject = field(default_factory=dict)
    components: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Twin:
    """A stored twin with its metadata."""

    id: str
    model: str
    properties: JSONObject
    components: JSONObject
    etag: str
    created_at: datetime
    updated_at: datetime
    metadata: JSONObject = field(default_factory=dict)
    """Per-property ``lastUpdateTime``; see :func:`stamp_metadata` for its shape."""


@dataclass(frozen=True, slots=True)
class TwinUpdate:
    """New documents for a twin, computed from its current state inside a store transaction.

    ``touched`` names what the update set or removed, as top-level property names, whole
    component names (``"thermostat"``) or component-qualified names
    (``"thermostat/temperatureSetpoint"``); their ``lastUpdateTime`` becomes the update's time.
    """

    properties: JSONObject
    components: JSONObject
    touched: frozenset[str] = frozenset()


LAST_UPDATE_TIME = "lastUpdateTime"
_ABSENT = object()


def _touches(touched: frozenset[str], name: str) -> bool:
    return name in touched or any(entry.startswith(name + "/") for entry in touched)


def stamp_metadata(
    previous: JSONObject,
    properties: JSONObject,
    components: JSONObject,
    *,
    touched: frozenset[str] | None,
    moment: str,
) -> JSONObject:
    """The per-property metadata of a twin after a write at ``moment``.

    Shape (it mirrors the property document, like Azure Digital Twins' ``$metadata``)::

        {"name": {"lastUpdateTime": "..."},
         "thermostat": {"temperatureSetpoint": {"lastUpdateTime": "..."}}}

    Every property present has an entry, and only those: a removed property loses its entry.
    A property gets ``moment`` when it is new, when ``touched`` is ``None`` (creation: all of
    them) or when ``touched`` names it, its component, or a path inside it; otherwise it keeps
    its previous time. A component's entry maps each of its properties (one level: a nested
    DTDL v2 component counts as one property of its parent component).
    """
    stamp: JSONObject = {LAST_UPDATE_TIME: moment}

    def keep(old: JSONValue, name: str, qualified: str) -> JSONValue:
        if touched is None or _touches(touched, qualified):
            return dict(stamp)
        if isinstance(old, dict) and name in old and isinstance(old[name], dict):
            return old[name]
        return dict(stamp)

    result: JSONObject = {name: keep(previous, name, name) for name in properties}
    for component, value in components.items():
        if not isinstance(value, dict):
            continue
        old = previous.get(component)
        whole = touched is not None and component in touched
        result[component] = {
            name: dict(stamp) if whole else keep(old, name, f"{component}/{name}") for name in value
        }
    return result


def changed_names(before: Twin, properties: JSONObject, components: JSONObject) -> frozenset[str]:
    """What a whole-document replacement changes: top-level properties and component members
    whose value differs (set or removed), in :class:`TwinUpdate` ``touched`` form."""
    names = {
        name
        for name in before.properties.keys() | properties.keys()
        if before.properties.get(name, _ABSENT) != properties.get(name, _ABSENT)
    }
    for component in before.components.keys() | components.keys():
        old = before.components.get(component)
        new = components.get(component)
        if not isinstance(old, dict) or not isinstance(new, dict):
            if old != new:
                names.add(component)
            continue
        names.update(
            f"{component}/{name}"
            for name in old.keys() | new.keys()
            if old.get(name, _ABSENT) != new.get(name, _ABSENT)
        )
    return frozenset(names)


def refuse_delete_while_related(twin_id: str, outgoing: int, incoming: int) -> None:
    """A twin delete without cascade is a ``Conflict`` while any relationship touches it."""
    if outgoing or incoming:
        raise Conflict(
            f"Twin {twin_id!r} still has {outgoing} outgoing and {incoming} incoming "
            "relationships; delete the relationships first, or pass cascade: true to delete "
            "them with the twin.",
            details={"outgoing": outgoing, "incoming": incoming},
        )


@dataclass(frozen=True, slots=True)
class NewRelationship:
    """What a caller supplies to create a relationship; ``target`` is a twin id or remote ref."""

    source_id: str
    id: str
    name: str
    target: str
    properties: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Relationship:
    """A stored relationship. Its id is unique among its source twin's relationships."""

    source_id: str
    id: str
    name: str
    target: str
    properties: JSONObject
    etag: str
