"""The generated rule tables must match the official metamodel files they are derived from."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from twinmesh.ontology import _metamodel_data


def _load_generator() -> ModuleType:
    """The generator script sits beside this test; load it by path (importlib import mode)."""
    path = Path(__file__).with_name("metamodel_gen.py")
    spec = importlib.util.spec_from_file_location("metamodel_gen", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


metamodel_gen = _load_generator()


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
