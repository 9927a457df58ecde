"""Public, typed view of validated DTDL models (frozen dataclasses).

``Interface`` is the *resolved* view used for twin validation: contents inherited through
``extends`` are merged into ``properties`` / ``telemetries`` / ``relationships`` /
``components`` / ``commands``.  Schemas are either a primitive schema name (``"double"``,
``"dateTime"``, ``"point"`` ...) or one of the complex schema classes below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twinmesh.ontology.diagnostics import Diagnostic

LocalizedText = dict[str, str]


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One input document: a file name (for diagnostics) and its decoded JSON content."""

    file: str
    content: object


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    schema: Schema
    display_name: LocalizedText = field(default_factory=dict)
    description: LocalizedText = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    fields: tuple[Field, ...]
    id: str | None = None


@dataclass(frozen=True, slots=True)
class MapKey:
    name: str
    schema: str


@dataclass(frozen=True, slots=True)
class MapValue:
    name: str
    schema: Schema


@dataclass(frozen=True, slots=True)
class MapSchema:
    map_key: MapKey
    map_value: MapValue
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ArraySchema:
    element_schema: Schema
    id: str | None = None


@dataclass(frozen=True, slots=True)
class EnumValue:
    name: str
    enum_value: str | int
    display_name: LocalizedText = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EnumSchema:
    value_schema: str
    enum_values: tuple[EnumValue, ...]
    id: str | None = None


Schema = str | ObjectSchema | MapSchema | ArraySchema | EnumSchema
"""A primitive schema name, or a complex schema."""


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    schema: Schema
    writable: bool = False
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None
    display_name: LocalizedText = field(default_factory=dict)
    description: LocalizedText = field(default_factory=dict)
    defined_in: str = ""


@dataclass(frozen=True, slots=True)
class Telemetry:
    name: str
    schema: Schema
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None
    display_name: LocalizedText = field(default_factory=dict)
    description: LocalizedText = field(default_factory=dict)
    defined_in: str = ""


@dataclass(frozen=True, slots=True)
class Relationship:
    name: str
    target: str | None = None
    min_multiplicity: int | None = None
    max_multiplicity: int | None = None
    writable: bool = False
    properties: dict[str, Property] = field(default_factory=dict)
    display_name: LocalizedText = field(default_factory=dict)
    description: LocalizedText = field(default_factory=dict)
    defined_in: str = ""


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    schema: str
    display_name: LocalizedText = field(default_factory=dict)
    description: LocalizedText = field(default_factory=dict)
    defined_in: str = ""


@dataclass(frozen=True, slots=True)
class CommandPayload:
    name: str
    schema: Schema


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    request: CommandPayload | None = None
    response: CommandPayload | None = None
    display_name: LocalizedText = field(default_factory=dict)
    description: LocalizedText = field(default_factory=dict)
    defined_in: str = ""


Content = Property | Telemetry | Relationship | Component | Command


@dataclass(frozen=True, slots=True)
class Interface:
    """A resolved Interface: own and inherited contents, keyed by name."""

    id: str
    dtdl_version: int
    extends: tuple[str, ...] = ()
    ancestors: tuple[str, ...] = ()
    properties: dict[str, Property] = field(default_factory=dict)
    telemetries: dict[str, Telemetry] = field(default_factory=dict)
    relationships: dict[str, Relationship] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    display_name: LocalizedText = field(default_factory=dict)
    description: LocalizedText = field(default_factory=dict)

    def contents(self) -> dict[str, Content]:
        """All contents (own and inherited) by name."""
        out: dict[str, Content] = {}
        for group in (
            self.properties,
            self.telemetries,
            self.relationships,
            self.components,
            self.commands,
        ):
            out.update(group)
        return out


@dataclass(slots=True)
class ModelSet:
    """The outcome of validating a set of documents together."""

    valid: bool
    complete: bool
    errors: list[Diagnostic]
    unresolved: list[str]
    interfaces: dict[str, Interface]
    documents: dict[str, object]
