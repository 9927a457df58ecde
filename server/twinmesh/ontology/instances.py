"""Validate twin and relationship instances against resolved DTDL Interfaces (pure, no I/O).

:func:`check_twin` checks a twin's property document and component documents;
:func:`check_relationship` checks one relationship about to be created or updated.  Both return
every :class:`Violation` found (an empty list means valid), in document order.  Paths are
RFC 6901 JSON pointers into the twin's property document, where a component is a nested object
under its name (``/name``, ``/address/city``, ``/tags/wing``, ``/thermostat/mode``); for a
relationship, ``""`` is the relationship itself and ``/properties/since`` one of its properties.

Codes (:class:`ViolationCode`, a ``StrEnum`` defined in :mod:`twinmesh.ontology.primitives`;
``Violation.code`` compares and serialises as the plain string):

=========================  ===========================================================
UNKNOWN_PROPERTY           key is not a declared Property (own or inherited)
NOT_A_PROPERTY             key names a Telemetry, Command, Relationship or Component
NOT_WRITABLE               an update changes a Property whose ``writable`` is false
WRONG_TYPE                 value has the wrong JSON type (``null`` included)
OUT_OF_RANGE               number outside the schema's range (integer widths, float, NaN)
INVALID_FORMAT             string not in the schema's lexical form (date, uuid, ...)
NOT_IN_ENUM                right type, but not one of the Enum's ``enumValue`` values
UNKNOWN_FIELD              Object (or geometry) member that the schema does not declare
INVALID_MAP_KEY            Map key that is not a DTDL name
MISSING_FIELD              a geometry without ``type`` or ``coordinates``
INVALID_GEOMETRY           GeoJSON structure wrong (type name, positions, open ring)
UNSUPPORTED_SCHEMA         the model uses a schema this checker does not know
UNKNOWN_COMPONENT          ``components`` key that is not a declared Component
COMPONENT_NOT_OBJECT       a component's value is not a JSON object
UNRESOLVED_MODEL           a component's Interface could not be resolved
UNKNOWN_RELATIONSHIP       relationship name not declared by the source Interface
TARGET_MODEL_MISMATCH      local target twin's model is not the declared target (or a subtype)
MULTIPLICITY_EXCEEDED      creating the relationship would exceed ``maxMultiplicity``
=========================  ===========================================================

Decisions:

* **null** is never a valid value (``WRONG_TYPE``), at any depth.  A property or an Object
  field is cleared by removing its key (a JSON Patch ``remove``, as in Azure Digital Twins).
* **Objects**: every field is optional (DTDL has no required fields); unknown members are
  ``UNKNOWN_FIELD``.  **Maps**: a key must match the DTDL name rule
  ``^[a-zA-Z](?:[a-zA-Z0-9_]*[a-zA-Z0-9])?$`` and be at most 512 characters.  The DTDL spec
  only says "the key in a Map must be a string" and applies that rule to the MapKey's *name*;
  applying it to instance keys is a twinmesh choice that keeps keys usable as identifiers and
  safe in JSON pointers and queries.
* **Numbers**: ``bool`` is never a number.  Integer schemas need a JSON integer (``3.0`` is
  ``WRONG_TYPE``) within the schema's width; ``double``/``float`` accept integers and floats
  that are finite and within the IEEE range; ``decimal`` accepts a finite number or a numeric
  string without exponent.  ``date`` is ``YYYY-MM-DD`` and a real calendar date;
  ``dateTime`` is RFC 3339 and needs ``Z`` or an offset (no leap second ``:60``); ``time`` is
  ``hh:mm:ss[.f]`` with an optional offset; ``duration`` is ``xsd:duration`` (optional ``-``,
  fraction on seconds only) or the ISO 8601 week form ``PnW``; ``uuid`` is the 8-4-4-4-12 hex
  form; ``bytes`` is padded standard base64.  ``byte``, ``bytes``, ``decimal``, ``short``,
  ``uuid`` and the ``unsigned*`` schemas come from DTDL v4 (the parser does not accept them
  yet); they are checked here so the checker is ready when it does.
* **Geospatial** schemas are GeoJSON geometries: an object with the matching ``type``, the
  ``coordinates`` nesting of that type (position = 2 or 3 numbers; line string >= 2
  positions; linear ring >= 4 positions, closed) and optionally ``bbox``; nothing else.
  Only the first problem inside one geometry is reported.
* **Enums**: the value must have the ``valueSchema`` type (``WRONG_TYPE`` otherwise) and be
  one of the ``enumValue`` literals (``NOT_IN_ENUM``); labels (``name``) are not accepted.
* **Unknown schemas** (a schema name this module does not know) fail closed with
  ``UNSUPPORTED_SCHEMA``.
* **Components**: missing components are allowed (nothing in DTDL makes one mandatory).  A
  component value is an object checked like a twin's properties against the component's
  Interface (``resolve(dtmi)``); inside it, a key naming a nested Component (DTDL v2) is
  checked as a component in turn.  The caller strips system members such as ``$metadata``
  before calling: any other key is reported.
* **Writability**: ``changed=None`` means creation, where every declared Property may be set.
  On update, ``changed`` lists the top-level property names and component-qualified names
  (``"thermostat/mode"``) being set *or removed*; each one naming a Property whose DTDL
  ``writable`` is false gets ``NOT_WRITABLE``: such properties describe state reported by the
  device or the twin's owner, so a client may set them when creating the twin but not change
  them later.  A ``changed`` entry naming a whole component covers every property present in
  its new value.  Entries naming nothing declared are ignored (the document check reports
  them if present).  Owner-side writers pass ``changed=None``.
* **Relationships**: a ``target`` is matched by the target twin's Interface id or its
  ``ancestors``; remote targets, and local ones whose Interface is not given
  (``target=None``), skip that check.  ``maxMultiplicity`` is checked on creation only
  (``changed is None``), as ``existing_count + 1 <= maxMultiplicity``; ``minMultiplicity``
  is always 0 in DTDL v2/v3, so it is not checked.  The Relationship's own ``writable`` flag
  is not enforced: creating and deleting relationships is what clients do.

Performance: the walk follows the schema, never copies values, builds a path string only
when descending into a container or reporting, and caches per-schema lookup tables (Object
field maps, Enum value sets) by identity.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from twinmesh.ontology.model import (
    ArraySchema,
    Component,
    EnumSchema,
    Interface,
    MapSchema,
    ObjectSchema,
    Property,
    Schema,
)
from twinmesh.ontology.primitives import (
    PRIMITIVE_CHECKS,
    ViolationCode,
    describe,
    escape,
    is_integer,
    quote,
    wrong_type,
)

__all__ = ["Violation", "ViolationCode", "check_relationship", "check_twin"]

Resolve = Callable[[str], Interface | None]

_MAX_COMPONENT_DEPTH = 8
_MAX_NAME_LENGTH = 512
_LIST_LIMIT = 20
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Violation:
    """One problem in an instance: where (JSON pointer), what (stable code) and why."""

    path: str
    code: str
    message: str


# --- per-schema lookup tables, cached by identity ------------------------------------------

_FIELDS: dict[int, tuple[ObjectSchema, dict[str, Schema]]] = {}
_ENUMS: dict[int, tuple[EnumSchema, frozenset[str | int], str]] = {}


def _fields(schema: ObjectSchema) -> dict[str, Schema]:
    entry = _FIELDS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_FIELDS) >= _CACHE_LIMIT:
            _FIELDS.clear()
        entry = (schema, {f.name: f.schema for f in schema.fields})
        _FIELDS[id(schema)] = entry
    return entry[1]


def _enum(schema: EnumSchema) -> tuple[frozenset[str | int], str]:
    entry = _ENUMS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_ENUMS) >= _CACHE_LIMIT:
            _ENUMS.clear()
        literals = [v.enum_value for v in schema.enum_values]
        shown = _names([quote(v) if isinstance(v, str) else str(v) for v in literals])
        entry = (schema, frozenset(literals), shown)
        _ENUMS[id(schema)] = entry
    return entry[1], entry[2]


def _names(items: list[str]) -> str:
    """A bounded, comma-separated list for messages."""
    if not items:
        return "(none)"
    head = ", ".join(items[:_LIST_LIMIT])
    return head if len(items) <= _LIST_LIMIT else f"{head}, … ({len(items) - _LIST_LIMIT} more)"


def _is_key_name(key: str) -> bool:
    if not key or len(key) > _MAX_NAME_LENGTH or not key.isascii():
        return False
    if not key[0].isalpha() or not (key[-1].isalnum()):
        return False
    return key.replace("_", "a").isalnum()


# --- values ---------------------------------------------------------------------------------


def _check_child(
    schema: Schema, value: object, parent: str, token: str, out: list[Violation]
) -> None:
    """Check ``value`` found at ``parent``/``token``; the path string is built lazily."""
    if isinstance(schema, str):
        check = PRIMITIVE_CHECKS.get(schema)
        if check is not None:
            problem = check(value)
            if problem is not None:
                suffix, code, message = problem
                out.append(Violation(f"{parent}/{escape(token)}{suffix}", code, message))
            return
    _check_value(schema, value, f"{parent}/{escape(token)}", out)


def _check_value(schema: Schema, value: object, path: str, out: list[Violation]) -> None:
    if isinstance(schema, str):
        check = PRIMITIVE_CHECKS.get(schema)
        if check is None:
            message = f"The model uses the schema {schema!r}, which twinmesh cannot check."
            out.append(Violation(path, ViolationCode.UNSUPPORTED_SCHEMA, message))
            return
        problem = check(value)
        if problem is not None:
            out.append(Violation(path + problem[0], problem[1], problem[2]))
    elif isinstance(schema, EnumSchema):
        _check_enum(schema, value, path, out)
    elif isinstance(schema, ObjectSchema):
        _check_object(schema, value, path, out)
    elif isinstance(schema, MapSchema):
        _check_map(schema, value, path, out)
    else:
        _check_array(schema, value, path, out)


def _check_enum(schema: EnumSchema, value: object, path: str, out: list[Violation]) -> None:
    allowed, shown = _enum(schema)
    if not (isinstance(value, str) if schema.value_schema == "string" else is_integer(value)):
        problem = wrong_type(f"one of the {schema.value_schema} values {shown}", value)
        out.append(Violation(path, problem[1], problem[2]))
    elif value not in allowed:
        message = f"Expected one of {shown}, got {describe(value)}."
        out.append(Violation(path, ViolationCode.NOT_IN_ENUM, message))


def _check_object(schema: ObjectSchema, value: object, path: str, out: list[Violation]) -> None:
    if not isinstance(value, Mapping):
        problem = wrong_type("an object", value)
        out.append(Violation(path, problem[1], problem[2]))
        return
    fields = _fields(schema)
    for key, item in value.items():
        field_schema = fields.get(key)
        if field_schema is not None:
            _check_child(field_schema, item, path, key, out)
        else:
            message = f"Unknown field {quote(str(key))}; the object has the fields "
            out.append(
                Violation(
                    f"{path}/{escape(str(key))}",
                    ViolationCode.UNKNOWN_FIELD,
                    message + _names(list(fields)) + ".",
                )
            )


def _check_map(schema: MapSchema, value: object, path: str, out: list[Violation]) -> None:
    if not isinstance(value, Mapping):
        problem = wrong_type("an object (a map)", value)
        out.append(Violation(path, problem[1], problem[2]))
        return
    value_schema = schema.map_value.schema
    for key, item in value.items():
        if not isinstance(key, str) or not _is_key_name(key):
            message = (
                f"Invalid map key {quote(str(key))}: a key starts with a letter, "
                "contains only letters, digits and underscores, does not end with an "
                f"underscore and has at most {_MAX_NAME_LENGTH} characters."
            )
            out.append(
                Violation(f"{path}/{escape(str(key))}", ViolationCode.INVALID_MAP_KEY, message)
            )
            continue
        _check_child(value_schema, item, path, key, out)


def _check_array(schema: ArraySchema, value: object, path: str, out: list[Violation]) -> None:
    if not isinstance(value, list | tuple):
        _, code, message = wrong_type("an array", value)
        out.append(Violation(path, code, message))
        return
    element = schema.element_schema
    check = PRIMITIVE_CHECKS.get(element) if isinstance(element, str) else None
    if check is not None:  # fast path: an array of primitives, paths built only on failure
        for index, item in enumerate(value):
            problem = check(item)
            if problem is not None:
                out.append(Violation(f"{path}/{index}{problem[0]}", problem[1], problem[2]))
        return
    for index, item in enumerate(value):
        _check_value(element, item, f"{path}/{index}", out)


# --- twins ----------------------------------------------------------------------------------


def _not_a_property(interface: Interface, key: str, base: str) -> Violation:
    path = f"{base}/{escape(key)}"
    for kind, group, hint in (
        ("Telemetry", interface.telemetries, "telemetry is streamed, not stored as a property"),
        ("Command", interface.commands, "commands are invoked, not stored as a property"),
        ("Relationship", interface.relationships, "create it as a relationship instead"),
        ("Component", interface.components, "send its value in the twin's components"),
    ):
        if key in group:
            message = f"{quote(key)} is a {kind} of {interface.id}, not a Property: {hint}."
            return Violation(path, ViolationCode.NOT_A_PROPERTY, message)
    message = (
        f"Property {quote(key)} is not declared by {interface.id} or the interfaces it extends; "
        f"declared properties: {_names(sorted(interface.properties))}."
    )
    return Violation(path, ViolationCode.UNKNOWN_PROPERTY, message)


def _check_properties(
    interface: Interface,
    document: Mapping[str, object],
    base: str,
    out: list[Violation],
    resolve: Resolve,
    depth: int,
) -> None:
    """Check a property document; at depth > 0 (inside a component) nested components too."""
    properties = interface.properties
    for key, value in document.items():
        prop = properties.get(key)
        if prop is not None:
            _check_child(prop.schema, value, base, key, out)
        elif depth > 0 and key in interface.components:
            _check_component(interface.components[key], value, f"{base}/{key}", out, resolve, depth)
        else:
            out.append(_not_a_property(interface, str(key), base))


def _check_component(
    component: Component,
    value: object,
    path: str,
    out: list[Violation],
    resolve: Resolve,
    depth: int,
) -> None:
    if not isinstance(value, Mapping):
        message = (
            f"Component {component.name!r} ({component.schema}) must be a JSON object of its "
            f"properties, got {describe(value)}."
        )
        out.append(Violation(path, ViolationCode.COMPONENT_NOT_OBJECT, message))
        return
    interface = resolve(component.schema) if depth < _MAX_COMPONENT_DEPTH else None
    if interface is None:
        message = (
            f"The model {component.schema} of component {component.name!r} is not available, "
            "so its value cannot be checked; upload that model first."
        )
        out.append(Violation(path, ViolationCode.UNRESOLVED_MODEL, message))
        return
    _check_properties(interface, value, path, out, resolve, depth + 1)


def _not_writable(path: str, prop: Property, owner: str, thing: str = "twin") -> Violation:
    message = (
        f"Property {prop.name!r} of {owner} is not writable (DTDL writable is false): it is "
        f"reported by the {thing}'s owner; set it when creating the {thing}, not in an update."
    )
    return Violation(path, ViolationCode.NOT_WRITABLE, message)


def _check_writability(
    interface: Interface,
    components: Mapping[str, object],
    changed: Collection[str],
    resolve: Resolve,
    out: list[Violation],
) -> None:
    seen: set[str] = set()

    def report(path: str, prop: Property, owner: Interface) -> None:
        if path not in seen:
            seen.add(path)
            out.append(_not_writable(path, prop, owner.id))

    for entry in changed:
        current, comps, path = interface, components, ""
        tokens = entry.split("/")
        for position, token in enumerate(tokens):
            prop = current.properties.get(token)
            component = current.components.get(token)
            last = position == len(tokens) - 1
            if last and prop is not None:
                if not prop.writable:
                    report(f"{path}/{token}", prop, current)
                break
            inner = resolve(component.schema) if component is not None else None
            if inner is None:
                break
            value = comps.get(token)
            document: Mapping[str, object] = value if isinstance(value, Mapping) else {}
            current, comps, path = inner, document, f"{path}/{token}"
            if last:  # a whole component: every property present in its new value
                for key in document:
                    nested = inner.properties.get(key)
                    if nested is not None and not nested.writable:
                        report(f"{path}/{key}", nested, inner)


def check_twin(
    interface: Interface,
    properties: Mapping[str, object],
    components: Mapping[str, object],
    *,
    resolve: Resolve,
    changed: Collection[str] | None = None,
) -> list[Violation]:
    """Check a twin's properties and components against ``interface``.

    ``properties`` maps property names to values; ``components`` maps component names to their
    property documents.  ``resolve`` returns the Interface of a DTMI (or ``None``).
    ``changed`` is ``None`` on creation, else the names being set or removed by an update.
    """
    out: list[Violation] = []
    if isinstance(changed, str):  # a lone name, not an iterable of characters
        changed = (changed,)
    _check_properties(interface, properties, "", out, resolve, 0)
    for name, value in components.items():
        component = interface.components.get(name)
        if component is None:
            shown = quote(str(name))
            what = (
                "a Property: put it in the twin's properties"
                if name in interface.properties
                else "not declared"
            )
            message = (
                f"Component {shown} is {what}; components of {interface.id}: "
                f"{_names(sorted(interface.components))}."
            )
            out.append(Violation(f"/{escape(str(name))}", ViolationCode.UNKNOWN_COMPONENT, message))
            continue
        _check_component(component, value, f"/{escape(name)}", out, resolve, 1)
    if changed is not None:
        _check_writability(interface, components, changed, resolve, out)
    return out


# --- relationships --------------------------------------------------------------------------


def check_relationship(
    source: Interface,
    name: str,
    *,
    target: Interface | None,
    target_is_remote: bool,
    properties: Mapping[str, object],
    existing_count: int,
    changed: Collection[str] | None = None,
) -> list[Violation]:
    """Check one relationship ``name`` from a twin of ``source`` (see the module docstring).

    ``target`` is the target twin's Interface when known; ``existing_count`` is how many
    relationships called ``name`` the source twin already has; ``changed`` is ``None`` on
    creation, else the relationship property names being set or removed.
    """
    out: list[Violation] = []
    if isinstance(changed, str):  # a lone name, not an iterable of characters
        changed = (changed,)
    relationship = source.relationships.get(name)
    if relationship is None:
        message = (
            f"{source.id} declares no relationship {quote(name)}; declared "
            f"relationships: {_names(sorted(source.relationships))}."
        )
        return [Violation("", ViolationCode.UNKNOWN_RELATIONSHIP, message)]
    expected = relationship.target
    if (
        expected is not None
        and target is not None
        and not target_is_remote
        and target.id != expected
        and expected not in target.ancestors
    ):
        message = (
            f"Relationship {name!r} must target a twin of {expected} (or of an interface "
            f"extending it), but the target twin is a {target.id}."
        )
        out.append(Violation("", ViolationCode.TARGET_MODEL_MISMATCH, message))
    limit = relationship.max_multiplicity
    if changed is None and limit is not None and existing_count >= limit:
        message = (
            f"Relationship {name!r} allows at most {limit} per twin (maxMultiplicity) and this "
            f"twin already has {existing_count}; delete one first."
        )
        out.append(Violation("", ViolationCode.MULTIPLICITY_EXCEEDED, message))
    declared = relationship.properties
    for key, value in properties.items():
        prop = declared.get(key)
        if prop is not None:
            _check_child(prop.schema, value, "/properties", key, out)
        else:
            message = (
                f"Relationship {name!r} has no property {quote(str(key))}; declared "
                f"properties: {_names(sorted(declared))}."
            )
            path = f"/properties/{escape(str(key))}"
            out.append(Violation(path, ViolationCode.UNKNOWN_PROPERTY, message))
    if changed is not None:
        for entry in dict.fromkeys(changed):
            prop = declared.get(entry)
            if prop is not None and not prop.writable:
                out.append(
                    _not_writable(
                        f"/properties/{entry}", prop, f"relationship {name!r}", "relationship"
                    )
                )
    return out
