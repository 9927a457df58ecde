"""Encoding shared by the adapters: JSON documents and timestamps as stored text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import orjson

from twinmesh.domain import JSONObject


def dump_document(document: JSONObject) -> str:
    """Compact JSON text of a property document (keys kept in the caller's order)."""
    return orjson.dumps(document).decode()


def load_document(text: str | None) -> JSONObject:
    """A property document back from stored JSON text (missing means empty)."""
    return cast(JSONObject, orjson.loads(text)) if text else {}


def now_utc() -> datetime:
    """The current time in UTC, microsecond precision."""
    return datetime.now(UTC)


def dump_time(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text, so stored timestamps sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def load_time(text: str) -> datetime:
    """A stored timestamp back as an aware UTC datetime."""
    return datetime.fromisoformat(text)
