"""Behaviour of the public API beyond the conformance suite: model view, diagnostics, loader."""

from __future__ import annotations

from pathlib import Path

from twinmesh.ontology import (
    ArraySchema,
    Code,
    EnumSchema,
    ObjectSchema,
    SourceDocument,
    load_paths,
    parse_model_set,
)

CTX = "dtmi:dtdl:context;3"

BASE = {
    "@context": CTX,
    "@id": "dtmi:ex:Base;1",
    "@type": "Interface",
    "contents": [
        {"@type": "Property", "name": "label", "schema": "string", "writable": True},
        {"@type": "Telemetry", "name": "temp", "schema": "double"},
        {
            "@type": "Relationship",
            "name": "feeds",
            "target": "dtmi:ex:Base;1",
            "maxMultiplicity": 3,
            "properties": [{"@type": "Property", "name": "since", "schema": "dateTime"}],
        },
    ],
}
CHILD = {
    "@context": CTX,
    "@id": "dtmi:ex:Child;1",
    "@type": "Interface",
    "extends": "dtmi:ex:Base;1",
    "contents": [
        {"@type": "Component", "name": "part", "schema": "dtmi:ex:Part;1"},
        {
            "@type": "Property",
            "name": "mode",
            "schema": {
                "@type": "Enum",
                "valueSchema": "integer",
                "enumValues": [{"name": "off", "enumValue": 0}, {"name": "on", "enumValue": 1}],
            },
        },
        {
            "@type": "Command",
            "name": "reset",
            "request": {"name": "delay", "schema": "duration"},
        },
        {
            "@type": "Property",
            "name": "readings",
            "schema": {"@type": "Array", "elementSchema": "double"},
        },
        {
            "@type": "Property",
            "name": "pos",
            "schema": {"@type": "Object", "fields": [{"name": "x", "schema": "float"}]},
        },
    ],
}
PART = {"@context": CTX, "@id": "dtmi:ex:Part;1", "@type": "Interface"}


def _docs(*contents: object) -> list[SourceDocument]:
    return [SourceDocument(f"doc{i}.json", c) for i, c in enumerate(contents)]


def test_flattened_interface_view() -> None:
    result = parse_model_set(_docs(BASE, CHILD, PART))
    assert result.valid, result.errors
    assert result.complete
    child = result.interfaces["dtmi:ex:Child;1"]
    assert child.dtdl_version == 3
    assert child.extends == ("dtmi:ex:Base;1",)
    assert child.ancestors == ("dtmi:ex:Base;1",)
    assert child.properties["label"].writable is True
    assert child.properties["label"].defined_in == "dtmi:ex:Base;1"
    assert child.telemetries["temp"].schema == "double"
    feeds = child.relationships["feeds"]
    assert (feeds.target, feeds.max_multiplicity, feeds.min_multiplicity) == (
        "dtmi:ex:Base;1",
        3,
        None,
    )
    assert feeds.properties["since"].schema == "dateTime"
    assert child.components["part"].schema == "dtmi:ex:Part;1"
    mode = child.properties["mode"].schema
    assert isinstance(mode, EnumSchema)
    assert mode.value_schema == "integer"
    assert [(v.name, v.enum_value) for v in mode.enum_values] == [("off", 0), ("on", 1)]
    assert child.commands["reset"].request is not None
    assert child.commands["reset"].request.schema == "duration"
    assert isinstance(child.properties["readings"].schema, ArraySchema)
    pos = child.properties["pos"].schema
    assert isinstance(pos, ObjectSchema)
    assert pos.fields[0].name == "x"
    assert set(child.contents()) == {
        "label",
        "temp",
        "feeds",
        "part",
        "mode",
        "reset",
        "readings",
        "pos",
    }
    assert result.documents["dtmi:ex:Child;1"] is CHILD


def test_known_interfaces_resolve_references() -> None:
    first = parse_model_set(_docs(BASE, PART))
    assert first.valid
    assert first.complete
    alone = parse_model_set(_docs(CHILD))
    assert not alone.complete
    assert alone.unresolved == ["dtmi:ex:Base;1", "dtmi:ex:Part;1"]
    later = parse_model_set(_docs(CHILD), known=first.interfaces)
    assert later.valid, later.errors
    assert later.complete
    assert "label" in later.interfaces["dtmi:ex:Child;1"].properties


def test_diagnostic_carries_file_pointer_and_code() -> None:
    bad = dict(
        BASE, contents=[{"@type": "Property", "name": "x", "schema": "double", "writable": "yes"}]
    )
    result = parse_model_set(_docs(bad))
    assert not result.valid
    (error,) = result.errors
    assert (error.file, error.pointer, error.code) == (
        "doc0.json",
        "/contents/0/writable",
        Code.VALUE_WRONG_TYPE,
    )
    assert "boolean" in error.message


def test_duplicate_ids_and_inherited_name_clash() -> None:
    clash = dict(
        CHILD,
        contents=[{"@type": "Property", "name": "label", "schema": "string"}],
    )
    result = parse_model_set(_docs(BASE, clash, BASE))
    codes = {e.code for e in result.errors}
    assert Code.ID_DUPLICATE in codes
    assert Code.NAME_DUPLICATE in codes


def test_extends_cycle_reported() -> None:
    a = {"@context": CTX, "@id": "dtmi:ex:A;1", "@type": "Interface", "extends": "dtmi:ex:B;1"}
    b = {"@context": CTX, "@id": "dtmi:ex:B;1", "@type": "Interface", "extends": "dtmi:ex:A;1"}
    result = parse_model_set(_docs(a, b))
    assert Code.EXTENDS_CYCLE in {e.code for e in result.errors}
    assert result.interfaces["dtmi:ex:A;1"].ancestors == ()


def test_load_paths_reads_folders_and_reports_bad_json(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "part.json").write_text(
        '{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:Part;1", "@type": "Interface"}',
        encoding="utf-8",
    )
    (tmp_path / "broken.json").write_text("[1,", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    documents = load_paths([tmp_path])
    assert [Path(d.file).name for d in documents] == ["broken.json", "part.json"]
    result = parse_model_set(documents)
    assert [e.code for e in result.errors] == [Code.INVALID_JSON]
    assert result.errors[0].file.endswith("broken.json")
    assert "dtmi:ex:Part;1" in result.interfaces
