"""Resolve references between elements across a whole model set.

A reference (``Ref``) may point at an element parsed in this model set, at an Interface
accepted earlier (``known``), or at a built-in instance such as the ``double`` schema or a
unit.  Resolution also enforces type conformance (``schema`` must name a Schema ...),
referenceability (only Interfaces may be referenced from another Interface) and unit
membership for semantic types.  Unknown targets make the model set incomplete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.diagnostics import Code, Diagnostic
from twinmesh.ontology.model import Interface
from twinmesh.ontology.nodes import Node, Ref

Target = Node | Interface | str


@dataclass(slots=True)
class Resolver:
    nodes: list[Node]
    known: Mapping[str, Interface]
    diagnostics: list[Diagnostic]
    by_id: dict[str, Node] = field(default_factory=dict)
    unresolved: set[str] = field(default_factory=set)

    def index(self) -> None:
        for node in self.nodes:
            if not node.explicit_id:
                continue
            previous = self.by_id.get(node.id)
            if previous is not None:
                self.diagnostics.append(
                    Diagnostic(
                        node.file,
                        node.pointer,
                        Code.ID_DUPLICATE,
                        f"@id '{node.id}' is already used at {previous.file}#{previous.pointer}",
                    )
                )
                continue
            self.by_id[node.id] = node

    def lookup(self, dtmi: str) -> Target | None:
        node = self.by_id.get(dtmi)
        if node is not None:
            return node
        if dtmi in self.known:
            return self.known[dtmi]
        if dtmi in mm.INSTANCES:
            return dtmi
        return None

    def deref(self, value: object) -> Target | None:
        """A property value as an element/instance (inline nodes are returned as is)."""
        if isinstance(value, Node):
            return value
        if isinstance(value, Ref):
            return self.lookup(value.target)
        return None

    def check_all(self) -> None:
        for node in self.nodes:
            for name, values in node.props.items():
                for value in values:
                    self._check_value(node, name, value)

    def _check_value(self, node: Node, name: str, value: object) -> None:
        if not isinstance(value, (Node, Ref)):
            return
        pointer = value.pointer if isinstance(value, Ref) else node.prop_pointers.get(name, "")
        target = self.deref(value)
        if target is None:
            assert isinstance(value, Ref)
            self.unresolved.add(value.target)
            return
        classes = target_classes(target)
        for constraint in node.constraints.get(name, []):
            if constraint.classes and not any(mm.is_a(c, constraint.classes) for c in classes):
                wanted = ", ".join(
                    sorted({mm.CLASSES[c].name for c in constraint.classes if c in mm.CLASSES})
                )
                self._error(
                    node,
                    pointer,
                    Code.REFERENCE_WRONG_TYPE,
                    f"'{name}' must be a {wanted}, but {_label(target)} is not",
                )
                return
            if (
                constraint.child_of
                and isinstance(target, str)
                and constraint.child_of not in mm.UNIT_TYPES.get(target, [])
            ):
                self._error(
                    node,
                    pointer,
                    Code.UNIT_MISMATCH,
                    f"unit '{target.split(':')[-1]}' does not fit the semantic type",
                )
                return
        if isinstance(value, Ref) and isinstance(target, Node):
            info = mm.CLASSES[target.material]
            if not info.partition and target.partition is not node.partition:
                self._error(
                    node,
                    pointer,
                    Code.REFERENCE_NOT_REFERENCEABLE,
                    f"'{target.id}' is defined inside another Interface and cannot be "
                    "referenced from here; only Interfaces may be referenced across Interfaces",
                )

    def _error(self, node: Node, pointer: str, code: Code, message: str) -> None:
        self.diagnostics.append(Diagnostic(node.file, pointer, code, message))


def target_classes(target: Target) -> list[str]:
    if isinstance(target, Node):
        return [target.material, *target.cotypes]
    if isinstance(target, Interface):
        return [mm.class_dtmi("Interface", target.dtdl_version)]
    return mm.INSTANCES.get(target, [])


def _label(target: Target) -> str:
    if isinstance(target, Node):
        return f"{mm.CLASSES[target.material].name} '{target.id}'"
    if isinstance(target, Interface):
        return f"Interface '{target.id}'"
    return f"'{target}'"
