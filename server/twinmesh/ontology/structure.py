"""Whole-model rules that need resolved references: inheritance, uniqueness and limits.

* ``extends``: no cycles, depth and total-ancestor limits from the metamodel.
* names unique among an Interface's contents *including inherited ones*, and the other
  ``uniqueProperties`` (fields, enum values, relationship properties).
* complex schemas: nesting depth and no self reference; v2 Properties may not use Arrays.
* Components may not nest Components; Enum values must match the Enum's value schema.
* partition (Interface document) size limit.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.diagnostics import Code, Diagnostic
from twinmesh.ontology.model import Interface
from twinmesh.ontology.nodes import Node
from twinmesh.ontology.references import Resolver

GEOSPATIAL = "dtmi:standard:schema:geospatial:"
SCHEMA_LINKS = {"Array": ("elementSchema",), "Map": ("mapValue",), "Object": ("fields",)}


def _limit(key: str, field_name: str, default: int) -> int:
    value = mm.LIMITS.get(key, {}).get(field_name)
    return int(value) if value is not None else default


class StructureChecker:
    def __init__(self, resolver: Resolver, roots: list[tuple[Node, object]]) -> None:
        self.r = resolver
        self.roots = roots
        self.diagnostics = resolver.diagnostics
        self.cyclic: set[int] = set()
        self._ancestors: dict[int, list[str] | None] = {}

    def error(self, node: Node, pointer: str, code: Code, message: str) -> None:
        self.diagnostics.append(Diagnostic(node.file, pointer, code, message))

    def run(self) -> None:
        for node in self.r.nodes:
            name = mm.CLASSES[node.material].name
            if name == "Interface":
                self._extends(node)
            self._unique(node)
            if name in SCHEMA_LINKS:
                self._schema_depth(node)
            if name == "Component":
                self._component(node)
            if name == "Property" and node.version == 2:
                self._no_array(node)
            if name == "Enum":
                self._enum_values(node)
        for node in self.r.nodes:
            if mm.CLASSES[node.material].name == "Interface" and id(node) not in self.cyclic:
                self._inherited_names(node)
        self._partitions()

    # extends ---------------------------------------------------------------------------------
    def parents(self, node: Node) -> list[Node | Interface]:
        out: list[Node | Interface] = []
        for value in node.values("extends"):
            target = self.r.deref(value)
            if isinstance(target, (Node, Interface)):
                out.append(target)
        return out

    def ancestors(self, node: Node) -> list[str] | None:
        """Transitive ``extends`` DTMIs (None when a cycle is reachable)."""
        key = id(node)
        if key in self._ancestors:
            return self._ancestors[key]
        self._ancestors[key] = None  # in progress: a revisit means a cycle
        out: list[str] = []
        for parent in self.parents(node):
            if isinstance(parent, Interface):
                chain: list[str] | None = [parent.id, *parent.ancestors]
            else:
                chain = self.ancestors(parent)
                chain = None if chain is None else [parent.id, *chain]
            if chain is None:
                return None
            out.extend(c for c in chain if c not in out)
        self._ancestors[key] = out
        return out

    def _depth(self, node: Node, seen: frozenset[int]) -> int:
        best = 0
        for parent in self.parents(node):
            if isinstance(parent, Interface):
                best = max(best, 1 + len(parent.ancestors))
            elif id(parent) not in seen:
                best = max(best, 1 + self._depth(parent, seen | {id(parent)}))
        return best

    def _extends(self, node: Node) -> None:
        where = node.prop_pointers.get("extends", node.pointer)
        if self.ancestors(node) is None:
            self.cyclic.add(id(node))
            self.error(node, where, Code.EXTENDS_CYCLE, f"'{node.id}' extends itself (cycle)")
            return
        key = f"Interface:{node.version}:extends"
        max_depth = _limit(key, "maxDepth", 10)
        if self._depth(node, frozenset({id(node)})) > max_depth:
            self.error(
                node, where, Code.EXTENDS_TOO_DEEP, f"extends chain deeper than {max_depth} levels"
            )
        max_count = mm.LIMITS.get(key, {}).get("maxCount")
        ancestors = self.ancestors(node) or []
        if max_count is not None and len(ancestors) > max_count:
            self.error(node, where, Code.EXTENDS_TOO_MANY, f"more than {max_count} ancestors")

    # uniqueness --------------------------------------------------------------------------------
    def _unique(self, node: Node) -> None:
        for name, constraints in node.constraints.items():
            keys = next((c.unique for c in constraints if c.unique), ())
            if not keys or name == "contents":
                continue
            members = [m for m in map(self.r.deref, node.values(name)) if isinstance(m, Node)]
            for key in keys:
                seen: set[object] = set()
                for member in members:
                    value = member.first(key)
                    if value is None:
                        continue
                    marker = (type(value).__name__, value)
                    if marker in seen:
                        code = Code.NAME_DUPLICATE if key == "name" else Code.VALUE_DUPLICATE
                        self.error(
                            member,
                            member.pointer,
                            code,
                            f"{key} '{value}' is used twice in '{name}'",
                        )
                    seen.add(marker)

    def contents_of(self, node: Node) -> Iterator[tuple[str, object]]:
        for value in node.values("contents"):
            target = self.r.deref(value)
            if isinstance(target, Node):
                name = target.first("name")
                if isinstance(name, str):
                    yield name, target

    def _inherited_names(self, node: Node) -> None:
        owners: dict[str, object] = {}
        for interface in self._lineage(node):
            if isinstance(interface, Interface):
                items: list[tuple[str, object]] = list(interface.contents().items())
            else:
                items = list(self.contents_of(interface))
            for name, element in items:
                previous = owners.get(name)
                if previous is not None and previous is not element:
                    self.error(
                        node,
                        node.prop_pointers.get("contents", node.pointer),
                        Code.NAME_DUPLICATE,
                        f"content name '{name}' is defined more than once in '{node.id}' "
                        "(including inherited contents)",
                    )
                    return
                owners[name] = element

    def _lineage(self, node: Node) -> list[Node | Interface]:
        out: list[Node | Interface] = [node]
        seen = {id(node)}
        queue = list(self.parents(node))
        while queue:
            item = queue.pop(0)
            if id(item) in seen:
                continue
            seen.add(id(item))
            out.append(item)
            if isinstance(item, Node):
                queue.extend(self.parents(item))
        return out

    # schemas -----------------------------------------------------------------------------------
    def schema_children(self, node: Node) -> list[Node]:
        name = mm.CLASSES[node.material].name
        out: list[Node] = []
        for link in SCHEMA_LINKS.get(name, ()):
            for value in node.values(link):
                target = self.r.deref(value)
                if not isinstance(target, Node):
                    continue
                if link == "elementSchema":
                    out.append(target)
                    continue
                for inner in target.values("schema"):
                    schema = self.r.deref(inner)
                    if isinstance(schema, Node):
                        out.append(schema)
        return out

    def _schema_depth(self, node: Node) -> None:
        if node.parent is not None and mm.CLASSES[node.parent.material].name in {
            "Array",
            "Field",
            "MapValue",
        }:
            return  # only measure from the outermost complex schema
        limit = _limit(f"ComplexSchema:{node.version}:elementSchema+schema", "maxDepth", 5)
        depth = self._measure(node, (node,))
        if depth is None:
            self.error(node, node.pointer, Code.SCHEMA_CYCLE, "complex schema refers to itself")
        elif depth > limit:
            self.error(
                node, node.pointer, Code.SCHEMA_TOO_DEEP, f"complex schema nested beyond {limit}"
            )

    def _measure(self, node: Node, path: tuple[Node, ...]) -> int | None:
        best = 0
        for child in self.schema_children(node):
            if any(child is p for p in path):
                return None
            inner = self._measure(child, (*path, child))
            if inner is None:
                return None
            best = max(best, inner)
        return best + 1

    def _no_array(self, node: Node) -> None:
        for value in node.values("schema"):
            target = self.r.deref(value)
            geospatial = isinstance(target, str) and target.startswith(GEOSPATIAL)
            if geospatial or (
                isinstance(target, Node) and mm.CLASSES[target.material].name == "Array"
            ):
                self.error(
                    node,
                    node.prop_pointers.get("schema", node.pointer),
                    Code.SCHEMA_NOT_ALLOWED,
                    "a DTDL v2 Property cannot have an Array (or geospatial) schema",
                )

    def _component(self, node: Node) -> None:
        for value in node.values("schema"):
            target = self.r.deref(value)
            if not isinstance(target, Node):
                continue
            for item in self._lineage(target):
                contents = (
                    [(n, c) for n, c in item.components.items()]
                    if isinstance(item, Interface)
                    else list(self.contents_of(item))
                )
                for _, element in contents:
                    is_component = (
                        isinstance(element, Node)
                        and mm.CLASSES[element.material].name == "Component"
                    ) or not isinstance(element, Node)
                    if is_component:
                        self.error(
                            node,
                            node.prop_pointers.get("schema", node.pointer),
                            Code.COMPONENT_NESTED,
                            f"Component schema '{target.id}' itself contains a Component",
                        )
                        return

    def _enum_values(self, node: Node) -> None:
        schema = node.first("valueSchema")
        target = self.r.deref(schema)
        if not isinstance(target, str):
            return
        want_int = "integer" in target.split(":")[-1]
        for value in node.values("enumValues"):
            member = self.r.deref(value)
            if not isinstance(member, Node):
                continue
            literal = member.first("enumValue")
            ok = (
                isinstance(literal, int) and not isinstance(literal, bool)
                if want_int
                else isinstance(literal, str)
            )
            if literal is not None and not ok:
                self.error(
                    member,
                    member.prop_pointers.get("enumValue", member.pointer),
                    Code.ENUM_VALUE_TYPE,
                    f"enumValue must be {'an integer' if want_int else 'a string'} "
                    "to match the Enum's valueSchema",
                )

    def _partitions(self) -> None:
        for node, raw in self.roots:
            limit = mm.GLOBALS[node.version].get("partition_max_bytes")
            if limit and len(orjson.dumps(raw)) > limit:
                self.error(
                    node, node.pointer, Code.PARTITION_TOO_LARGE, f"Interface exceeds {limit} bytes"
                )
