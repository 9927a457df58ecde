"""``twinmesh audit export`` reads the store the settings name; its output verifies offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from twinmesh.audit.records import Actor, AuditEvent
from twinmesh.bootstrap import EMBEDDED_FILE
from twinmesh.cli.main import app
from twinmesh.domain import TenantId
from twinmesh.identity import KEYRING_FILE, load_or_create
from twinmesh.store.embedded import EmbeddedStore


async def seed(data_dir: Path, tenant: str, count: int) -> None:
    store = EmbeddedStore(data_dir / EMBEDDED_FILE)
    await store.open()
    try:
        events = [
            AuditEvent(tenant, Actor("user", "alice"), "updateTwin", "Twin", f"t{i}")
            for i in range(count)
        ]
        await store.append_audit(TenantId(tenant), events)
    finally:
        await store.close()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWINMESH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TWINMESH_CONFIG", raising=False)
    load_or_create(tmp_path / KEYRING_FILE)
    asyncio.run(seed(tmp_path, "acme", 7))
    asyncio.run(seed(tmp_path, "globex", 2))
    return tmp_path


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "ocsf"])
def test_an_export_written_by_the_cli_verifies(data_dir: Path, fmt: str) -> None:
    out = data_dir / f"acme.{fmt}"
    runner = CliRunner()
    result = runner.invoke(
        app, ["audit", "export", "--tenant", "acme", "--format", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "8 records of tenant acme" in result.output  # 7 seeded + the export itself
    assert "globex" not in out.read_text()
    verified = runner.invoke(app, ["audit", "verify", str(out)])
    assert verified.exit_code == 0, verified.output


def test_the_cli_export_is_recorded_and_goes_to_stdout(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "export", "--tenant", "globex"])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.strip().split("\n")]
    records = [doc for doc in lines if doc["type"] == "record"]
    assert records[-1]["action"] == "exportAudit"
    assert records[-1]["principal"]["type"] == "service"
    assert lines[-1]["type"] == "checkpoint"
    assert "export" in lines[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "--format must be"),
        (["--since", "yesterday"], "ISO 8601"),
        (["--until", "2026-01-01T00:00:00"], "time zone"),
    ],
)
def test_bad_options_are_clear_errors(data_dir: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["audit", "export", "--tenant", "acme", *args])
    assert result.exit_code == 2
    assert message in result.output
