"""Fixtures for the policy tests: the repository's policies, the sample ontology, principals."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from policy.support import POLICIES
from twinmesh.demo import sample_ontology_dir
from twinmesh.ontology import Interface, load_paths, parse_model_set
from twinmesh.policy import PolicyEngine, PolicyStore, ResourceRef


@pytest.fixture(scope="session")
def interfaces() -> dict[str, Interface]:
    model_set = parse_model_set(load_paths([sample_ontology_dir()]))
    assert model_set.valid
    return model_set.interfaces


@pytest.fixture(scope="session")
def family(interfaces: dict[str, Interface]) -> Callable[[str], tuple[str, ...]]:
    def family(root: str) -> tuple[str, ...]:
        return tuple(
            sorted(i.id for i in interfaces.values() if i.id == root or root in i.ancestors)
        )

    return family


@pytest.fixture(scope="session")
def twin(interfaces: dict[str, Interface]) -> Callable[[str, str], ResourceRef]:
    def make(twin_id: str, model: str) -> ResourceRef:
        return ResourceRef.twin(twin_id, model, interfaces[model].ancestors)

    return make


@pytest.fixture(scope="session")
def engine() -> PolicyEngine:
    return PolicyEngine(PolicyStore.from_directory(POLICIES))


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A writable copy of the repository's policies directory."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target
