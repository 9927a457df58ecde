"""Settings precedence: overrides > environment > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twinmesh.config import load_settings


def test_defaults_serve_the_embedded_store_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWINMESH_CONFIG", raising=False)
    settings = load_settings()
    assert (settings.host, settings.port, settings.store) == ("127.0.0.1", 8080, "embedded")


def test_file_environment_and_overrides_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "twinmesh.toml"
    config.write_text('store = "neo4j"\nneo4j_uri = "bolt://file:1"\nport = 9000\n')
    monkeypatch.setenv("TWINMESH_NEO4J_URI", "bolt://env:2")
    monkeypatch.setenv("TWINMESH_NEO4J_PASSWORD", "s3cret")

    settings = load_settings(config, port=9100)

    assert settings.store == "neo4j"
    assert settings.neo4j_uri == "bolt://env:2"
    assert settings.port == 9100
    assert settings.neo4j_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "twinmesh.toml"
    config.write_text('data_dir = "/var/lib/twinmesh"\n')
    monkeypatch.setenv("TWINMESH_CONFIG", str(config))
    assert load_settings().data_dir == Path("/var/lib/twinmesh")


def test_bad_values_and_unknown_keys_are_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINMESH_STORE", "postgres")
    with pytest.raises(ValidationError, match="store"):
        load_settings()
    monkeypatch.delenv("TWINMESH_STORE")
    config = tmp_path / "twinmesh.toml"
    config.write_text('stroe = "neo4j"\n')
    with pytest.raises(ValidationError, match="stroe"):
        load_settings(config)


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
