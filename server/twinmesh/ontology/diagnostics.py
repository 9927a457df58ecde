"""Diagnostics reported by the DTDL validator: one stable code table and a record type.

Codes are UPPER_SNAKE strings so that API clients, the CLI's JSON output and stored reports can
match on them; the message is written for the modeller and may change wording freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    """Every diagnostic code the ontology package can emit."""

    # files and documents
    INVALID_JSON = "INVALID_JSON"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    ROOT_NOT_OBJECT = "ROOT_NOT_OBJECT"
    NOT_ROOTABLE = "NOT_ROOTABLE"
    # @context
    CONTEXT_MISSING = "CONTEXT_MISSING"
    CONTEXT_INVALID = "CONTEXT_INVALID"
    CONTEXT_ORDER = "CONTEXT_ORDER"
    CONTEXT_UNSUPPORTED = "CONTEXT_UNSUPPORTED"
    UNDEFINED_EXTENSION = "UNDEFINED_EXTENSION"
    # keywords, identifiers, types
    INVALID_KEYWORD = "INVALID_KEYWORD"
    ID_NOT_STRING = "ID_NOT_STRING"
    ID_INVALID = "ID_INVALID"
    ID_TOO_LONG = "ID_TOO_LONG"
    ID_RESERVED = "ID_RESERVED"
    ID_REQUIRED = "ID_REQUIRED"
    ID_DUPLICATE = "ID_DUPLICATE"
    TYPE_MISSING = "TYPE_MISSING"
    TYPE_INVALID = "TYPE_INVALID"
    TYPE_NOT_ALLOWED = "TYPE_NOT_ALLOWED"
    TYPE_AMBIGUOUS = "TYPE_AMBIGUOUS"
    COTYPE_NOT_ALLOWED = "COTYPE_NOT_ALLOWED"
    UNDEFINED_TERM = "UNDEFINED_TERM"
    # properties and values
    PROPERTY_NOT_ALLOWED = "PROPERTY_NOT_ALLOWED"
    PROPERTY_DUPLICATE = "PROPERTY_DUPLICATE"
    PROPERTY_REQUIRED = "PROPERTY_REQUIRED"
    TOO_MANY_VALUES = "TOO_MANY_VALUES"
    VALUE_WRONG_TYPE = "VALUE_WRONG_TYPE"
    VALUE_TOO_LONG = "VALUE_TOO_LONG"
    VALUE_PATTERN = "VALUE_PATTERN"
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"
    VALUE_NOT_ALLOWED = "VALUE_NOT_ALLOWED"
    LITERAL_OBJECT_INVALID = "LITERAL_OBJECT_INVALID"
    LANG_STRING_INVALID = "LANG_STRING_INVALID"
    NAME_DUPLICATE = "NAME_DUPLICATE"
    VALUE_DUPLICATE = "VALUE_DUPLICATE"
    ENUM_VALUE_TYPE = "ENUM_VALUE_TYPE"
    UNIT_MISMATCH = "UNIT_MISMATCH"
    # references and structure
    REFERENCE_WRONG_TYPE = "REFERENCE_WRONG_TYPE"
    REFERENCE_NOT_REFERENCEABLE = "REFERENCE_NOT_REFERENCEABLE"
    UNRESOLVED_REFERENCE = "UNRESOLVED_REFERENCE"
    EXTENDS_CYCLE = "EXTENDS_CYCLE"
    EXTENDS_TOO_DEEP = "EXTENDS_TOO_DEEP"
    EXTENDS_TOO_MANY = "EXTENDS_TOO_MANY"
    SCHEMA_CYCLE = "SCHEMA_CYCLE"
    SCHEMA_TOO_DEEP = "SCHEMA_TOO_DEEP"
    COMPONENT_NESTED = "COMPONENT_NESTED"
    SCHEMA_NOT_ALLOWED = "SCHEMA_NOT_ALLOWED"
    TOO_MANY_ELEMENTS = "TOO_MANY_ELEMENTS"
    PARTITION_TOO_LARGE = "PARTITION_TOO_LARGE"
    ANNOTATION_TARGET = "ANNOTATION_TARGET"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a model: where (file + RFC 6901 pointer), what, and why."""

    file: str
    pointer: str
    code: Code
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "pointer": self.pointer,
            "code": str(self.code),
            "message": self.message,
        }


def pointer_join(base: str, token: str | int) -> str:
    """Append one reference token to an RFC 6901 JSON pointer."""
    text = str(token).replace("~", "~0").replace("/", "~1")
    return f"{base}/{text}"
