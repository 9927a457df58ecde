"""``twinmesh ontology validate`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from twinmesh.cli.ontology_cmd import ontology_app

runner = CliRunner()

GOOD = {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:example:Room;1",
    "@type": "Interface",
    "contents": [{"@type": "Property", "name": "temperature", "schema": "double"}],
}


def _write(path: Path, content: object) -> Path:
    path.write_bytes(orjson.dumps(content))
    return path


def test_valid_folder_json_output(tmp_path: Path) -> None:
    _write(tmp_path / "room.json", GOOD)
    result = runner.invoke(ontology_app, ["validate", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload == {
        "valid": True,
        "complete": True,
        "interfaces": 1,
        "errors": [],
        "unresolved": [],
    }


def test_invalid_model_reports_error_and_exits_1(tmp_path: Path) -> None:
    bad = dict(GOOD, contents=[{"@type": "Property", "name": "1bad", "schema": "double"}])
    file = _write(tmp_path / "bad.json", bad)
    result = runner.invoke(ontology_app, ["validate", str(file), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    (error,) = payload["errors"]
    assert error["code"] == "VALUE_PATTERN"
    assert error["pointer"] == "/contents/0/name"
    assert error["file"] == str(file)
    assert set(error) == {"file", "pointer", "code", "message"}


def test_incomplete_model_exits_1_and_lists_unresolved(tmp_path: Path) -> None:
    _write(tmp_path / "child.json", dict(GOOD, extends="dtmi:example:Missing;1"))
    result = runner.invoke(ontology_app, ["validate", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["complete"] is False
    assert payload["unresolved"] == ["dtmi:example:Missing;1"]


def test_text_output_and_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    result = runner.invoke(ontology_app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "INVALID_JSON" in result.stdout
    assert "invalid" in result.stdout


def test_missing_path_is_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(ontology_app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_undefined_extension_flag(tmp_path: Path) -> None:
    doc = dict(GOOD, **{"@context": ["dtmi:dtdl:context;3", "dtmi:acme:context;1"]})
    _write(tmp_path / "ext.json", doc)
    strict = runner.invoke(ontology_app, ["validate", str(tmp_path), "--format", "json"])
    assert strict.exit_code == 1
    assert json.loads(strict.stdout)["errors"][0]["code"] == "UNDEFINED_EXTENSION"
    lenient = runner.invoke(
        ontology_app, ["validate", str(tmp_path), "--allow-undefined-extensions"]
    )
    assert lenient.exit_code == 0, lenient.stdout
