"""RFC 6902 JSON Patch over a twin's property document, as Azure Digital Twins applies it.

The document a patch addresses is the twin's properties with each component as a nested
object under its component name: ``/temperature``, ``/address/city``,
``/thermostat/temperatureSetpoint``. For a relationship it is the relationship's properties.

Rules (pure functions; the service runs them inside the store's write transaction):

* Operations are ``add``, ``remove``, ``replace``, ``move``, ``copy`` and ``test``, applied in
  order with the ``jsonpatch`` library (``test`` is compared here, strictly: ``true`` is not
  ``1``, while ``1`` equals ``1.0`` as JSON numbers do). ``add``, ``replace`` and ``test`` need a
  ``value``; ``move`` and ``copy`` need ``from``. Paths are RFC 6901 pointers (``~0`` = ``~``,
  ``~1`` = ``/``).
* A mutating operation cannot address the whole document (path ``""``): name a property or a
  component. ``test`` may.
* The first operation that cannot apply (unknown op, missing member, malformed pointer, failed
  ``test``) fails the whole patch with ``VALIDATION_FAILED``; ``details`` carries its
  zero-based ``index``, ``op`` and ``path``. Nothing is changed.
* What a patch *touches* (for writability and ``lastUpdateTime``) is the path of every
  operation but ``test``, and the ``from`` of a ``move``: :func:`touched_name` reduces it to
  the top-level property (``/address/city`` touches ``address``) or the component-qualified
  property (``/thermostat/mode`` touches ``thermostat/mode``; ``/thermostat`` the whole
  component).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonpatch
import jsonpointer

from twinmesh.domain import JSONObject, JSONValue
from twinmesh.errors import LimitExceeded, ValidationFailed
from twinmesh.ontology import Interface

MAX_PATCH_OPERATIONS = 1000
OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")
_NEEDS_VALUE = {"add", "replace", "test"}
_NEEDS_FROM = {"move", "copy"}

Operation = dict[str, Any]


def _invalid(index: int, op: str, path: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"Patch operation {index} ({op} {path}): {message} Nothing was changed.",
        details={"index": index, "op": op[:20], "path": path[:500]},
    )


def _pointer(index: int, op: str, path: str, value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _invalid(index, op, str(path), f"'{field}' must be a JSON pointer string.")
    try:
        jsonpointer.JsonPointer(value)
    except jsonpointer.JsonPointerException:
        raise _invalid(
            index,
            op,
            path,
            f"'{field}' {value[:200]!r} is not a JSON pointer; it starts with '/' and "
            "escapes '~' as ~0 and '/' as ~1.",
        ) from None
    if value == "" and op != "test":
        raise _invalid(index, op, path, f"'{field}' cannot be the whole document; name a property.")
    return value


def parse_patch(operations: Sequence[Mapping[str, Any]]) -> list[Operation]:
    """Check each operation's shape; return them as plain RFC 6902 operation objects."""
    if not operations:
        raise ValidationFailed("A patch needs at least one operation.")
    if len(operations) > MAX_PATCH_OPERATIONS:
        raise LimitExceeded(
            f"A patch may have at most {MAX_PATCH_OPERATIONS} operations; split it."
        )
    parsed: list[Operation] = []
    for index, raw in enumerate(operations):
        op = raw.get("op")
        path = raw.get("path")
        shown = path if isinstance(path, str) else ""
        if op not in OPERATIONS:
            raise _invalid(
                index,
                str(op)[:20],
                shown,
                f"unknown op; use one of {', '.join(OPERATIONS)}.",
            )
        assert isinstance(op, str)
        operation: Operation = {"op": op, "path": _pointer(index, op, shown, path, "path")}
        if op in _NEEDS_VALUE:
            if "value" not in raw:
                raise _invalid(index, op, shown, "this op needs a 'value'.")
            operation["value"] = raw["value"]
        if op in _NEEDS_FROM:
            if raw.get("from") is None:
                raise _invalid(index, op, shown, "this op needs 'from'.")
            operation["from"] = _pointer(index, op, shown, raw["from"], "from")
        parsed.append(operation)
    return parsed


def json_equal(a: object, b: object) -> bool:
    """JSON equality: booleans are not numbers; numbers compare by value; objects unordered."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def apply_patch(
    document: JSONObject, operations: Sequence[Operation]
) -> tuple[JSONObject, list[tuple[str, ...]]]:
    """The patched copy of ``document`` (never mutated) and the token paths it touched."""
    result: JSONObject = copy.deepcopy(document)
    touched: list[tuple[str, ...]] = []
    for index, operation in enumerate(operations):
        op, path = operation["op"], operation["path"]
        if op == "test":
            found = jsonpointer.resolve_pointer(result, path, _MISSING)
            if found is _MISSING:
                raise _invalid(index, op, path, "nothing exists at this path.")
            if not json_equal(found, operation["value"]):
                raise _invalid(index, op, path, "the value there is not the tested value.")
            continue
        try:
            jsonpatch.JsonPatch([operation]).apply(result, in_place=True)
        except jsonpatch.JsonPatchConflict:
            raise _invalid(
                index,
                op,
                path,
                "the path (or 'from') does not exist in the twin, or cannot take this value.",
            ) from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError):
            raise _invalid(index, op, path, "the operation cannot apply here.") from None
        touched.append(tuple(jsonpointer.JsonPointer(path).parts))
        if op == "move":
            touched.append(tuple(jsonpointer.JsonPointer(operation["from"]).parts))
    return result, touched


_MISSING: Any = object()


def touched_name(
    interface: Interface, resolve: Callable[[str], Interface | None], tokens: tuple[str, ...]
) -> str:
    """The property (or component-qualified property) a path inside the document changes."""
    current: Interface | None = interface
    parts: list[str] = []
    for token in tokens:
        parts.append(token)
        component = current.components.get(token) if current is not None else None
        if component is None:
            break
        current = resolve(component.schema)
    return "/".join(parts)


def split_document(interface: Interface, document: JSONObject) -> tuple[JSONObject, JSONObject]:
    """(properties, components): members named like a declared component go to components."""
    properties: JSONObject = {}
    components: JSONObject = {}
    for key, value in document.items():
        (components if key in interface.components else properties)[key] = value
    return properties, components


def merged_document(properties: JSONObject, components: JSONObject) -> JSONObject:
    """The document a patch addresses: properties, then each component under its name."""
    document: dict[str, JSONValue] = dict(properties)
    document.update(components)
    return document
