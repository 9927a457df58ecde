"""The generated rule tables must match the official metamodel files they are derived from."""

from __future__ import annotations

from pathlib import Path

import metamodel_gen

from twinmesh.ontology import _metamodel_data


def test_generated_tables_are_fresh(shared_dtdl: Path) -> None:
    assert shared_dtdl.is_dir()
    for name, expected in metamodel_gen.tables().items():
        actual = getattr(_metamodel_data, name)
        assert actual == expected, f"{name} is stale; run: python tests/ontology/metamodel_gen.py"


def test_tables_cover_core_classes() -> None:
    for version in (2, 3):
        for name in ("Interface", "Property", "Telemetry", "Relationship", "Component", "Command"):
            assert f"dtmi:dtdl:class:{name};{version}" in _metamodel_data.CLASSES
    assert _metamodel_data.GLOBALS[3]["partition_max_bytes"] == 1048576
    assert _metamodel_data.LIMITS["Interface:3:extends"]["maxDepth"] == 10
