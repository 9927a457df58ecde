"""Build the public, flattened ``Interface`` objects from validated nodes."""

from __future__ import annotations

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.model import (
    ArraySchema,
    Command,
    CommandPayload,
    Component,
    Content,
    EnumSchema,
    EnumValue,
    Field,
    Interface,
    LocalizedText,
    MapKey,
    MapSchema,
    MapValue,
    ObjectSchema,
    Property,
    Relationship,
    Schema,
    Telemetry,
)
from twinmesh.ontology.nodes import Node
from twinmesh.ontology.references import Resolver
from twinmesh.ontology.structure import StructureChecker


def _instance_name(dtmi: str) -> str:
    return dtmi.split(";")[0].split(":")[-1]


def _text(node: Node, name: str) -> LocalizedText:
    value = node.first(name)
    return dict(value) if isinstance(value, dict) else {}


def _str(node: Node, name: str) -> str | None:
    value = node.first(name)
    return value if isinstance(value, str) else None


def _int(node: Node, name: str) -> int | None:
    value = node.first(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Builder:
    def __init__(self, resolver: Resolver, structure: StructureChecker) -> None:
        self.r = resolver
        self.s = structure
        self.done: dict[int, Interface] = {}

    def interface(self, node: Node) -> Interface:
        cached = self.done.get(id(node))
        if cached is not None:
            return cached
        groups: dict[str, dict[str, Content]] = {
            k: {} for k in ("Property", "Telemetry", "Relationship", "Component", "Command")
        }
        extends: list[str] = []
        if id(node) not in self.s.cyclic:
            for parent in self.s.parents(node):
                extends.append(parent.id)
                built = parent if isinstance(parent, Interface) else self.interface(parent)
                for kind, source in (
                    ("Property", built.properties),
                    ("Telemetry", built.telemetries),
                    ("Relationship", built.relationships),
                    ("Component", built.components),
                    ("Command", built.commands),
                ):
                    for name, inherited in source.items():
                        groups[kind].setdefault(name, inherited)
        for name, element in self.s.contents_of(node):
            assert isinstance(element, Node)
            kind = mm.CLASSES[element.material].name
            if kind in groups:
                groups[kind][name] = self.content(element, kind, node.id)
        ancestors = () if id(node) in self.s.cyclic else tuple(self.s.ancestors(node) or ())
        result = Interface(
            id=node.id,
            dtdl_version=node.version,
            extends=tuple(extends),
            ancestors=ancestors,
            properties={k: v for k, v in groups["Property"].items() if isinstance(v, Property)},
            telemetries={k: v for k, v in groups["Telemetry"].items() if isinstance(v, Telemetry)},
            relationships={
                k: v for k, v in groups["Relationship"].items() if isinstance(v, Relationship)
            },
            components={k: v for k, v in groups["Component"].items() if isinstance(v, Component)},
            commands={k: v for k, v in groups["Command"].items() if isinstance(v, Command)},
            display_name=_text(node, "displayName"),
            description=_text(node, "description"),
        )
        self.done[id(node)] = result
        return result

    def content(self, node: Node, kind: str, owner: str) -> Content:
        name = _str(node, "name") or ""
        display, description = _text(node, "displayName"), _text(node, "description")
        semantic = tuple(mm.CLASSES[c].name for c in node.cotypes)
        unit = self._unit(node)
        if kind == "Property":
            return self.property(node, owner)
        if kind == "Telemetry":
            return Telemetry(
                name, self.schema(node.first("schema")), semantic, unit, display, description, owner
            )
        if kind == "Relationship":
            props = {}
            for value in node.values("properties"):
                target = self.r.deref(value)
                if isinstance(target, Node):
                    prop = self.property(target, owner)
                    props[prop.name] = prop
            return Relationship(
                name,
                _str(node, "target"),
                _int(node, "minMultiplicity"),
                _int(node, "maxMultiplicity"),
                node.first("writable") is True,
                props,
                display,
                description,
                owner,
            )
        if kind == "Component":
            target = self.r.deref(node.first("schema"))
            schema_id = target.id if isinstance(target, (Node, Interface)) else str(target or "")
            return Component(name, schema_id, display, description, owner)
        return Command(
            name,
            self._payload(node.first("request")),
            self._payload(node.first("response")),
            display,
            description,
            owner,
        )

    def property(self, node: Node, owner: str) -> Property:
        return Property(
            _str(node, "name") or "",
            self.schema(node.first("schema")),
            node.first("writable") is True,
            tuple(mm.CLASSES[c].name for c in node.cotypes),
            self._unit(node),
            _text(node, "displayName"),
            _text(node, "description"),
            owner,
        )

    def _unit(self, node: Node) -> str | None:
        value = node.first("unit")
        target = self.r.deref(value)
        return _instance_name(target) if isinstance(target, str) else None

    def _payload(self, value: object) -> CommandPayload | None:
        target = self.r.deref(value)
        if not isinstance(target, Node):
            return None
        return CommandPayload(_str(target, "name") or "", self.schema(target.first("schema")))

    def schema(self, value: object, depth: int = 0) -> Schema:
        target = self.r.deref(value)
        if isinstance(target, str):
            return _instance_name(target)
        if not isinstance(target, Node) or depth > 16:
            return "unknown"
        kind = mm.CLASSES[target.material].name
        sid = target.id if target.explicit_id else None
        if kind == "Array":
            return ArraySchema(self.schema(target.first("elementSchema"), depth + 1), sid)
        if kind == "Object":
            fields = []
            for item in target.values("fields"):
                f = self.r.deref(item)
                if isinstance(f, Node):
                    fields.append(
                        Field(
                            _str(f, "name") or "",
                            self.schema(f.first("schema"), depth + 1),
                            _text(f, "displayName"),
                            _text(f, "description"),
                        )
                    )
            return ObjectSchema(tuple(fields), sid)
        if kind == "Map":
            key = self.r.deref(target.first("mapKey"))
            val = self.r.deref(target.first("mapValue"))
            map_key = MapKey(_str(key, "name") or "", "string") if isinstance(key, Node) else None
            map_value = (
                MapValue(_str(val, "name") or "", self.schema(val.first("schema"), depth + 1))
                if isinstance(val, Node)
                else None
            )
            return MapSchema(
                map_key or MapKey("key", "string"), map_value or MapValue("value", "unknown"), sid
            )
        if kind == "Enum":
            values = []
            for item in target.values("enumValues"):
                v = self.r.deref(item)
                if isinstance(v, Node):
                    literal = v.first("enumValue")
                    values.append(
                        EnumValue(
                            _str(v, "name") or "",
                            literal if isinstance(literal, (str, int)) else str(literal),
                            _text(v, "displayName"),
                        )
                    )
            value_schema = self.r.deref(target.first("valueSchema"))
            return EnumSchema(
                _instance_name(value_schema) if isinstance(value_schema, str) else "string",
                tuple(values),
                sid,
            )
        return kind
