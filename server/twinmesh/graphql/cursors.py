"""Opaque, stable keyset cursors: base64url of JSON ``[kind, fingerprint, values]``.

The fingerprint ties a cursor to the ordering it was made for, so a cursor from one query
cannot silently page another. Cursors carry no secrets; tampering only yields another position
or a clear ``VALIDATION_FAILED``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from twinmesh.errors import ValidationFailed


def fingerprint(spec: str) -> str:
    return hashlib.blake2s(spec.encode(), digest_size=6).hexdigest()


def encode(kind: str, spec: str, values: list[Any]) -> str:
    raw = orjson.dumps([kind, fingerprint(spec), values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, kind: str, spec: str) -> list[Any]:
    """The keyset values of a cursor made by :func:`encode` for the same kind and ordering."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        made_kind, made_for, values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            "The cursor is not valid; pass a cursor from a previous page of this query.",
            details={"argument": "after"},
        ) from exc
    if made_kind != kind or made_for != fingerprint(spec) or not isinstance(values, list):
        raise ValidationFailed(
            "The cursor belongs to another query or ordering; start again without after.",
            details={"argument": "after"},
        )
    return values
