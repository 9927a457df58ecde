"""``twinmesh token issue``: only the token on stdout, so ``$(twinmesh token issue ...)`` works."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from twinmesh.auth import DevIssuer, TokenVerifier
from twinmesh.auth.compact import parse_compact
from twinmesh.cli.token_cmd import parse_ttl, token_app

# main.py wires token_app itself; the tests mount it the same way on a bare app.
app = typer.Typer()
app.add_typer(token_app, name="token")
runner = CliRunner()


async def test_issue_prints_only_a_token_that_the_server_verifies(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["token", "issue", "--tenant", "demo", "--subject", "ada", "--role", "operator",
         "--role", "viewer", "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert token.count(".") == 2
    issuer = DevIssuer.load_or_create(tmp_path)
    async with TokenVerifier([issuer.issuer_config()]) as verifier:
        principal = await verifier.verify(token)
    assert principal.tenant == "demo"
    assert principal.subject == "ada"
    assert principal.roles == frozenset({"operator", "viewer"})


def test_ttl_option_sets_the_lifetime(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["token", "issue", "--tenant", "demo", "--subject", "ada", "--ttl", "30m",
         "--client-id", "console", "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    claims = parse_compact(result.stdout.strip()).claims
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["client_id"] == "console"


def test_data_dir_defaults_to_the_data_dir_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINMESH_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.delenv("TWINMESH_CONFIG", raising=False)
    result = runner.invoke(app, ["token", "issue", "--tenant", "demo", "--subject", "ada"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env" / "dev-issuer.jwk").is_file()


@pytest.mark.parametrize("tenant", ["Demo", "-x", "a_b", "a" * 64, ""])
def test_invalid_tenant_exits_2_with_a_message(tmp_path: Path, tenant: str) -> None:
    result = runner.invoke(
        app,
        ["token", "issue", "--tenant", tenant, "--subject", "ada", "--data-dir", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "tenant" in result.stderr
    assert not (tmp_path / "dev-issuer.jwk").exists()


@pytest.mark.parametrize("ttl", ["0", "8x", "-1h", "31d", "h"])
def test_invalid_ttl_exits_2(tmp_path: Path, ttl: str) -> None:
    result = runner.invoke(
        app,
        ["token", "issue", "--tenant", "demo", "--subject", "ada", "--ttl", ttl,
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "ttl" in result.stderr


def test_unusable_key_file_exits_2(tmp_path: Path) -> None:
    key = tmp_path / "dev-issuer.jwk"
    key.write_text("{}")
    key.chmod(0o644)
    result = runner.invoke(
        app, ["token", "issue", "--tenant", "demo", "--subject", "ada", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "dev-issuer.jwk" in result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("8h", 28800), ("7d", 604800)]
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text).total_seconds() == seconds
