"""The seeded campus generator: deterministic, the documented size, and typed by ontology/.

The ontology is read straight from its JSON files (no dependency on twinmesh.ontology), so these
tests check the generator against what the files declare, including inherited contents.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from twinmesh.devtools.campus import SCALES, Campus, generate_campus, iter_scale

REPO = Path(__file__).resolve().parents[2]

ONTOLOGY = REPO / "ontology"
Interface = dict[str, Any]
Declared = tuple[dict[str, Any], Interface]  # a content element and the interface declaring it

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
DURATION = re.compile(
    r"^P(?!$)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?!$)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$"
)


# ---------------------------------------------------------------- reading the ontology


@cache
def interfaces() -> dict[str, Interface]:
    found: dict[str, Interface] = {}
    for path in sorted(ONTOLOGY.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["@type"] == "Interface", path
        assert document["@id"] not in found, f"duplicate {document['@id']}"
        found[document["@id"]] = document
    return found


def parents(dtmi: str) -> list[str]:
    extends = interfaces()[dtmi].get("extends", [])
    return [extends] if isinstance(extends, str) else list(extends)


@cache
def lineage(dtmi: str) -> tuple[str, ...]:
    """The interface and all its ancestors, nearest first."""
    seen: list[str] = [dtmi]
    for parent in parents(dtmi):
        seen.extend(a for a in lineage(parent) if a not in seen)
    return tuple(seen)


def contents(dtmi: str) -> dict[str, Declared]:
    """Every content element by name, including inherited ones (names are unique in DTDL)."""
    declared: dict[str, Declared] = {}
    for ancestor in lineage(dtmi):
        interface = interfaces()[ancestor]
        for element in interface.get("contents", []):
            assert element["name"] not in declared, f"{dtmi}: {element['name']} declared twice"
            declared[element["name"]] = (element, interface)
    return declared


def kind(element: dict[str, Any]) -> str:
    types = element["@type"]
    return types if isinstance(types, str) else types[0]


def conforms(value: object, schema: str | dict[str, Any], interface: Interface) -> bool:
    """Whether a JSON value fits a DTDL schema (primitive, interface schema or inline complex)."""
    if isinstance(schema, str):
        primitive = {
            "string": lambda v: isinstance(v, str),
            "boolean": lambda v: isinstance(v, bool),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "date": lambda v: isinstance(v, str) and bool(date.fromisoformat(v)),
            "dateTime": lambda v: isinstance(v, str) and bool(DATE_TIME.match(v)),
            "duration": lambda v: isinstance(v, str) and bool(DURATION.match(v)),
        }
        if schema in primitive:
            return primitive[schema](value)
        (complex_schema,) = [s for s in interface.get("schemas", []) if s["@id"] == schema]
        return conforms(value, complex_schema, interface)
    if schema["@type"] == "Enum":
        return value in {v["enumValue"] for v in schema["enumValues"]}
    if schema["@type"] == "Object":
        fields = {f["name"]: f["schema"] for f in schema["fields"]}
        return isinstance(value, dict) and all(
            k in fields and conforms(v, fields[k], interface) for k, v in value.items()
        )
    if schema["@type"] == "Map":
        value_schema = schema["mapValue"]["schema"]
        return isinstance(value, dict) and all(
            isinstance(k, str) and conforms(v, value_schema, interface) for k, v in value.items()
        )
    if schema["@type"] == "Array":
        return isinstance(value, list) and all(
            conforms(v, schema["elementSchema"], interface) for v in value
        )
    raise AssertionError(f"unexpected schema {schema!r}")


def assert_properties_declared(
    where: str, properties: dict[str, Any], declared: dict[str, Declared]
) -> None:
    for name, value in properties.items():
        assert name in declared, f"{where}: property {name!r} is not declared"
        element, interface = declared[name]
        assert kind(element) == "Property", f"{where}: {name!r} is a {kind(element)}"
        assert conforms(value, element["schema"], interface), f"{where}: {name}={value!r}"


# ---------------------------------------------------------------- generated data


@cache
def scale_s() -> tuple[Campus, ...]:
    return tuple(campus for _, campus in iter_scale("S", seed=7))


def small(seed: int, tenant: str = "acme") -> Campus:
    return generate_campus(tenant, buildings=2, floors=2, rooms=3, seed=seed)


def expected_counts(buildings: int, floors: int, rooms: int) -> tuple[int, int]:
    """Twins and relationships of one campus, from the structure of PERFORMANCE.md."""
    n_floors = buildings * floors
    n_rooms = n_floors * rooms
    # per room: room, VAV + 2 points, light, 3 sensors; per floor: floor, AHU + 2 points, meter
    twins = 1 + buildings + n_floors * (1 + 3 + 1) + n_rooms * (1 + 3 + 1 + 3)
    # per building: campus hasPart; per floor: hasPart, 2 isLocationOf, 2 hasPoint, serves,
    # isMeterOf; per room: hasPart, 2 isLocationOf, 3 + 2 hasPoint, feeds, serves
    relationships = buildings + n_floors * 7 + n_rooms * 10
    return twins, relationships


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_campus() -> None:
    assert small(seed=1) == small(seed=1)


def test_different_seed_changes_values_not_structure() -> None:
    first, second = small(seed=1), small(seed=2)
    # the room kind (Office, MeetingRoom, Restroom) is drawn from the seed; ids never are
    assert [t.id for t in first.twins] == [t.id for t in second.twins]
    assert [r.id for r in first.relationships] == [r.id for r in second.relationships]
    changed = sum(
        a.properties != b.properties for a, b in zip(first.twins, second.twins, strict=True)
    )
    assert changed == len(first.twins)


def test_tenants_of_one_scale_get_different_values() -> None:
    first, second = scale_s()[:2]
    assert first.tenant != second.tenant
    assert first.twins[0].properties != second.twins[0].properties


# ---------------------------------------------------------------- size


@pytest.mark.parametrize(
    ("scale", "total_twins", "total_relationships"),
    [("S", 9_920, 12_435), ("M", 99_070, 124_260)],
)
def test_counts_per_scale_follow_the_structure(
    scale: str, total_twins: int, total_relationships: int
) -> None:
    tenants, buildings, floors, rooms = SCALES[scale]
    per_twins, per_relationships = expected_counts(buildings, floors, rooms)
    assert (tenants * per_twins, tenants * per_relationships) == (
        total_twins,
        total_relationships,
    )
    seen_tenants: list[str] = []
    for tenant, campus in iter_scale(scale, seed=3):
        seen_tenants.append(tenant)
        assert campus.tenant == tenant
        assert (len(campus.twins), len(campus.relationships)) == (per_twins, per_relationships)
    assert len(set(seen_tenants)) == tenants


def test_scales_are_the_documented_ones() -> None:
    assert SCALES == {"S": (5, 3, 4, 20), "M": (10, 6, 10, 20), "L": (40, 15, 10, 20)}


def test_twin_kinds_per_campus() -> None:
    buildings, floors, rooms = 2, 3, 4
    campus = generate_campus("acme", buildings=buildings, floors=floors, rooms=rooms, seed=5)
    models = Counter(t.model.removeprefix("dtmi:twinmesh:building:") for t in campus.twins)
    n_floors, n_rooms = buildings * floors, buildings * floors * rooms
    assert models["Campus;1"] == 1
    assert models["Building;1"] == buildings
    assert models["Floor;1"] == n_floors
    assert models["Office;1"] + models["MeetingRoom;1"] + models["Restroom;1"] == n_rooms
    assert models["AirHandlingUnit;1"] == models["ElectricityMeter;1"] == n_floors
    assert models["VAVBox;1"] == models["Light;1"] == n_rooms
    assert models["CO2Sensor;1"] == models["OccupancySensor;1"] == n_rooms
    assert models["TemperatureSensor;1"] == n_rooms + n_floors  # room sensor + AHU supply air
    assert models["AirflowSensor;1"] == models["TemperatureSetpoint;1"] == n_rooms
    assert models["PressureSetpoint;1"] == n_floors
    names = Counter(r.name for r in campus.relationships)
    assert names == {
        "hasPart": buildings + n_floors + n_rooms,
        "isLocationOf": 2 * n_floors + 2 * n_rooms,
        "hasPoint": 2 * n_floors + 5 * n_rooms,
        "feeds": n_rooms,
        "serves": n_floors + n_rooms,
        "isMeterOf": n_floors,
    }


def test_stable_readable_ids() -> None:
    ids = {t.id for t in small(seed=9).twins}
    assert {"campus", "b1", "b1-f2", "b1-f2-r3", "b1-f2-r3-vav", "b2-f1-ahu"} <= ids
    assert {"b1-f2-r3-light", "b1-f2-r3-temp", "b1-f2-r3-co2", "b1-f2-r3-occ", "b2-f1-meter"} <= ids


@pytest.mark.parametrize(("buildings", "floors", "rooms"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_empty_structure_is_rejected(buildings: int, floors: int, rooms: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_campus("acme", buildings=buildings, floors=floors, rooms=rooms, seed=1)


def test_unknown_scale_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scale"):
        next(iter_scale("XL", seed=1))


def test_average_twin_is_about_twelve_properties_and_350_bytes() -> None:
    twins = [t for campus in scale_s() for t in campus.twins]
    sizes = [len(json.dumps(t.properties, separators=(",", ":"))) for t in twins]
    counts = [len(t.properties) for t in twins]
    assert 250 <= sum(sizes) / len(sizes) <= 450
    assert 10 <= sum(counts) / len(counts) <= 14
    assert min(counts) >= 10


# ---------------------------------------------------------------- graph integrity


def test_ids_are_unique_and_every_edge_resolves() -> None:
    for campus in scale_s():
        twin_ids = [t.id for t in campus.twins]
        assert len(twin_ids) == len(set(twin_ids)), campus.tenant
        relationship_ids = [r.id for r in campus.relationships]
        assert len(relationship_ids) == len(set(relationship_ids)), campus.tenant
        known = set(twin_ids)
        for rel in campus.relationships:
            assert rel.source_id in known, rel
            assert rel.target_id in known, rel
            assert rel.source_id != rel.target_id, rel


def test_every_relationship_is_declared_with_a_compatible_target() -> None:
    campus = scale_s()[0]
    model_of = {t.id: t.model for t in campus.twins}
    for rel in campus.relationships:
        source_model = model_of[rel.source_id]
        declared = contents(source_model)
        assert rel.name in declared, f"{source_model} declares no {rel.name!r}"
        element, interface = declared[rel.name]
        assert kind(element) == "Relationship", f"{source_model}.{rel.name}"
        if "target" in element:
            assert element["target"] in lineage(model_of[rel.target_id]), rel
        rel_properties = {p["name"]: (p, interface) for p in element.get("properties", [])}
        assert_properties_declared(f"{rel.id}", rel.properties, rel_properties)


def test_maximum_multiplicity_is_respected() -> None:
    campus = scale_s()[0]
    model_of = {t.id: t.model for t in campus.twins}
    per_source = Counter((r.source_id, r.name) for r in campus.relationships)
    for (source, name), count in per_source.items():
        element, _ = contents(model_of[source])[name]
        assert count <= element.get("maxMultiplicity", count), (source, name)


def test_every_twin_uses_an_ontology_model_and_declared_properties() -> None:
    for campus in scale_s():
        for twin in campus.twins:
            assert twin.model in interfaces(), twin.model
            assert_properties_declared(twin.id, twin.properties, contents(twin.model))


def test_every_component_is_declared_and_typed() -> None:
    campus = scale_s()[0]
    with_components = [t for t in campus.twins if t.components]
    assert with_components, "rooms and equipment carry components"
    for twin in campus.twins:
        declared = contents(twin.model)
        expected = {n for n, (e, _) in declared.items() if kind(e) == "Component"}
        assert set(twin.components) == expected, twin.id
        for name, bag in twin.components.items():
            schema = declared[name][0]["schema"]
            assert_properties_declared(f"{twin.id}/{name}", bag, contents(schema))


def test_as_dict_matches_the_graphql_input_shapes() -> None:
    campus = small(seed=4)
    twin, rel = campus.twins[-1], campus.relationships[-1]
    assert set(twin.as_dict()) == {"id", "model", "properties", "components"}
    assert rel.as_dict()["sourceId"] == rel.source_id
    assert set(rel.as_dict()) == {"sourceId", "id", "name", "targetId", "properties"}
    json.dumps([t.as_dict() for t in campus.twins])  # JSON-serialisable as is
