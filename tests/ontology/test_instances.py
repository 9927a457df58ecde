"""Twin and relationship instance validation against the sample ontology and inline models."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from datetime import UTC, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinmesh.ontology import (
    ArraySchema,
    Component,
    EnumSchema,
    EnumValue,
    Field,
    Interface,
    MapKey,
    MapSchema,
    MapValue,
    ObjectSchema,
    Property,
    Schema,
    SourceDocument,
    load_paths,
    parse_model_set,
)
from twinmesh.ontology.instances import (
    Violation,
    ViolationCode,
    check_relationship,
    check_twin,
)

ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
B = "dtmi:twinmesh:building:"
CTX = "dtmi:dtdl:context;3"
Found = list[tuple[str, str]]


SAMPLE = parse_model_set(load_paths([ONTOLOGY]))
resolve = SAMPLE.interfaces.get


def iface(name: str) -> Interface:
    return SAMPLE.interfaces[f"{B}{name};1"]


def found(violations: list[Violation]) -> Found:
    return [(v.path, v.code) for v in violations]


# fmt: off
def twin(name: str, properties: Mapping[str, object], components: Mapping[str, object]
         | None = None, changed: list[str] | None = None) -> Found:
    return found(check_twin(iface(name), properties, components or {}, resolve=resolve,
                            changed=changed))
# fmt: on


def doc(dtmi: str, *contents: dict[str, object]) -> dict[str, object]:
    return {"@context": CTX, "@id": dtmi, "@type": "Interface", "contents": list(contents)}


def prop(name: str, schema: object, writable: bool = False) -> dict[str, object]:
    return {"@type": "Property", "name": name, "schema": schema, "writable": writable}


def inline(*documents: object) -> dict[str, Interface]:
    result = parse_model_set([SourceDocument(f"d{i}.json", d) for i, d in enumerate(documents)])
    assert result.valid, result.errors
    return result.interfaces


def value_of(schema: Schema, value: object) -> Found:
    """Check ``{"p": value}`` against a one-property Interface (any schema, even v4 ones)."""
    single = Interface("dtmi:ex:Single;1", 3, properties={"p": Property("p", schema, True)})
    return found(check_twin(single, {"p": value}, {}, resolve=lambda _: None))


# fmt: off
def rel(source: Interface | str, name: str, target: Interface | str | None = None,
        **kw: Any) -> list[Violation]:
    return check_relationship(
        iface(source) if isinstance(source, str) else source, name,
        target=iface(target) if isinstance(target, str) else target,
        target_is_remote=kw.get("remote", False), properties=kw.get("properties", {}),
        existing_count=kw.get("existing", 0), changed=kw.get("changed"))
# fmt: on


# --- twins: one table of (model, properties, components, changed) -> violations ---------------
W, R, F, N = "WRONG_TYPE", "OUT_OF_RANGE", "INVALID_FORMAT", "NOT_WRITABLE"
UP, UC, CNO = "UNKNOWN_PROPERTY", "UNKNOWN_COMPONENT", "COMPONENT_NOT_OBJECT"
BUILDING = {
    "name": "HQ", "externalId": "bms-1", "tags": {"wing": "north", "zone_2": "b"},  # Entity
    "area": 1200.5, "personCapacity": 300, "accessLevel": "public",  # Space
    "address": {"street": "1 Main St", "city": "Springfield"}, "yearBuilt": 1999,  # Building
    "energyRating": "B",
}  # fmt: skip
THERMOSTAT = {"temperatureSetpoint": 21.5, "mode": "heat", "displayLocked": False}
NAMEPLATE = {"ratedPower": 3.5, "weight": 12.0}
# fmt: off
TWIN_CASES: dict[str, tuple[str, dict[str, object], dict[str, object], list[str] | None, Found]] = {
    # declared (own and inherited) properties, unknown ones, other contents used as properties
    "valid-inherited": ("Building", BUILDING, {}, None, []),
    "empty": ("Building", {}, {}, None, []),
    "unknown": ("Floor", {"height": 3}, {}, None, [("/height", UP)]),
    "sibling-property": ("Room", {"yearBuilt": 2000}, {}, None, [("/yearBuilt", UP)]),
    "relationship-component-as-property": ("Room", {"hasPart": [], "thermostat": {}}, {}, None,
        [("/hasPart", "NOT_A_PROPERTY"), ("/thermostat", "NOT_A_PROPERTY")]),
    "escaped-pointer": ("Building", {"a/b~c": 1}, {}, None, [("/a~1b~0c", UP)]),
    # null is never a value
    "null": ("Building", {"name": None}, {}, None, [("/name", W)]),
    "null-field": ("Building", {"address": {"city": None}}, {}, None, [("/address/city", W)]),
    "null-map-value": ("Entity", {"tags": {"wing": None}}, {}, None, [("/tags/wing", W)]),
    # primitives through the sample model
    "int-max": ("Building", {"yearBuilt": 2**31 - 1}, {}, None, []),
    "int-over": ("Building", {"yearBuilt": 2**31}, {}, None, [("/yearBuilt", R)]),
    "int-bool": ("Building", {"yearBuilt": True}, {}, None, [("/yearBuilt", W)]),
    "datetime-no-offset": ("Room", {"lastCleanedAt": "2024-05-01T08:00:00"}, {}, None,
        [("/lastCleanedAt", F)]),
    "bad-date": ("Asset", {"installedOn": "2024-02-30"}, {}, None, [("/installedOn", F)]),
    "duration": ("Equipment", {"maintenanceInterval": "P3M"}, {}, None, []),
    # objects: fields optional, unknown fields reported, values checked, must be objects
    "object-empty": ("Building", {"address": {}}, {}, None, []),
    "object-unknown-field": ("Building", {"address": {"city": "Oslo", "zip": "0150"}}, {}, None,
        [("/address/zip", "UNKNOWN_FIELD")]),
    "object-field-type": ("Building", {"address": {"city": 7}}, {}, None, [("/address/city", W)]),
    "object-string": ("Building", {"address": "1 Main St"}, {}, None, [("/address", W)]),
    "object-array": ("Building", {"address": ["1 Main St"]}, {}, None, [("/address", W)]),
    # maps
    "map-empty": ("Entity", {"tags": {}}, {}, None, []),
    "map-value": ("Entity", {"tags": {"wing": 3, "floor": "2"}}, {}, None, [("/tags/wing", W)]),
    "map-array": ("Entity", {"tags": ["wing"]}, {}, None, [("/tags", W)]),
    "map-key-escaped": ("Entity", {"tags": {"x/y": "1"}}, {}, None,
        [("/tags/x~1y", "INVALID_MAP_KEY")]),
    # string enums (integer enums below)
    "enum": ("Building", {"energyRating": "A"}, {}, None, []),
    "enum-case": ("Building", {"energyRating": "a"}, {}, None, [("/energyRating", "NOT_IN_ENUM")]),
    "enum-type": ("Building", {"energyRating": 1}, {}, None, [("/energyRating", W)]),
    # components
    "component": ("Room", {"roomNumber": "1.01"}, {"thermostat": THERMOSTAT}, None, []),
    "component-inherited-empty": ("Office", {}, {"thermostat": {}}, None, []),
    "component-missing": ("Room", {"bookable": True}, {}, None, []),
    "component-enum": ("Room", {}, {"thermostat": {"mode": "fan"}}, None,
        [("/thermostat/mode", "NOT_IN_ENUM")]),
    "component-type": ("Room", {}, {"thermostat": {"temperatureSetpoint": "21"}}, None,
        [("/thermostat/temperatureSetpoint", W)]),
    "component-unknown-property": ("Room", {}, {"thermostat": {"roomNumber": "1"}}, None,
        [("/thermostat/roomNumber", UP)]),
    "unknown-component": ("Room", {}, {"nameplate": {}}, None, [("/nameplate", UC)]),
    "property-as-component": ("Room", {}, {"bookable": True}, None,
        [("/bookable", UC)]),
    "component-null": ("Room", {}, {"thermostat": None}, None, [("/thermostat", CNO)]),
    "component-string": ("Room", {}, {"thermostat": "x"}, None, [("/thermostat", CNO)]),
    "component-array": ("Room", {}, {"thermostat": []}, None, [("/thermostat", CNO)]),
    # writability: creation sets anything declared; updates may only change writable properties
    "create-non-writable": ("Building", {"externalId": "x", "yearBuilt": 1990}, {}, None, []),
    "create-component-non-writable": ("Meter", {}, {"nameplate": NAMEPLATE}, None, []),
    "update-non-writable": ("Building", {"yearBuilt": 1990, "name": "HQ"}, {},
        ["yearBuilt", "name"], [("/yearBuilt", N)]),
    "update-writable": ("Building", {"name": "HQ"}, {}, ["name", "tags"], []),
    "remove-non-writable": ("Building", {}, {}, ["externalId"], [("/externalId", N)]),
    "update-component-property": ("Meter", {}, {"nameplate": NAMEPLATE}, ["nameplate/ratedPower"],
        [("/nameplate/ratedPower", N)]),
    "update-component-writable": ("Room", {}, {"thermostat": THERMOSTAT}, ["thermostat/mode"], []),
    "update-whole-component": ("Meter", {}, {"nameplate": NAMEPLATE}, ["nameplate"],
        [("/nameplate/ratedPower", N), ("/nameplate/weight", N)]),
    "update-whole-writable-component": ("Room", {}, {"thermostat": THERMOSTAT}, ["thermostat"], []),
    "update-dedup-and-ignore-unknown": ("Meter", {}, {"nameplate": {"weight": 1.0}},
        ["nameplate", "nameplate/weight", "nameplate/weight", "nope", "hasPoint", "a/b/c"],
        [("/nameplate/weight", N)]),
    "update-type-and-writability": ("Building", {"yearBuilt": "old"}, {}, ["yearBuilt"],
        [("/yearBuilt", W), ("/yearBuilt", N)]),
    "update-lone-string": ("Building", {}, {}, "externalId", [("/externalId", N)]),  # type: ignore[dict-item]
}
# fmt: on


# fmt: off
MIXED = doc("dtmi:ex:Mixed;1", prop("label", "string", writable=True),
            {"@type": "Telemetry", "name": "temp", "schema": "double"},
            {"@type": "Command", "name": "reset"}, {"@type": "Relationship", "name": "near"},
            {"@type": "Component", "name": "part", "schema": "dtmi:ex:Part;1"})
# fmt: on
PART = doc("dtmi:ex:Part;1", prop("serial", "string"))


class TestProperties:
    @pytest.mark.parametrize("case", TWIN_CASES)
    def test_twin(self, case: str) -> None:
        assert SAMPLE.valid, SAMPLE.errors
        model, properties, components, changed, expected = TWIN_CASES[case]
        assert twin(model, properties, components, changed) == expected

    @pytest.mark.parametrize("name", ["temp", "reset", "near", "part"])
    def test_telemetry_command_relationship_component_are_not_properties(self, name: str) -> None:
        mixed = inline(MIXED, PART)["dtmi:ex:Mixed;1"]
        violations = check_twin(mixed, {"label": "x", name: 1}, {}, resolve=lambda _: None)
        assert found(violations) == [(f"/{name}", "NOT_A_PROPERTY")]


# --- values: primitives, enums, arrays, maps, nesting, geospatial -----------------------------
# schema: (valid values, [(invalid value, code)])
# fmt: off
PRIMITIVES: dict[str, tuple[list[object], list[tuple[object, str]]]] = {
    "boolean": ([True, False], [(1, W), ("true", W), (None, W)]),
    "integer": ([2**31 - 1, -(2**31), 0],
                [(2**31, R), (-(2**31) - 1, R), (True, W), (3.0, W), ("3", W)]),
    "long": ([2**63 - 1, -(2**63)], [(2**63, R), (-(2**63) - 1, R), (False, W)]),
    "short": ([32767, -32768], [(32768, R), (-32769, R)]),
    "byte": ([127, -128], [(128, R), (-129, R)]),
    "unsignedByte": ([0, 255], [(256, R), (-1, R)]),
    "unsignedShort": ([65535], [(65536, R), (-1, R)]),
    "unsignedInteger": ([2**32 - 1], [(2**32, R), (-1, R)]),
    "unsignedLong": ([2**64 - 1, 0], [(2**64, R), (-1, R), (True, W)]),
    "double": ([1.5, 7, -1.7976931348623157e308, 0.0],
               [(10**400, R), (float("nan"), R), (float("inf"), R), (True, W), ("1.5", W)]),
    "float": ([3.4028234663852886e38, 2, -1.5], [(3.5e38, R), (float("-inf"), R), (False, W)]),
    "decimal": ([12, 12.5, "-12.50", ".5", "+3", "7."],
                [("1e5", F), ("12.5.1", F), ("", F), (float("inf"), R), (True, W), (None, W)]),
    "string": (["", "héllo"], [(5, W), (None, W), (["a"], W)]),
    "date": (["2024-02-29", "0001-01-01", "9999-12-31"],
             [("2024-02-30", F), ("2023-02-29", F), ("2024-13-01", F), ("2024-1-01", F),
              ("20240101", F), ("2024-01-01T00:00:00Z", F), ("２０２４-01-01", F),  # noqa: RUF001
              (20240101, W)]),
    "dateTime": (["2024-05-01T12:30:00Z", "2024-05-01T12:30:00.123456+05:30",
                  "2024-05-01t12:30:00z", "2024-05-01T23:59:59-12:00"],
                 [("2024-05-01T12:30:00", F), ("2024-05-01 12:30:00Z", F),
                  ("2024-05-01T24:00:00Z", F), ("2024-02-30T12:00:00Z", F),
                  ("2024-05-01T12:30:00+25:00", F), ("2024-05-01T12:30Z", F), (1714566600, W)]),
    "time": (["12:30:00", "23:59:59.5Z", "08:00:00+01:00"],
             [("24:00:00", F), ("12:30", F), ("12:60:00", F), ("12:00:00+1", F)]),
    "duration": (["PT15M", "P1DT2H", "P1Y2M3DT4H5M6.5S", "-P3D", "P2W", "PT0S"],
                 [("P", F), ("PT", F), ("P1DT", F), ("P1H", F), ("P1W2D", F), ("PT1.5H", F),
                  ("15 minutes", F), (900, W)]),
    "uuid": (["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000"],
             [("123e4567e89b12d3a456426614174000", F),
              ("123e4567-e89b-12d3-a456-42661417400g", F), (123, W)]),
    "bytes": (["", "aGVsbG8=", "aGk="], [("aGVsbG8", F), ("aGVs bG8=", F), ("a===", F), (5, W)]),
}
# fmt: on
PRIMITIVE_CASES = [(s, v, None) for s, (good, _) in PRIMITIVES.items() for v in good] + [
    (s, v, code) for s, (_, bad) in PRIMITIVES.items() for v, code in bad
]


@pytest.mark.parametrize(("schema", "value", "code"), PRIMITIVE_CASES)
def test_primitive_values(schema: str, value: object, code: str | None) -> None:
    assert value_of(schema, value) == ([] if code is None else [("/p", code)])


DOUBLES, TAGS = ArraySchema("double"), MapSchema(MapKey("k", "string"), MapValue("v", "string"))
INT_ENUM = EnumSchema("integer", (EnumValue("off", 0), EnumValue("on", 1), EnumValue("eco", 7)))
LABELLED = EnumSchema("string", (EnumValue("highTemp", "HIGH"),))
READING = ObjectSchema(
    (Field("x", "integer"), Field("when", "dateTime"), Field("kind", EnumSchema("string", ())))
)
NESTED = ArraySchema(MapSchema(MapKey("zone", "string"), MapValue("reading", READING)))
NE, US, G, MK = "NOT_IN_ENUM", "UNSUPPORTED_SCHEMA", "INVALID_GEOMETRY", "INVALID_MAP_KEY"
UF = "UNKNOWN_FIELD"
GOOD_KEYS = ("wing", "a", "Zone_2", "x1", "k" * 512)
BAD_KEYS = ("", "1wing", "_wing", "wing_", "fire-zone", "a b", "ünï", "k" * 513)
SQUARE, P = [[0, 0], [1, 0], [1, 1], [0, 0]], {"type": "Point"}
# fmt: off
VALUE_CASES: dict[str, tuple[Schema, object, Found]] = {
    "array": (DOUBLES, [1, 2.5, -3], []),
    "array-empty": (DOUBLES, [], []),
    "array-element": (DOUBLES, [1, 2, 3, "4"], [("/p/3", W)]),
    "array-object": (DOUBLES, {"0": 1}, [("/p", W)]),
    "array-string": (DOUBLES, "1,2", [("/p", W)]),
    **{f"map-key-ok-{i}": (TAGS, {k: "v"}, []) for i, k in enumerate(GOOD_KEYS)},
    **{f"map-key-bad-{i}": (TAGS, {k: "v"}, [(f"/p/{k}", MK)]) for i, k in enumerate(BAD_KEYS)},
    "int-enum": (INT_ENUM, 7, []),
    "int-enum-zero": (INT_ENUM, 0, []),
    "int-enum-other": (INT_ENUM, 2, [("/p", NE)]),
    "int-enum-bool": (INT_ENUM, True, [("/p", W)]),
    "int-enum-string": (INT_ENUM, "1", [("/p", W)]),
    "int-enum-float": (INT_ENUM, 1.0, [("/p", W)]),
    "enum-value": (LABELLED, "HIGH", []),
    "enum-label-is-not-a-value": (LABELLED, "highTemp", [("/p", NE)]),
    "unknown-schema": ("unknown", 1, [("/p", US)]),
    "unknown-element-schema": (ArraySchema("mystery"), [1], [("/p/0", US)]),
    **{f"non-json-{i}-{s}": (s, v, [("/p", W)]) for s in ("integer", "string")
       for i, v in enumerate([{"a": 1}, [1], object(), {1, 2}, b"x"])},
    "object-in-map-in-array": (NESTED, [{"n": {"x": 1, "when": "2024-01-01T00:00:00Z"}}, {}], []),
    "object-in-map-in-array-bad": (NESTED, [
        {"north": {"x": 1}},
        {"south": {"x": 2**31, "when": "yesterday", "extra": 1}, "bad-key": {}},
        "oops",
    ], [("/p/1/south/x", R), ("/p/1/south/when", F), ("/p/1/south/extra", UF),
        ("/p/1/bad-key", MK), ("/p/2", W)]),
    # geospatial (GeoJSON geometries)
    "point": ("point", {**P, "coordinates": [47.6, -122.1]}, []),
    "point-3d-bbox": ("point", {**P, "coordinates": [4.6, 2.1, 30.5], "bbox": [0, 0, 1, 1]}, []),
    "multiPoint": ("multiPoint", {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}, []),
    "lineString": ("lineString", {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}, []),
    "multiLineString": ("multiLineString",
        {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]]]}, []),
    "polygon": ("polygon", {"type": "Polygon", "coordinates": [SQUARE]}, []),
    "multiPolygon": ("multiPolygon",
        {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE, SQUARE]]}, []),
    "point-array": ("point", [47.6, -122.1], [("/p", W)]),
    "point-type": ("point", {"type": "Polygon", "coordinates": [1, 2]}, [("/p/type", G)]),
    "point-no-coordinates": ("point", P, [("/p/coordinates", "MISSING_FIELD")]),
    "point-no-type": ("point", {"coordinates": [1, 2]}, [("/p/type", "MISSING_FIELD")]),
    "point-1d": ("point", {**P, "coordinates": [1]}, [("/p/coordinates", G)]),
    "point-string": ("point", {**P, "coordinates": [1, "2"]}, [("/p/coordinates/1", W)]),
    "point-bool": ("point", {**P, "coordinates": [1, True]}, [("/p/coordinates/1", W)]),
    "point-member": ("point", {**P, "coordinates": [1, 2], "srid": 1}, [("/p/srid", UF)]),
    "point-bbox": ("point", {**P, "coordinates": [1, 2], "bbox": [1]}, [("/p/bbox", G)]),
    "line-short": ("lineString", {"type": "LineString", "coordinates": [[1, 2]]},
        [("/p/coordinates", G)]),
    "multi-line-position": ("multiLineString",
        {"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]], [[1, 2], [3]]]},
        [("/p/coordinates/1/1", G)]),
    "polygon-open": ("polygon",
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 2]]]},
        [("/p/coordinates/0", G)]),
    "polygon-short": ("polygon", {"type": "Polygon", "coordinates": [SQUARE[:3]]},
        [("/p/coordinates/0", G)]),
    "multi-polygon-position": ("multiPolygon",
        {"type": "MultiPolygon", "coordinates": [[SQUARE], [[[0, 0], "x", [1, 1], [0, 0]]]]},
        [("/p/coordinates/1/0/1", W)]),
}
# fmt: on
READING_DOC = {"@type": "Object", "fields": [{"name": "level", "schema": "integer"}]}
ZONES_DOC = {"@type": "Map", "mapKey": {"name": "zone", "schema": "string"},
             "mapValue": {"name": "reading", "schema": READING_DOC}}  # fmt: skip
NESTED_DOC = doc("dtmi:ex:Nested;1", prop("zones", {"@type": "Array", "elementSchema": ZONES_DOC}))


class TestValues:
    @pytest.mark.parametrize("case", VALUE_CASES)
    def test_value(self, case: str) -> None:
        schema, value, expected = VALUE_CASES[case]
        assert value_of(schema, value) == expected

    def test_inline_v3_document_with_nested_schemas(self) -> None:
        nested = inline(NESTED_DOC)["dtmi:ex:Nested;1"]
        value = {"zones": [{"a": {"level": 1}}, {"b": {"level": "high"}}]}
        violations = check_twin(nested, value, {}, resolve=lambda _: None)
        assert found(violations) == [("/zones/1/b/level", W)]

    def test_geospatial_property_in_a_parsed_v3_model(self) -> None:
        geo = inline(doc("dtmi:ex:Geo;1", prop("site", "point")))["dtmi:ex:Geo;1"]
        good = {"site": {"type": "Point", "coordinates": [10.75, 59.91]}}
        assert check_twin(geo, good, {}, resolve=lambda _: None) == []
        bad = {"site": {"type": "Point", "coordinates": [10.75]}}
        violations = check_twin(geo, bad, {}, resolve=lambda _: None)
        assert found(violations) == [("/site/coordinates", G)]


# --- messages and components beyond the sample -----------------------------------------------
INTEGER = Interface("dtmi:ex:Int;1", 3, properties={"p": Property("p", "integer")})
LEAF = Interface("dtmi:ex:Leaf;1", 2, properties={"on": Property("on", "boolean")})
MID = Interface("dtmi:ex:Mid;1", 2, properties={"level": Property("level", "integer")},
                components={"leaf": Component("leaf", LEAF.id)})  # fmt: skip
OUTER = Interface("dtmi:ex:Outer;1", 2, components={"mid": Component("mid", MID.id)})
LOOP = Interface("dtmi:ex:Loop;1", 2, components={"again": Component("again", "dtmi:ex:Loop;1")})


class TestMessagesAndComponents:
    def test_messages_name_the_expected_type_and_stay_short(self) -> None:
        [long_text] = check_twin(INTEGER, {"p": "x" * 10_000}, {}, resolve=resolve)
        assert "32-bit signed integer" in long_text.message
        assert "2147483647" in long_text.message
        assert len(long_text.message) < 250
        [array] = check_twin(INTEGER, {"p": list(range(100_000))}, {}, resolve=resolve)
        assert array.message.endswith("got an array of 100000 items.")
        [huge] = check_twin(INTEGER, {"p": 10**5000}, {}, resolve=resolve)
        assert len(huge.message) < 200

    def test_messages_list_declared_names_and_allowed_values(self) -> None:
        [unknown] = check_twin(iface("Floor"), {"height": 3}, {}, resolve=resolve)
        assert "levelNumber" in unknown.message
        assert "externalId" in unknown.message  # inherited names are listed too
        [enum] = check_twin(iface("Building"), {"energyRating": "Z"}, {}, resolve=resolve)
        assert '"A", "B", "C", "D", "E", "F", "G"' in enum.message
        [component] = check_twin(iface("Room"), {}, {"bookable": True}, resolve=resolve)
        assert "Property" in component.message
        [relationship] = rel("VAVBox", "powers")
        for name in ("feeds", "serves", "hasPoint", "locatedIn"):
            assert name in relationship.message

    def test_codes_are_plain_strings(self) -> None:
        [violation] = check_twin(iface("Building"), {"x": 1}, {}, resolve=resolve)
        assert violation.code == "UNKNOWN_PROPERTY"
        assert isinstance(violation.code, str)
        assert all(code.value == code.name for code in ViolationCode)

    def test_unresolvable_component_model(self) -> None:
        violations = check_twin(iface("Room"), {}, {"thermostat": {}}, resolve=lambda _: None)
        assert found(violations) == [("/thermostat", "UNRESOLVED_MODEL")]
        assert f"{B}Thermostat;1" in violations[0].message

    def test_nested_components_are_checked_recursively(self) -> None:
        # DTDL v3 forbids a Component inside a component Interface, but v2 models may nest them.
        models = {i.id: i for i in (LEAF, MID, OUTER)}

        def check(components: dict[str, object]) -> Found:
            return found(check_twin(OUTER, {}, components, resolve=models.get))

        assert check({"mid": {"level": 1, "leaf": {"on": True}}}) == []
        assert check({"mid": {"level": 1, "leaf": {"on": "yes"}}}) == [("/mid/leaf/on", W)]
        assert check({"mid": {"leaf": 1}}) == [("/mid/leaf", "COMPONENT_NOT_OBJECT")]

    def test_self_nesting_component_stops_at_the_depth_limit(self) -> None:
        value: dict[str, object] = {}
        for _ in range(12):
            value = {"again": value}
        violations = check_twin(LOOP, {}, value, resolve=lambda _: LOOP)
        assert [v.code for v in violations] == ["UNRESOLVED_MODEL"]
        assert violations[0].path.count("/again") == 8


# --- relationships ----------------------------------------------------------------------------
T, M = "TARGET_MODEL_MISMATCH", "MULTIPLICITY_EXCEEDED"
FEEDS = {"since": "2021-06-01", "medium": "chilledWater"}
# fmt: off
REL_CASES: dict[str, tuple[str, str, str | None, dict[str, object], Found]] = {
    # (source, name, target, keyword arguments, expected)
    "unknown": ("VAVBox", "powers", None, {}, [("", "UNKNOWN_RELATIONSHIP")]),
    "property-name": ("Building", "name", None, {}, [("", "UNKNOWN_RELATIONSHIP")]),
    "target-exact": ("Campus", "hasPart", "Space", {}, []),
    "target-subtype": ("Campus", "hasPart", "Building", {}, []),  # Building extends Space
    "target-deep-subtype": ("Floor", "hasPart", "MeetingRoom", {}, []),  # -> Room -> Space
    "target-any-entity": ("AirHandlingUnit", "feeds", "VAVBox", {}, []),
    "target-building": ("DistrictPlant", "feeds", "Building", {}, []),
    "wrong-target": ("VAVBox", "serves", "AirHandlingUnit", {}, [("", T)]),
    "wrong-target-point": ("Room", "hasPoint", "Light", {}, [("", T)]),
    "wrong-target-meter": ("Meter", "subMeterOf", "Building", {}, [("", T)]),
    "remote-target": ("VAVBox", "serves", "AirHandlingUnit", {"remote": True}, []),
    "target-unknown": ("VAVBox", "serves", None, {}, []),
    "multiplicity-free": ("Floor", "isPartOf", "Building", {"existing": 0}, []),
    "multiplicity-full": ("Floor", "isPartOf", "Building", {"existing": 1}, [("", M)]),
    "multiplicity-unbounded": ("Campus", "hasPart", "Building", {"existing": 10_000}, []),
    "multiplicity-update": ("Floor", "isPartOf", "Building", {"existing": 1, "changed": []}, []),
    "properties": ("AirHandlingUnit", "feeds", "VAVBox", {"properties": FEEDS}, []),
    "properties-bad": ("AirHandlingUnit", "feeds", "VAVBox",
        {"properties": {"since": "2021-06-31", "medium": "steam", "cost": 3}},
        [("/properties/since", F), ("/properties/medium", NE), ("/properties/cost", UP)]),
    "properties-undeclared": ("Floor", "isPartOf", "Building",
        {"properties": {"since": "2021-01-01"}}, [("/properties/since", UP)]),
    "properties-writable-update": ("AirHandlingUnit", "feeds", "VAVBox",
        {"properties": FEEDS, "changed": ["since", "medium"]}, []),
    "all-problems": ("Floor", "isPartOf", "Light", {"existing": 1, "properties": {"x": 1}},
        [("", T), ("", M), ("/properties/x", UP)]),
}
# fmt: on


PIPE = doc("dtmi:ex:Pipe;1", {
    "@type": "Relationship", "name": "drains",
    "properties": [prop("installed", "date"), prop("flow", "double", writable=True)],
})  # fmt: skip


class TestRelationships:
    @pytest.mark.parametrize("case", REL_CASES)
    def test_relationship(self, case: str) -> None:
        source, name, target, kwargs, expected = REL_CASES[case]
        assert found(rel(source, name, target, **kwargs)) == expected

    def test_relationship_without_declared_target_accepts_any_twin(self) -> None:
        mixed = inline(MIXED, PART)
        assert rel(mixed["dtmi:ex:Mixed;1"], "near", mixed["dtmi:ex:Part;1"]) == []

    def test_relationship_property_writability(self) -> None:
        pipe = inline(PIPE)["dtmi:ex:Pipe;1"]

        def check(properties: dict[str, object], changed: list[str] | None) -> Found:
            return found(rel(pipe, "drains", properties=properties, existing=3, changed=changed))

        assert check({"installed": "2020-01-01", "flow": 2.5}, None) == []  # creation
        assert check({"installed": "2020-01-01", "flow": 2.5}, ["flow"]) == []
        installed = [("/properties/installed", N)]
        assert check({"installed": "2020-01-02"}, ["installed", "installed"]) == installed
        assert check({}, ["installed"]) == installed  # removal is a change
        assert check({}, ["unknown"]) == []


# --- property-based ---------------------------------------------------------------------------
_KEY = re.compile(r"[a-zA-Z](?:[a-zA-Z0-9_]{0,20}[a-zA-Z0-9])?")
OFFSETS = st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m)))
N5 = st.integers(0, 10_000)
DURATIONS = st.tuples(N5, N5, N5, N5, N5, st.floats(0, 59.999)).map(
    lambda p: f"P{p[0]}Y{p[1]}M{p[2]}DT{p[3]}H{p[4]}M{p[5]:.3f}S"
)


def _iso(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[object]:
    return strategy.map(lambda v: v.isoformat().replace("+00:00", "Z"))


# fmt: off
PRIMITIVE_VALUES: dict[str, Callable[[], st.SearchStrategy[object]]] = {
    "boolean": st.booleans, "string": st.text,
    "integer": lambda: st.integers(-(2**31), 2**31 - 1),
    "long": lambda: st.integers(-(2**63), 2**63 - 1),
    "unsignedLong": lambda: st.integers(0, 2**64 - 1),
    "double": lambda: st.floats(-1e308, 1e308) | st.integers(-(2**60), 2**60),
    "float": lambda: st.floats(width=32, allow_nan=False, allow_infinity=False),
    "decimal": lambda: st.decimals(-(10**9), 10**9, places=3).map(lambda d: format(d, "f")),
    "date": lambda: _iso(st.dates()),
    "dateTime": lambda: _iso(st.datetimes(timezones=OFFSETS | st.just(UTC))),
    "time": lambda: _iso(st.times(timezones=st.none() | OFFSETS)),
    "duration": lambda: DURATIONS,
    "uuid": lambda: st.uuids().map(str),
    "bytes": lambda: st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
}
# fmt: on


def valid_values(schema: Schema) -> st.SearchStrategy[object]:
    """Values that are valid for ``schema`` by construction."""
    if isinstance(schema, str):
        return PRIMITIVE_VALUES[schema]()
    if isinstance(schema, EnumSchema):
        return st.sampled_from([v.enum_value for v in schema.enum_values])
    if isinstance(schema, ObjectSchema):
        optional = {f.name: valid_values(f.schema) for f in schema.fields}
        return st.fixed_dictionaries({}, optional=optional)
    if isinstance(schema, MapSchema):
        keys = st.from_regex(_KEY, fullmatch=True)
        return st.dictionaries(keys, valid_values(schema.map_value.schema), max_size=4)
    return st.lists(valid_values(schema.element_schema), max_size=4)


def documents(interface: Interface) -> st.SearchStrategy[dict[str, object]]:
    optional = {name: valid_values(p.schema) for name, p in interface.properties.items()}
    return st.fixed_dictionaries({}, optional=optional)


SAMPLE_NAMES = sorted(dtmi.split(":")[-1].split(";")[0] for dtmi in SAMPLE.interfaces)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JSON = st.recursive(
    SCALARS, lambda i: st.lists(i, max_size=3) | st.dictionaries(st.text(max_size=5), i, max_size=3)
)


def _resolves(document: object, path: str) -> bool:
    """Whether the JSON pointer ``path`` resolves inside ``document``."""
    node = document
    for raw in path.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


class TestGenerated:
    @pytest.mark.parametrize("name", SAMPLE_NAMES)
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_generated_valid_twins_pass(self, name: str, data: st.DataObject) -> None:
        interface = iface(name)
        properties = data.draw(documents(interface))
        components = {}
        for component_name, component in interface.components.items():
            inner = resolve(component.schema)
            assert inner is not None
            components[component_name] = data.draw(documents(inner))
        assert check_twin(interface, properties, components, resolve=resolve) == []

    @settings(max_examples=200, deadline=None)
    @given(schema=st.sampled_from(sorted(PRIMITIVE_VALUES)), data=st.data())
    def test_generated_primitive_values_pass(self, schema: str, data: st.DataObject) -> None:
        assert value_of(schema, data.draw(PRIMITIVE_VALUES[schema]())) == []

    @settings(max_examples=300, deadline=None)
    @given(value=st.integers() | st.booleans() | st.floats(allow_nan=False))
    def test_integer_accepts_exactly_32_bit_ints(self, value: object) -> None:
        in_range = type(value) is int and -(2**31) <= value <= 2**31 - 1
        assert (value_of("integer", value) == []) == in_range

    @pytest.mark.parametrize("name", ["Building", "Campus", "Asset", "Point"])
    @settings(max_examples=60, deadline=None)
    @given(data=st.data())
    def test_arbitrary_json_is_reported_safely(self, name: str, data: st.DataObject) -> None:
        interface = iface(name)
        keys = st.sampled_from(sorted(interface.properties)) | st.text(max_size=6)
        properties = data.draw(st.dictionaries(keys, JSON, max_size=4))
        for violation in check_twin(interface, properties, {}, resolve=resolve):
            assert violation.code in ViolationCode.__members__
            assert _resolves(properties, violation.path), violation
            assert len(violation.message) < 400
