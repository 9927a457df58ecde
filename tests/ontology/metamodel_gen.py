"""Derive twinmesh's DTDL rule tables from the official metamodel files.

The DTDL v2/v3 metamodel is published as RDF/SHACL JSON-LD (``metamodel/``) plus JSON-LD
contexts (``context/``).  Rather than hand-typing element types, properties and limits, this
script compiles those files into the plain-data module
``server/twinmesh/ontology/_metamodel_data.py`` that the validator interprets.

Run ``python tests/ontology/metamodel_gen.py`` to regenerate; ``test_metamodel_tables.py``
fails when the committed module no longer matches the metamodel files.
"""

from __future__ import annotations

import json
import pprint
import re
import sys
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "dtdl"
DTDL = SHARED / "spec-cases" / "DTDL"
TARGET = (
    Path(__file__).resolve().parents[2] / "server" / "twinmesh" / "ontology" / "_metamodel_data.py"
)

CONTEXT_FILES = {
    "dtmi:dtdl:context;2": "v2/context/DTDL.v2.context.json",
    "dtmi:iotcentral:context;2": "v2/context/DTDL.v2.iotcentral.context.json",
    "dtmi:dtdl:context;3": "v3/context/DTDL.v3.context.json",
    "dtmi:dtdl:extension:quantitativeTypes;1": (
        "v3/context/DTDL.FeatureExtension.quantitativeTypes.v1.context.json"
    ),
    "dtmi:dtdl:extension:historization;1": (
        "v3/context/DTDL.FeatureExtension.historization.v1.context.json"
    ),
    "dtmi:dtdl:extension:annotation;1": (
        "v3/context/DTDL.FeatureExtension.annotation.v1.context.json"
    ),
    "dtmi:dtdl:extension:overriding;1": (
        "v3/context/DTDL.FeatureExtension.overriding.v1.context.json"
    ),
    "dtmi:dtdl:extension:mqtt;1": "v3/context/DTDL.FeatureExtension.mqtt.v1.context.json",
}
SHACL_FILES = [
    "v2/metamodel/DTDL.v2.ModelRDF-SHACL.json",
    "v2/metamodel/DTDL.v2.PartnerExtension.iotcentral.RDF-SHACL.json",
    "v3/metamodel/DTDL.v3.ModelRDF-SHACL.json",
    "v3/metamodel/DTDL.FeatureExtension.quantitativeTypes.v1.RDF-SHACL.json",
    "v3/metamodel/DTDL.FeatureExtension.historization.v1.RDF-SHACL.json",
    "v3/metamodel/DTDL.FeatureExtension.annotation.v1.RDF-SHACL.json",
    "v3/metamodel/DTDL.FeatureExtension.overriding.v1.RDF-SHACL.json",
    "v3/metamodel/DTDL.FeatureExtension.mqtt.v1.RDF-SHACL.json",
]
ELEMENT_FILES = [
    "v2/metamodel/DTDL.v2.ModelElements.json",
    "v2/metamodel/DTDL.v2.PartnerExtension.iotcentral.Elements.json",
    "v3/metamodel/DTDL.v3.ModelElements.json",
    "v3/metamodel/DTDL.FeatureExtension.quantitativeTypes.v1.Elements.json",
]
DATATYPES = {
    "xsd:string": "string",
    "rdf:langString": "langString",
    "xsd:boolean": "boolean",
    "xsd:integer": "integer",
    "xsd:duration": "duration",
}
KINDS = {"sh:Literal": "L", "sh:IRI": "I", "sh:BlankNodeOrIRI": "B"}


def _load(rel: str) -> Any:
    return json.loads((DTDL / rel).read_text(encoding="utf-8-sig"))


def _contexts() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for ctx_id, rel in CONTEXT_FILES.items():
        terms: dict[str, str] = {}
        for term, value in _load(rel).items():
            if term.startswith("@") or ":" in term or not isinstance(value, dict):
                continue
            if term in {"dtmm", "rdf", "rdfs", "xsd", "sh"}:
                continue
            terms[term] = value["@id"]
        out[ctx_id] = terms
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _Compiler:
    def __init__(self, contexts: dict[str, dict[str, str]]) -> None:
        self.contexts = contexts
        self.classes: dict[str, dict[str, Any]] = {}
        self.prop_names: dict[str, str] = {}
        self.globals: dict[int, dict[str, Any]] = {}
        self.limits: dict[str, Any] = {}
        self.terms: dict[str, str] = {}

    def resolve(self, term: str) -> str:
        if term.startswith("dtmi:") or ":" in term:
            return term
        return self.terms.get(term, term)

    def local_name(self, prop_dtmi: str) -> str:
        tail = prop_dtmi.split(";")[0].split(":")[-1]
        return tail

    def compile_file(self, rel: str) -> None:
        doc = _load(rel)
        ctx_ids = _as_list(doc.get("@context"))
        self.terms = {}
        for ctx_id in ctx_ids:
            self.terms.update(self.contexts.get(ctx_id, {}))
        for entry in doc["@graph"]:
            types = _as_list(entry.get("@type"))
            if "dtmm:Global" in types:
                self._global(entry)
            elif "rdfs:Class" in types:
                self._class(entry, rel)

    def _global(self, entry: dict[str, Any]) -> None:
        version = entry.get("dtmm:dtdlVersion")
        ident = entry.get("dtmm:identifier", {})
        if version is None:
            self.limits.setdefault("reserved_extra", []).extend(
                ident.get("dtmm:reservedPrefix", [])
            )
            return
        apoc = entry.get("dtmm:apocrypha", {})
        self.globals[version] = {
            "id_pattern": ident.get("sh:pattern"),
            "id_max": ident.get("sh:maxLength"),
            "reserved": ident.get("dtmm:reservedPrefix", []),
            "partition_max_bytes": entry.get("dtmm:partition", {}).get("dtmm:maxBytes"),
            "allow_undefined_default": entry.get("dtmm:allowUndefinedExtensionsByDefault"),
            "always_allow": {
                k.split(":")[1]: [x.split(":")[1] for x in _as_list(v)]
                for k, v in apoc.get("dtmm:alwaysAllow", {}).items()
            },
            "never_allow": {
                k.split(":")[1]: [x.split(":")[1] for x in _as_list(v)]
                for k, v in apoc.get("dtmm:neverAllow", {}).items()
            },
        }

    def _class(self, entry: dict[str, Any], rel: str) -> None:
        cid = entry["@id"]
        types = _as_list(entry.get("@type"))
        version = entry.get("dtmm:dtdlVersion") or (2 if rel.startswith("v2") else 3)
        record: dict[str, Any] = {
            "name": cid.split(";")[0].split(":")[-1],
            "v": version,
            "super": [self.resolve(s) for s in _as_list(entry.get("rdfs:subClassOf"))],
            "abstract": "dtmm:Abstract" in types,
            "material": "dtmm:Material" in types,
            "extensible": "dtmm:Extensible" in types,
            "partition": "dtmm:Partition" in types,
            "hosts": [self.resolve(o["sh:class"]) for o in _as_list(entry.get("sh:or"))],
            "requires": [self.resolve(o["sh:class"]) for o in _as_list(entry.get("sh:and"))],
            "props": {},
        }
        ident = entry.get("dtmm:identifier")
        if ident:
            record["id_max"] = ident.get("sh:maxLength")
        for prop in _as_list(entry.get("dtmm:property")):
            self.prop_names[prop["@id"]] = self.local_name(prop["@id"])
        for shape in _as_list(entry.get("sh:property")):
            path = self.resolve(shape["sh:path"])
            name = self.prop_names.get(path) or self.local_name(path)
            record["props"][name] = self._constraint(shape)
        for desc in _as_list(entry.get("dtmm:descendants")):
            self._descendants(record["name"], version, desc)
        self.classes[cid] = record

    def _constraint(self, shape: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        simple = {
            "sh:minCount": "min",
            "sh:maxCount": "max",
            "sh:pattern": "pattern",
            "sh:maxLength": "maxlen",
            "sh:minInclusive": "minv",
            "sh:maxInclusive": "maxv",
            "dtmm:typeInferable": "infer",
            "sh:uniqueLang": "unique_lang",
            "dtmm:value": "value",
        }
        for key, short in simple.items():
            if key in shape:
                out[short] = shape[key]
        if "sh:datatype" in shape:
            out["dt"] = DATATYPES[shape["sh:datatype"]]
        if "sh:nodeKind" in shape:
            out["kind"] = KINDS[shape["sh:nodeKind"]]
        classes = [self.resolve(o["sh:class"]) for o in _as_list(shape.get("sh:or"))]
        if "sh:class" in shape:
            classes.append(self.resolve(shape["sh:class"]))
        if classes:
            out["cls"] = classes
        if "sh:in" in shape:
            out["in"] = [self.resolve(x) for x in shape["sh:in"]]
        if "dtmm:uniqueProperties" in shape:
            out["unique"] = [self.local_name(p) for p in shape["dtmm:uniqueProperties"]]
        if "dtmm:childOf" in shape:
            out["child_of"] = self.resolve(shape["dtmm:childOf"])
        if shape.get("dtmm:deprecated"):
            out["deprecated"] = True
        return out

    def _descendants(self, name: str, version: int, desc: dict[str, Any]) -> None:
        key = f"{name}:{version}:" + "+".join(
            self.local_name(p) for p in _as_list(desc.get("dtmm:properties"))
        )
        rec = {
            k.split(":")[1]: v
            for k, v in desc.items()
            if k in {"dtmm:maxDepth", "dtmm:maxCount", "dtmm:excludeType", "dtmm:narrow"}
        }
        self.limits[key] = rec


def _instances(contexts: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rel in ELEMENT_FILES:
        terms: dict[str, str] = {}
        for doc in _load(rel):
            terms = {}
            for ctx_id in _as_list(doc.get("@context")):
                terms.update(contexts.get(ctx_id, {}))
            _collect_instances(doc, terms, out)
    return out


def _collect_instances(
    node: dict[str, Any], terms: dict[str, str], out: dict[str, list[str]]
) -> None:
    types = [terms.get(t, t) for t in _as_list(node.get("@type"))]
    types = [t for t in types if not t.endswith("class:Alias;3")]
    out[node["@id"]] = types
    for child in _as_list(node.get("enumValues")) + _as_list(node.get("fields")):
        if isinstance(child, dict) and "@id" in child:
            _collect_instances(child, terms, out)


def _quantities(
    compiler: _Compiler, contexts: dict[str, dict[str, str]], instances: dict[str, list[str]]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Semantic type -> unit-type, and unit -> unit-types, for v3 extension and v2 core."""
    quantity_unit: dict[str, str] = {}
    unit_types: dict[str, list[str]] = {}
    for cid, rec in compiler.classes.items():
        child_of = rec["props"].get("unit", {}).get("child_of")
        if child_of:
            quantity_unit[cid] = child_of
    for doc in _load("v3/metamodel/DTDL.FeatureExtension.quantitativeTypes.v1.Elements.json"):
        for value in doc.get("enumValues", []):
            unit_types.setdefault(value["@id"], []).append(doc["@id"])
    # DTDL v2 ships the same quantities in its core context (dtmi:standard:*;2) but its
    # published metamodel omits the unit membership, so it is mapped by name from v3.
    v3_by_name = {cid.split(":")[-1]: cid for cid in quantity_unit}
    v3_unit_by_name: dict[str, list[str]] = {}
    for uid, enums in unit_types.items():
        v3_unit_by_name[uid.split(":")[-1]] = [e.split(":")[-1] for e in enums]
    v2_terms = contexts["dtmi:dtdl:context;2"]
    for term, dtmi in v2_terms.items():
        if dtmi.startswith("dtmi:standard:class:") and term in v3_by_name:
            unit_class = quantity_unit[v3_by_name[term]].split(":")[-1]
            quantity_unit[dtmi] = f"dtmi:standard:class:{unit_class};2"
        elif dtmi.startswith("dtmi:standard:unit:"):
            unit_types[dtmi] = [
                f"dtmi:standard:class:{e};2" for e in v3_unit_by_name.get(term, ["Unitless"])
            ]
    return quantity_unit, unit_types


def tables() -> dict[str, Any]:
    """All generated tables by module attribute name."""
    contexts = _contexts()
    compiler = _Compiler(contexts)
    for rel in SHACL_FILES:
        compiler.compile_file(rel)
    instances = _instances(contexts)
    quantity_unit, unit_types = _quantities(compiler, contexts, instances)
    # v2 semantic types and unit types are only named in the v2 context.
    for term, dtmi in contexts["dtmi:dtdl:context;2"].items():
        if not dtmi.startswith("dtmi:standard:class:") or dtmi in compiler.classes:
            continue
        is_unit = term.endswith("Unit") or term == "Unitless"
        compiler.classes[dtmi] = {
            "name": term,
            "v": 2,
            "super": ["dtmi:dtdl:class:Unit;2" if is_unit else "dtmi:dtdl:class:SemanticType;2"],
            "abstract": False,
            "material": False,
            "extensible": False,
            "partition": False,
            "hosts": [],
            "requires": [],
            "props": {}
            if is_unit
            else {
                "unit": {
                    "min": 1,
                    "max": 1,
                    "kind": "B",
                    "cls": [quantity_unit.get(dtmi, "dtmi:dtdl:class:Unit;2")],
                },
                "schema": {"cls": ["dtmi:dtdl:class:NumericSchema;2"]},
            },
        }
    for dtmi in list(contexts["dtmi:dtdl:context;2"].values()):
        if dtmi.startswith("dtmi:standard:unitprefix:"):
            instances[dtmi] = ["dtmi:dtdl:class:UnitAttribute;2"]
        elif dtmi.startswith("dtmi:standard:unit:"):
            instances[dtmi] = unit_types.get(dtmi, ["dtmi:standard:class:Unitless;2"])
    for ctx in ("dtmi:dtdl:context;2", "dtmi:dtdl:context;3"):
        for dtmi in contexts[ctx].values():
            if dtmi.startswith("dtmi:standard:schema:geospatial:"):
                version = dtmi[-1]
                instances[dtmi] = [f"dtmi:dtdl:class:Object;{version}"]
    for uid in unit_types:
        if uid.startswith("dtmi:dtdl:extension:"):
            instances.setdefault(uid, ["dtmi:dtdl:class:EnumValue;3"])
    return {
        "CONTEXTS": contexts,
        "CLASSES": compiler.classes,
        "PROPERTY_NAMES": compiler.prop_names,
        "INSTANCES": instances,
        "QUANTITY_UNIT": quantity_unit,
        "UNIT_TYPES": unit_types,
        "GLOBALS": compiler.globals,
        "LIMITS": compiler.limits,
    }


TYPES = {
    "CONTEXTS": "dict[str, dict[str, str]]",
    "CLASSES": "dict[str, dict[str, Any]]",
    "PROPERTY_NAMES": "dict[str, str]",
    "INSTANCES": "dict[str, list[str]]",
    "QUANTITY_UNIT": "dict[str, str]",
    "UNIT_TYPES": "dict[str, list[str]]",
    "GLOBALS": "dict[int, dict[str, Any]]",
    "LIMITS": "dict[str, Any]",
}


def generate() -> str:
    parts = [
        '"""DTDL rule tables generated from the official metamodel by',
        "tests/ontology/metamodel_gen.py -- do not edit by hand.",
        '"""',
        "",
        "# ruff: noqa: E501",
        "from typing import Any",
        "",
    ]
    for name, value in tables().items():
        parts += [f"{name}: {TYPES[name]} = {pprint.pformat(value, width=100)}", ""]
    text = "\n".join(parts)
    return re.sub(r"[ \t]+\n", "\n", text)


def main() -> int:
    TARGET.write_text(generate(), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
