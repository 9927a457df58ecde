"""Decode one property's value(s) according to the metamodel constraints that apply to it.

Values are literals (checked for datatype, length, pattern and range), localizable strings,
references by DTMI or term (kept as ``Ref`` for later resolution), or nested elements (parsed
recursively by the ``Parser``).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from twinmesh.ontology import metamodel as mm
from twinmesh.ontology.context import Context
from twinmesh.ontology.diagnostics import Code, pointer_join
from twinmesh.ontology.literals import parse_lang_string, parse_typed
from twinmesh.ontology.nodes import Node, Ref
from twinmesh.ontology.terms import TermKind, classify

if TYPE_CHECKING:
    from twinmesh.ontology.parser import Parser


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _in_version(dtmi: str, version: int, item: dict[str, object]) -> str:
    """The inferred class for an untyped element, in the element's own DTDL version."""
    raw = item.get("@context")
    entries = raw if isinstance(raw, list) else [raw]
    for entry in entries:
        if isinstance(entry, str) and entry.startswith(mm.DTDL_CONTEXT_PREFIX):
            tail = entry[len(mm.DTDL_CONTEXT_PREFIX) :]
            version = int(tail) if tail.isdigit() else version
    if dtmi.startswith("dtmi:dtdl:class:"):
        candidate = mm.class_dtmi(mm.CLASSES[dtmi].name, version)
        if candidate in mm.CLASSES:
            return candidate
    return dtmi


class ValueReader:
    def __init__(self, parser: Parser) -> None:
        self.parser = parser

    def read(self, node: Node, name: str, raw: object, ctx: Context, where: str) -> None:
        constraints = node.constraints[name]
        datatype = next((c.datatype for c in constraints if c.datatype), None)
        kind = next((c.kind for c in constraints if c.kind), None)
        if datatype == "langString":
            self._lang_string(node, name, raw, where, constraints)
            return
        items = raw if isinstance(raw, list) else [raw]
        values: list[object] = []
        for index, item in enumerate(items):
            ptr = pointer_join(where, index) if isinstance(raw, list) else where
            if kind == "L" or datatype is not None:
                value = self._literal(node, item, datatype, constraints, ptr)
            else:
                value = self._reference_or_element(node, item, ctx, constraints, ptr, kind)
            if value is not None:
                values.append(value)
        for constraint in constraints:
            if constraint.max is not None and len(values) > constraint.max:
                self.parser.error(
                    node.file,
                    where,
                    Code.TOO_MANY_VALUES,
                    f"'{name}' allows at most {constraint.max} value(s), found {len(values)}",
                )
                break
        node.props[name] = values

    def _lang_string(
        self, node: Node, name: str, raw: object, where: str, constraints: list[mm.Constraint]
    ) -> None:
        texts, problems = parse_lang_string(raw, strict=node.version >= 3)
        for code, message in problems:
            self.parser.error(node.file, where, code, f"'{name}': {message}")
        limit = next((c.max_length for c in constraints if c.max_length), None)
        for lang, text in texts.items():
            if limit is not None and len(text) > limit:
                self.parser.error(
                    node.file,
                    where,
                    Code.VALUE_TOO_LONG,
                    f"'{name}' ({lang}) is longer than {limit} characters",
                )
        node.props[name] = [texts] if not problems else []

    def _literal(
        self,
        node: Node,
        item: object,
        datatype: str | None,
        constraints: list[mm.Constraint],
        ptr: str,
    ) -> object:
        value, problems = parse_typed(item, datatype, strict=node.version >= 3)
        for code, message in problems:
            self.parser.error(node.file, ptr, code, message)
        if problems:
            return None
        for c in constraints:
            if isinstance(value, str):
                if c.max_length is not None and len(value) > c.max_length:
                    self.parser.error(
                        node.file,
                        ptr,
                        Code.VALUE_TOO_LONG,
                        f"'{c.name}' is longer than {c.max_length} characters",
                    )
                    return None
                if c.pattern is not None and not _regex(c.pattern).search(value):
                    self.parser.error(
                        node.file,
                        ptr,
                        Code.VALUE_PATTERN,
                        f"'{value}' is not a valid {c.name}",
                    )
                    return None
            if isinstance(value, int) and not isinstance(value, bool):
                low, high = c.min_value, c.max_value
                if (low is not None and value < low) or (high is not None and value > high):
                    self.parser.error(
                        node.file,
                        ptr,
                        Code.VALUE_OUT_OF_RANGE,
                        f"'{c.name}' must be between {low} and {high}",
                    )
                    return None
        return value

    def _reference_or_element(
        self,
        node: Node,
        item: object,
        ctx: Context,
        constraints: list[mm.Constraint],
        ptr: str,
        kind: str | None,
    ) -> object:
        classes = next((c.classes for c in constraints if c.classes), ())
        if isinstance(item, str):
            term_kind, dtmi = classify(item, ctx)
            if term_kind not in {TermKind.DEFINED, TermKind.DTMI}:
                code = Code.UNDEFINED_TERM if term_kind == TermKind.UNDEFINED else Code.ID_INVALID
                self.parser.error(
                    node.file, ptr, code, f"'{item}' is neither a defined term nor a valid DTMI"
                )
                return None
            for c in constraints:
                if c.pattern is not None and not _regex(c.pattern).search(dtmi):
                    self.parser.error(
                        node.file, ptr, Code.VALUE_PATTERN, f"'{item}' is not a valid DTMI"
                    )
                    return None
                if c.max_length is not None and len(dtmi) > c.max_length:
                    self.parser.error(node.file, ptr, Code.VALUE_TOO_LONG, f"'{item}' is too long")
                    return None
                if c.allowed and dtmi not in c.allowed:
                    allowed = ", ".join(a.split(":")[-1].split(";")[0] for a in c.allowed)
                    self.parser.error(
                        node.file,
                        ptr,
                        Code.VALUE_NOT_ALLOWED,
                        f"'{item}' is not allowed here (use one of: {allowed})",
                    )
                    return None
            if not classes:
                return dtmi
            return Ref(dtmi, ptr)
        if isinstance(item, dict):
            if any(c.allowed for c in constraints) or not classes:
                self.parser.error(
                    node.file,
                    ptr,
                    Code.VALUE_WRONG_TYPE,
                    "a reference (term or DTMI) is required here, not an object",
                )
                return None
            infer = None
            if any(c.infer for c in constraints):
                infer = _in_version(classes[0], ctx.version, item)
            return self.parser.element(
                item,
                ctx,
                node.file,
                ptr,
                expected=classes,
                infer=infer,
                id_required=kind == "I",
                parent=node,
            )
        self.parser.error(
            node.file, ptr, Code.VALUE_WRONG_TYPE, "value must be a term, DTMI or element object"
        )
        return None
