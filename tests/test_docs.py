"""The README stays honest: every setting, error code and make target it should name, it does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twinmesh.config import Settings
from twinmesh.errors import ERROR_TABLE

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
MAKE_TARGETS = re.findall(r"^([a-z0-9-]+):.*## ", (ROOT / "Makefile").read_text(), re.MULTILINE)


@pytest.mark.parametrize("setting", sorted(Settings.model_fields))
def test_every_setting_is_documented(setting: str) -> None:
    assert f"`TWINMESH_{setting.upper()}`" in README


@pytest.mark.parametrize("code", sorted(ERROR_TABLE))
def test_every_error_code_is_documented(code: str) -> None:
    row = re.search(rf"^\| `{code}` \| (\d+) \|", README, re.MULTILINE)
    assert row is not None
    assert int(row.group(1)) == ERROR_TABLE[code].http_status


@pytest.mark.parametrize("target", ["serve", "test", "neo4j"])
def test_key_make_targets_exist_and_are_documented(target: str) -> None:
    assert target in MAKE_TARGETS
    assert f"make {target}" in README
