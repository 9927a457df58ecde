"""DTDL (Digital Twins Definition Language) v2/v3 parser and validator for twinmesh.

Why hand-written: no Python DTDL parser library exists (the reference implementation,
DTDLParser, is .NET only), so this package interprets the official metamodel (compiled into
``_metamodel_data`` by ``tests/ontology/metamodel_gen.py``) in pure Python.

Entry points: :func:`parse_model_set` validates documents together; :func:`load_paths` reads
``*.json`` files/folders into :class:`SourceDocument` objects (the only I/O in the package).
"""

from twinmesh.ontology.diagnostics import Code, Diagnostic
from twinmesh.ontology.instances import Violation, check_relationship, check_twin
from twinmesh.ontology.loader import load_paths
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
    MapKey,
    MapSchema,
    MapValue,
    ModelSet,
    ObjectSchema,
    Property,
    Relationship,
    Schema,
    SourceDocument,
    Telemetry,
)
from twinmesh.ontology.modelset import parse_model_set

__all__ = [
    "ArraySchema",
    "Code",
    "Command",
    "CommandPayload",
    "Component",
    "Content",
    "Diagnostic",
    "EnumSchema",
    "EnumValue",
    "Field",
    "Interface",
    "MapKey",
    "MapSchema",
    "MapValue",
    "ModelSet",
    "ObjectSchema",
    "Property",
    "Relationship",
    "Schema",
    "SourceDocument",
    "Telemetry",
    "Violation",
    "check_relationship",
    "check_twin",
    "load_paths",
    "parse_model_set",
]
