"""``twinmesh keys generate|rotate|show``: the organisation keyring from the command line."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinmesh.cli.main import app
from twinmesh.identity import KEYRING_FILE, Keyring

runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # rich tables wrap at 80 columns when not on a terminal
TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


def keys(*args: str) -> list[str]:
    return ["keys", *args]


def test_generate_creates_a_private_keyring_and_prints_the_key(tmp_path: Path) -> None:
    result = runner.invoke(app, keys("generate", "--data-dir", str(tmp_path / "data")))
    assert result.exit_code == 0, result.output
    path = tmp_path / "data" / KEYRING_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (key,) = Keyring.load(path).keys
    assert key.kid in result.stdout
    assert key.not_after - key.not_before == timedelta(days=90)
    jwk = key.public_jwk()
    assert f"valid {jwk['notBefore']} to {jwk['notAfter']}" in result.stdout


def test_generate_validity_days_and_file_option(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "keys.json"
    result = runner.invoke(
        app,
        keys("generate", "--file", str(path), "--validity-days", "30",
             "--data-dir", str(tmp_path / "unused")),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (key,) = Keyring.load(path).keys
    assert key.not_after - key.not_before == timedelta(days=30)
    assert not (tmp_path / "unused").exists()


def test_generate_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    assert runner.invoke(app, keys("generate", "--data-dir", str(tmp_path))).exit_code == 0
    path = tmp_path / KEYRING_FILE
    original = Keyring.load(path).keys[0].kid

    refused = runner.invoke(app, keys("generate", "--data-dir", str(tmp_path)))
    assert refused.exit_code == 1
    assert "already exists" in refused.stderr
    assert "keys rotate" in refused.stderr
    assert refused.stdout == ""
    assert Keyring.load(path).keys[0].kid == original

    forced = runner.invoke(app, keys("generate", "--data-dir", str(tmp_path), "--force"))
    assert forced.exit_code == 0, forced.output
    (replacement,) = Keyring.load(path).keys
    assert replacement.kid != original
    assert replacement.kid in forced.stdout


def test_generate_into_an_unwritable_place_exits_2(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "data"
    not_a_directory.write_text("")
    result = runner.invoke(app, keys("generate", "--data-dir", str(not_a_directory)))
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: cannot write {not_a_directory / KEYRING_FILE}: Not a directory\n"
    )


@pytest.mark.parametrize("days", ["0", "367", "-5", "ninety"])
def test_generate_refuses_a_validity_outside_1_to_366_days(tmp_path: Path, days: str) -> None:
    result = runner.invoke(
        app, keys("generate", "--data-dir", str(tmp_path), "--validity-days", days)
    )
    assert result.exit_code == 2
    assert "--validity-days" in result.stderr
    assert not (tmp_path / KEYRING_FILE).exists()


def test_data_dir_defaults_to_the_data_dir_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINMESH_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.delenv("TWINMESH_CONFIG", raising=False)
    assert runner.invoke(app, keys("generate")).exit_code == 0
    assert (tmp_path / "from-env" / KEYRING_FILE).is_file()
    result = runner.invoke(app, keys("show", "--public"))
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["keys"]) == 1


def test_rotate_adds_a_key_and_ends_the_old_one_after_the_overlap(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    Keyring.generate(now=datetime.now(UTC) - timedelta(days=30)).save(path)
    (old,) = Keyring.load(path).keys
    signature = old.sign(b"checkpoint")

    start = datetime.now(UTC).replace(microsecond=0)
    result = runner.invoke(
        app,
        keys("rotate", "--file", str(path), "--validity-days", "60", "--overlap-days", "3"),
    )
    end = datetime.now(UTC)
    assert result.exit_code == 0, result.output

    rotated = Keyring.load(path)
    new = rotated.signing_key()
    shortened = rotated.find(old.kid)
    assert shortened is not None
    assert new.kid != old.kid
    assert new.not_after - new.not_before == timedelta(days=60)
    assert start + timedelta(days=3) <= shortened.not_after <= end + timedelta(days=3)
    assert shortened.verify(signature, b"checkpoint")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    new_end = shortened.public_jwk()["notAfter"]
    assert f"New signing key {new.kid}" in result.stdout
    assert f"Older key {old.kid} now ends {new_end} (was {old.public_jwk()['notAfter']})" in (
        result.stdout
    )


def test_rotate_reports_keys_that_already_end_within_the_overlap(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    Keyring.generate(timedelta(days=2)).save(path)
    (old,) = Keyring.load(path).keys
    result = runner.invoke(app, keys("rotate", "--file", str(path)))
    assert result.exit_code == 0, result.output
    assert f"Older key {old.kid} now ends {old.public_jwk()['notAfter']} (unchanged)" in (
        result.stdout
    )


def test_rotate_without_a_keyring_points_to_generate(tmp_path: Path) -> None:
    result = runner.invoke(app, keys("rotate", "--data-dir", str(tmp_path)))
    assert result.exit_code == 2
    assert "twinmesh keys generate" in result.stderr
    assert not (tmp_path / KEYRING_FILE).exists()


def test_show_lists_every_key_with_its_status(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    now = datetime.now(UTC)
    keyring = (
        Keyring.generate(timedelta(days=1), now=now - timedelta(days=10))
        .rotated(now=now - timedelta(days=5))
        .rotated(now=now - timedelta(days=1))
    )
    keyring.save(path)
    expired, valid, active = keyring.keys

    result = runner.invoke(app, keys("show", "--file", str(path)), env=WIDE)
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert re.search(rf"{TIME} .* {TIME} .* yes .* active", rows[active.kid])
    assert re.search(r"yes .* valid", rows[valid.kid])
    assert re.search(r"yes .* expired", rows[expired.kid])
    kids_in_order = [kid for kid in rows if kid != "kid"]
    assert kids_in_order == [active.kid, valid.kid, expired.kid]  # newest first


def test_show_folds_rather_than_crops_on_a_narrow_terminal(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    Keyring.generate().save(path)
    result = runner.invoke(app, keys("show", "--file", str(path)), env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    first_column = [line.split("│")[1].strip() for line in result.stdout.splitlines()[3:-1]]
    assert "".join(first_column) == Keyring.load(path).keys[0].kid


def test_show_says_when_no_key_can_sign(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    Keyring.generate(timedelta(days=1), now=datetime.now(UTC) - timedelta(days=3)).save(path)
    result = runner.invoke(app, keys("show", "--file", str(path)), env=WIDE)
    assert result.exit_code == 0, result.output
    assert "expired" in result.stdout
    assert "No valid signing key" in result.stdout


def test_show_public_prints_the_public_document(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    Keyring.generate().rotated().save(path)
    result = runner.invoke(app, keys("show", "--file", str(path), "--public"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == Keyring.load(path).public_document()
    assert len(document["keys"]) == 2
    assert all("d" not in jwk for jwk in document["keys"])
    assert [k.kid for k in Keyring.from_public_document(document).keys] == [
        k.kid for k in Keyring.load(path).keys
    ]


@pytest.mark.parametrize("command", [["show"], ["show", "--public"], ["rotate"]])
@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"{not json", 0o600, "invalid JSON"),
        (b'{"format": "twinmesh-keyring/1", "keys": [{"kty": "RSA"}]}', 0o600, "key #1"),
        (b"", 0o644, "chmod 600"),
    ],
    ids=["corrupted", "wrong-key-type", "too-open"],
)
def test_an_unusable_keyring_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, command: list[str], content: bytes, mode: int, message: str
) -> None:
    path = tmp_path / KEYRING_FILE
    path.write_bytes(content)
    path.chmod(mode)
    result = runner.invoke(app, keys(*command, "--file", str(path)))
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.output
    assert path.read_bytes() == content  # rotate did not touch it
