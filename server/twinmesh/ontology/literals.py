"""Literal property values in the JSON-LD surface forms DTDL allows.

A literal may be written plainly (``"hello"``, ``true``, ``3``) or as a JSON-LD value object
(``{"@value": 3, "@type": "xsd:integer"}``); localizable strings may be a string, a
language map (``{"en": "..."}``) or an array of strings / ``{"@value", "@language"}`` objects.
Each function returns the decoded value or a list of problems (code + message).
"""

from __future__ import annotations

import re

from twinmesh.ontology.diagnostics import Code

XSD = "http://www.w3.org/2001/XMLSchema#"
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
DEFAULT_LANGUAGE = "en"

Problem = tuple[Code, str]


def _datatype_ok(raw_type: object, datatype: str) -> bool:
    if isinstance(raw_type, list):
        if len(raw_type) != 1:
            return False
        raw_type = raw_type[0]
    return isinstance(raw_type, str) and raw_type in {f"xsd:{datatype}", f"{XSD}{datatype}"}


LENIENT_FORBIDDEN = frozenset({"@id", "@context", "@graph"})


def _keyword_ok(key: str, allowed: set[str], strict: bool) -> bool:
    return key in allowed or (not strict and key not in LENIENT_FORBIDDEN)


def _unwrap(value: object, datatype: str, problems: list[Problem], strict: bool) -> object:
    """Strip a JSON-LD value object (``{"@value": ..., "@type": ...}``) if there is one."""
    if not isinstance(value, dict):
        return value
    for key in value:
        if not key.startswith("@"):
            problems.append((Code.LITERAL_OBJECT_INVALID, f"value object has non-keyword '{key}'"))
            return None
        if not _keyword_ok(key, {"@value", "@type"}, strict):
            problems.append(
                (Code.LITERAL_OBJECT_INVALID, f"value object may only hold @value/@type, not {key}")
            )
            return None
    if "@value" not in value:
        problems.append((Code.LITERAL_OBJECT_INVALID, "value object has no @value"))
        return None
    if "@type" in value and not _datatype_ok(value["@type"], datatype):
        problems.append((Code.LITERAL_OBJECT_INVALID, f"value object @type must be xsd:{datatype}"))
        return None
    return value["@value"]


def parse_typed(
    value: object, datatype: str | None, *, strict: bool = True
) -> tuple[object, list[Problem]]:
    """Decode one literal of ``datatype`` (``string``/``boolean``/``integer``/None=any)."""
    problems: list[Problem] = []
    plain = _unwrap(value, datatype or "string", problems, strict) if datatype else value
    if problems:
        return None, problems
    if datatype is None and isinstance(value, dict):
        plain = _unwrap_any(value, problems)
        if problems:
            return None, problems
    ok = {
        "string": isinstance(plain, str),
        "boolean": isinstance(plain, bool),
        "integer": isinstance(plain, int) and not isinstance(plain, bool),
        "duration": isinstance(plain, str),
        None: isinstance(plain, (str, int, float)),
    }[datatype]
    if not ok:
        return None, [(Code.VALUE_WRONG_TYPE, f"value must be a JSON {datatype or 'literal'}")]
    return plain, []


def _unwrap_any(value: dict[str, object], problems: list[Problem]) -> object:
    if set(value) - {"@value", "@type"} or "@value" not in value:
        problems.append((Code.LITERAL_OBJECT_INVALID, "literal object must hold @value"))
        return None
    return value["@value"]


def parse_lang_string(
    value: object, *, strict: bool = True
) -> tuple[dict[str, str], list[Problem]]:
    """Decode a localizable string into ``{language: text}``."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    if isinstance(value, str):
        return {DEFAULT_LANGUAGE: value}, []
    if isinstance(value, dict):
        if any(k.startswith("@") for k in value):
            return {}, [(Code.LANG_STRING_INVALID, "a value object must be inside an array")]
        else:
            for lang, text in value.items():
                if not LANGUAGE_TAG.match(lang):
                    problems.append((Code.LANG_STRING_INVALID, f"'{lang}' is not a language tag"))
                elif not isinstance(text, str):
                    problems.append((Code.LANG_STRING_INVALID, f"text for '{lang}' not a string"))
                else:
                    out[lang] = text
            return out, problems
    elif isinstance(value, list):
        items: list[object] = value
    else:
        return {}, [(Code.LANG_STRING_INVALID, "must be a string, language map or array")]
    defaults = 0
    for item in items:
        lang, text = _lang_item(item, problems, strict)
        if text is None:
            continue
        if lang is None:
            defaults += 1
            lang = DEFAULT_LANGUAGE
        if lang in out:
            problems.append((Code.LANG_STRING_INVALID, f"language '{lang}' given twice"))
        out[lang] = text
    if defaults > 1:
        problems.append((Code.LANG_STRING_INVALID, "only one string may omit @language"))
    return out, problems


def _lang_item(
    item: object, problems: list[Problem], strict: bool
) -> tuple[str | None, str | None]:
    if isinstance(item, str):
        return None, item
    if not isinstance(item, dict):
        problems.append((Code.LANG_STRING_INVALID, "array entries must be strings or objects"))
        return None, None
    for key in item:
        if not _keyword_ok(key, {"@value", "@language"}, strict) or not key.startswith("@"):
            problems.append(
                (Code.LANG_STRING_INVALID, f"localized entry may hold @value/@language, not {key}")
            )
            return None, None
    text = item.get("@value")
    if not isinstance(text, str):
        problems.append((Code.LANG_STRING_INVALID, "localized entry needs a string @value"))
        return None, None
    lang = item.get("@language")
    if lang is None:
        return None, text
    if not isinstance(lang, str) or not LANGUAGE_TAG.match(lang):
        problems.append((Code.LANG_STRING_INVALID, f"'{lang}' is not a language tag"))
        return None, None
    return lang, text
