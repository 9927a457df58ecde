"""The three real ontologies in the shared folder each load as one clean model set."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinmesh.ontology import MapSchema, load_paths, parse_model_set

ONTOLOGIES = {
    "realestatecore": ("realestatecore/Ontology", 3, 767),
    "smartcities": ("smartcities", 2, 63),
    "energygrid": ("energygrid/Ontology", 2, 113),
}


@pytest.mark.parametrize("name", sorted(ONTOLOGIES))
def test_ontology_loads_without_errors(shared_dtdl: Path, name: str) -> None:
    folder, version, count = ONTOLOGIES[name]
    result = parse_model_set(load_paths([shared_dtdl / folder]))
    assert result.errors == []
    assert result.valid
    assert result.complete, result.unresolved
    assert len(result.interfaces) == count
    assert {i.dtdl_version for i in result.interfaces.values()} == {version}
    assert set(result.documents) == set(result.interfaces)


def test_realestatecore_flattened_view(shared_dtdl: Path) -> None:
    result = parse_model_set(load_paths([shared_dtdl / "realestatecore/Ontology"]))
    room = result.interfaces["dtmi:digitaltwins:rec_3_3:core:Room;1"]
    space = "dtmi:digitaltwins:rec_3_3:core:Space;1"
    assert room.extends == (space,)
    assert room.ancestors == (space,)
    assert room.properties["personCapacity"].schema == "integer"
    assert room.properties["personCapacity"].defined_in == space
    tags = room.properties["customTags"].schema
    assert isinstance(tags, MapSchema)
    assert (tags.map_key.schema, tags.map_value.schema) == ("string", "boolean")
    assert "isPartOf" in room.relationships
