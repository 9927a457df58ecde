"""How a twin's property document is laid out on a Neo4j node.

The document is kept whole as JSON text (``properties``) for an exact round trip, and its
scalar leaves are also written as node properties named ``p.<path>`` (``p.name``,
``p.address.city``, ``p.tags.wing``) so that filters and ordering run inside Cypher, on indexable
values. Objects and lists are marked present by ``o.<path> = true`` (for ``exists`` filters);
objects are flattened into their leaves, lists stay in the JSON only (filters compare scalars).
DTDL names cannot contain dots, so the paths are unambiguous.
"""

from __future__ import annotations

from typing import Any

from twinmesh.domain import JSONObject, JSONValue

PREFIX = "p."
MARKER = "o."  # marks a present value that is not a scalar (an object or a list)

_SCALARS = (bool, int, float, str)


def property_key(path: tuple[str, ...]) -> str:
    """The node property that holds the value at a property path."""
    return PREFIX + ".".join(path)


def marker_key(path: tuple[str, ...]) -> str:
    """The node property that marks a non-scalar value at a property path."""
    return MARKER + ".".join(path)


def _leaves(path: str, value: JSONValue, out: dict[str, Any]) -> None:
    if isinstance(value, _SCALARS):
        out[PREFIX + path] = value
        return
    out[MARKER + path] = True
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(f"{path}.{key}", item, out)


def flatten(document: JSONObject) -> dict[str, Any]:
    """The ``p.<path>`` and ``o.<path>`` node properties for a property document."""
    out: dict[str, Any] = {}
    for key, value in document.items():
        _leaves(key, value, out)
    return out
