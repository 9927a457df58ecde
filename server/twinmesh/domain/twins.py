"""Twins, relationships and the identifiers that address them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType, TypeAlias

from twinmesh.errors import ValidationFailed

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
