"""Plain-JSON descriptions of resolved interfaces, for API responses (flattened contents)."""

from __future__ import annotations

from typing import Any

from twinmesh.ontology.model import (
    ArraySchema,
    Component,
    EnumSchema,
    Interface,
    MapSchema,
    ObjectSchema,
    Property,
    Relationship,
    Schema,
    Telemetry,
)


def describe_schema(schema: Schema) -> Any:
    """A primitive schema as its name; a complex one as a DTDL-shaped object."""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, ObjectSchema):
        return {
            "@type": "Object",
            "fields": [
                {"name": f.name, "schema": describe_schema(f.schema)} for f in schema.fields
            ],
        }
    if isinstance(schema, MapSchema):
        return {
            "@type": "Map",
            "mapKey": {"name": schema.map_key.name, "schema": schema.map_key.schema},
            "mapValue": {
                "name": schema.map_value.name,
                "schema": describe_schema(schema.map_value.schema),
            },
        }
    if isinstance(schema, ArraySchema):
        return {"@type": "Array", "elementSchema": describe_schema(schema.element_schema)}
    assert isinstance(schema, EnumSchema)
    return {
        "@type": "Enum",
        "valueSchema": schema.value_schema,
        "enumValues": [{"name": v.name, "enumValue": v.enum_value} for v in schema.enum_values],
    }


def _property(item: Property | Telemetry) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": item.name,
        "schema": describe_schema(item.schema),
        "definedIn": item.defined_in,
    }
    if isinstance(item, Property):
        described["writable"] = item.writable
    if item.unit:
        described["unit"] = item.unit
    return described


def _relationship(item: Relationship) -> dict[str, Any]:
    return {
        "name": item.name,
        "target": item.target,
        "minMultiplicity": item.min_multiplicity,
        "maxMultiplicity": item.max_multiplicity,
        "properties": [_property(p) for p in item.properties.values()],
        "definedIn": item.defined_in,
    }


def _component(item: Component) -> dict[str, Any]:
    return {"name": item.name, "schema": item.schema, "definedIn": item.defined_in}


def describe_contents(interface: Interface) -> dict[str, Any]:
    """Own and inherited contents of an interface, grouped by kind."""
    return {
        "extends": list(interface.extends),
        "ancestors": list(interface.ancestors),
        "properties": [_property(p) for p in interface.properties.values()],
        "telemetries": [_property(t) for t in interface.telemetries.values()],
        "relationships": [_relationship(r) for r in interface.relationships.values()],
        "components": [_component(c) for c in interface.components.values()],
        "commands": [
            {"name": c.name, "definedIn": c.defined_in} for c in interface.commands.values()
        ],
    }
