"""Intermediate representation: one ``Node`` per DTDL element found in the JSON-LD input.

The parser turns documents into nodes (with unresolved references kept as ``Ref``); the
cross-element checks and the public-model builder then work on nodes only, never on raw JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twinmesh.ontology.metamodel import Constraint


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another element by DTMI (resolved after all documents are parsed)."""

    target: str
    pointer: str


@dataclass(slots=True, eq=False, repr=False)
class Node:
    """One DTDL element (Interface, Property, Object schema, ...)."""

    id: str
    explicit_id: bool
    material: str
    cotypes: list[str]
    version: int
    file: str
    pointer: str
    partition: Node | None
    parent: Node | None
    undefined_cotype: bool = False
    props: dict[str, list[object]] = field(default_factory=dict)
    constraints: dict[str, list[Constraint]] = field(default_factory=dict)
    prop_pointers: dict[str, str] = field(default_factory=dict)
    raw: object = None

    def __repr__(self) -> str:
        return f"Node({self.material.split(':')[-1]} {self.id} at {self.file}#{self.pointer})"

    def values(self, name: str) -> list[object]:
        return self.props.get(name, [])

    def first(self, name: str) -> object | None:
        vals = self.props.get(name)
        return vals[0] if vals else None

    def children(self, name: str) -> list[Node]:
        return [v for v in self.props.get(name, []) if isinstance(v, Node)]
