"""The organisation keyring: Ed25519 keys with validity windows, rotation, the 0600 key file."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from twinmesh.identity import (
    DEFAULT_VALIDITY,
    KEYRING_FILE,
    MAX_VALIDITY,
    Keyring,
    KeyringError,
    OrgKey,
    load_or_create,
    public_key_from_jwk,
)
from twinmesh.identity import keyring as keyring_module

T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rfc7638_thumbprint(jwk: dict[str, Any]) -> str:
    """Computed by hand: SHA-256 of the required members, sorted, no whitespace (RFC 7638 §3)."""
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(canonical).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def rfc8037_key() -> OrgKey:
    """The Ed25519 key of RFC 8037 Appendix A.1."""
    seed = b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return OrgKey(
        kid="kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        public=private.public_key(),
        private=private,
        not_before=T0,
        not_after=T0 + DEFAULT_VALIDITY,
    )


# --- RFC 7638 / RFC 8037 ------------------------------------------------------------------


def test_rfc8037_a3_thumbprint_is_the_kid() -> None:
    key = rfc8037_key()  # OrgKey refuses a kid that is not the thumbprint
    assert key.public_jwk()["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert rfc7638_thumbprint(key.public_jwk()) == key.kid


def test_rfc8037_a4_signature() -> None:
    signing_input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    expected = b64url_decode(
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    )
    key = rfc8037_key()
    assert key.sign(signing_input) == expected
    assert key.verify(expected, signing_input)


def test_generated_kid_is_the_rfc7638_thumbprint_of_the_public_jwk() -> None:
    (key,) = Keyring.generate().keys
    jwk = key.public_jwk()
    assert key.kid == jwk["kid"] == rfc7638_thumbprint(jwk)
    assert len(b64url_decode(jwk["x"])) == 32


def test_org_key_refuses_a_kid_that_is_not_the_thumbprint() -> None:
    with pytest.raises(KeyringError, match="thumbprint"):
        dataclasses.replace(rfc8037_key(), kid="not-the-thumbprint")


def test_org_key_refuses_a_private_part_of_another_key() -> None:
    with pytest.raises(KeyringError, match="does not match"):
        dataclasses.replace(rfc8037_key(), private=Ed25519PrivateKey.generate())


# --- keys: windows, signatures, JWKs ------------------------------------------------------


def test_public_jwk_has_the_documented_members() -> None:
    (key,) = Keyring.generate(timedelta(days=30), now=T0).keys
    assert key.public_jwk() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": key.public_jwk()["x"],
        "kid": key.kid,
        "alg": "EdDSA",
        "use": "sig",
        "notBefore": "2026-11-22T10:00:00Z",
        "notAfter": "2026-12-22T10:00:00Z",
    }


def test_times_are_whole_seconds_so_the_jwk_round_trips_exactly() -> None:
    (key,) = Keyring.generate(now=T0 + timedelta(microseconds=999_999)).keys
    assert key.not_before == T0
    assert public_key_from_jwk(key.public_jwk()).not_before == key.not_before


def test_valid_at_includes_both_ends_of_the_window() -> None:
    (key,) = Keyring.generate(DAY, now=T0).keys
    assert key.valid_at(T0)
    assert key.valid_at(T0 + DAY)
    assert not key.valid_at(T0 - timedelta(seconds=1))
    assert not key.valid_at(T0 + DAY + timedelta(microseconds=1))


def test_sign_and_verify() -> None:
    key = Keyring.generate().signing_key()
    signature = key.sign(b"checkpoint 42")
    assert len(signature) == 64
    assert key.verify(signature, b"checkpoint 42")


@pytest.mark.parametrize(
    ("signature_change", "data"),
    [
        (lambda s: s, b"checkpoint 43"),
        (lambda s: s[:-1] + bytes([s[-1] ^ 1]), b"checkpoint 42"),
        (lambda s: s[:32], b"checkpoint 42"),
        (lambda s: b"", b"checkpoint 42"),
    ],
    ids=["tampered-data", "tampered-signature", "truncated-signature", "empty-signature"],
)
def test_verify_returns_false_for_anything_but_the_signature(
    signature_change: Callable[[bytes], bytes], data: bytes
) -> None:
    key = Keyring.generate().signing_key()
    signature = signature_change(key.sign(b"checkpoint 42"))
    assert key.verify(signature, data) is False


def test_another_key_does_not_verify() -> None:
    signature = Keyring.generate().signing_key().sign(b"data")
    assert not Keyring.generate().signing_key().verify(signature, b"data")


def test_a_public_only_key_verifies_but_cannot_sign() -> None:
    key = Keyring.generate().signing_key()
    public = public_key_from_jwk(key.public_jwk())
    assert public.private is None
    assert public.verify(key.sign(b"data"), b"data")
    with pytest.raises(KeyringError, match="no private part"):
        public.sign(b"data")


# --- validity and rotation ----------------------------------------------------------------


@pytest.mark.parametrize("validity", [timedelta(0), -DAY, MAX_VALIDITY + timedelta(seconds=1)])
def test_validity_outside_the_limits_is_refused(validity: timedelta, tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="validity"):
        Keyring.generate(validity)
    with pytest.raises(KeyringError, match="validity"):
        Keyring.generate().rotated(validity)
    with pytest.raises(KeyringError, match="validity"):
        load_or_create(tmp_path / KEYRING_FILE, validity=validity)
    assert not (tmp_path / KEYRING_FILE).exists()


def test_the_maximum_validity_is_allowed() -> None:
    (key,) = Keyring.generate(MAX_VALIDITY, now=T0).keys
    assert key.not_after - key.not_before == MAX_VALIDITY


def test_rotation_adds_a_key_and_shortens_the_old_one_to_the_overlap() -> None:
    original = Keyring.generate(now=T0)
    old = original.signing_key(T0)
    old_signature = old.sign(b"checkpoint before rotation")
    rotation = T0 + timedelta(days=30)

    rotated = original.rotated(timedelta(days=60), overlap=timedelta(days=7), now=rotation)

    assert original.keys == (old,)  # keyrings are immutable
    assert len(rotated.keys) == 2
    new = rotated.signing_key(rotation)
    assert new.kid != old.kid
    assert (new.not_before, new.not_after) == (rotation, rotation + timedelta(days=60))
    shortened = rotated.find(old.kid)
    assert shortened is not None
    assert shortened.not_before == T0
    assert shortened.not_after == rotation + timedelta(days=7)
    assert shortened.verify(old_signature, b"checkpoint before rotation")
    assert rotated.signing_key(rotation + timedelta(days=1)) == new
    assert [k.kid for k in rotated.keys] == [old.kid, new.kid]


def test_rotation_never_extends_a_key_that_ends_within_the_overlap() -> None:
    original = Keyring.generate(timedelta(days=10), now=T0)
    rotated = original.rotated(overlap=timedelta(days=7), now=T0 + timedelta(days=5))
    old = rotated.find(original.keys[0].kid)
    assert old is not None
    assert old.not_after == T0 + timedelta(days=10)


def test_rotation_keeps_every_key_including_expired_ones() -> None:
    keyring = Keyring.generate(DAY, now=T0)
    for day in (10, 20, 30):
        keyring = keyring.rotated(DAY, overlap=timedelta(0), now=T0 + day * DAY)
    assert len(keyring.keys) == 4
    assert [k.not_before for k in keyring.keys] == [T0 + d * DAY for d in (0, 10, 20, 30)]
    assert keyring.signing_key(T0 + 30 * DAY) == keyring.keys[-1]


def test_rotation_with_zero_overlap_ends_the_old_key_at_the_rotation() -> None:
    keyring = Keyring.generate(now=T0).rotated(overlap=timedelta(0), now=T0 + DAY)
    old, new = keyring.keys
    assert old.not_after == new.not_before == T0 + DAY


def test_rotation_refuses_a_negative_overlap() -> None:
    with pytest.raises(KeyringError, match="overlap"):
        Keyring.generate(now=T0).rotated(overlap=-DAY, now=T0 + DAY)


def test_rotation_refuses_to_start_before_the_newest_key() -> None:
    keyring = Keyring.generate(now=T0)
    with pytest.raises(KeyringError, match="clock"):
        keyring.rotated(now=T0 - DAY)


def test_signing_key_is_the_newest_valid_key_with_a_private_part() -> None:
    keyring = Keyring.generate(now=T0).rotated(now=T0 + DAY)
    old, new = keyring.keys
    assert keyring.signing_key(T0) == old  # before the new key's window
    assert keyring.signing_key(T0 + DAY) == new
    public_only = Keyring.from_public_document(keyring.public_document(T0))
    with pytest.raises(KeyringError, match="no valid signing key"):
        public_only.signing_key(T0 + DAY)


def test_signing_key_fails_when_every_key_has_expired() -> None:
    keyring = Keyring.generate(DAY, now=T0).rotated(DAY, now=T0 + DAY)
    with pytest.raises(KeyringError, match="no valid signing key; run `twinmesh keys rotate`"):
        keyring.signing_key(T0 + 3 * DAY)
    with pytest.raises(KeyringError, match="no valid signing key"):
        Keyring([]).signing_key()


def test_signing_key_and_public_document_default_to_now() -> None:
    current = Keyring.generate(now=datetime.now(UTC) - DAY)
    assert current.signing_key() == current.keys[0]
    assert len(current.public_document()["keys"]) == 1
    expired = Keyring.generate(DAY, now=datetime.now(UTC) - 3 * DAY)
    with pytest.raises(KeyringError):
        expired.signing_key()
    assert expired.public_document() == {"keys": []}


def test_naive_datetimes_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Keyring.generate(now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        Keyring.generate().signing_key(datetime(2026, 1, 1))


def test_find_and_duplicate_keys() -> None:
    keyring = Keyring.generate()
    (key,) = keyring.keys
    assert keyring.find(key.kid) == key
    assert keyring.find("unknown") is None
    with pytest.raises(KeyringError, match="twice"):
        Keyring([key, key])


# --- the public document ------------------------------------------------------------------


def test_public_document_lists_unexpired_keys_newest_first_without_private_parts() -> None:
    keyring = (
        Keyring.generate(DAY, now=T0)
        .rotated(overlap=timedelta(0), now=T0 + 10 * DAY)
        .rotated(overlap=timedelta(days=7), now=T0 + 20 * DAY)
    )
    first, second, third = keyring.keys
    document = keyring.public_document(T0 + 20 * DAY)
    assert [jwk["kid"] for jwk in document["keys"]] == [third.kid, second.kid]
    members = {"kty", "crv", "x", "kid", "alg", "use", "notBefore", "notAfter"}
    assert all(jwk.keys() == members for jwk in document["keys"])  # never "d"
    later = keyring.public_document(T0 + 28 * DAY)
    assert [jwk["kid"] for jwk in later["keys"]] == [third.kid]
    assert first.kid not in json.dumps(document)


def test_public_document_round_trips_as_a_public_only_keyring() -> None:
    keyring = Keyring.generate(now=T0).rotated(now=T0 + DAY)
    document = json.loads(json.dumps(keyring.public_document(T0 + DAY)))
    public = Keyring.from_public_document(document)
    assert [k.kid for k in public.keys] == [k.kid for k in keyring.keys]
    assert [(k.not_before, k.not_after) for k in public.keys] == [
        (k.not_before, k.not_after) for k in keyring.keys
    ]
    assert all(k.private is None for k in public.keys)
    signature = keyring.signing_key(T0 + DAY).sign(b"request")
    found = public.find(keyring.signing_key(T0 + DAY).kid)
    assert found is not None
    assert found.verify(signature, b"request")


def _tampered(change: dict[str, Any], drop: str | None = None) -> dict[str, Any]:
    jwk: dict[str, Any] = {**rfc8037_key().public_jwk(), **change}
    if drop is not None:
        del jwk[drop]
    return jwk


OTHER_X = Keyring.generate().keys[0].public_jwk()["x"]


@pytest.mark.parametrize(
    ("jwk", "match"),
    [
        (_tampered({"kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4K"}), "thumbprint"),
        (_tampered({"x": OTHER_X}), "thumbprint"),
        (_tampered({"crv": "Ed448"}), "Ed25519"),
        (_tampered({"crv": "X25519"}), "Ed25519"),
        (_tampered({"kty": "EC"}), "Ed25519"),
        (_tampered({"notBefore": "2028-01-01T00:00:00Z"}), "notBefore is after notAfter"),
        (_tampered({}, drop="notAfter"), "notAfter"),
        (_tampered({}, drop="notBefore"), "notBefore"),
        (_tampered({"notAfter": "2027-01-01"}), "notAfter"),
        (_tampered({"notAfter": "2027-01-01T00:00:00+02:00"}), "notAfter"),
        (_tampered({"notAfter": "2027-13-01T00:00:00Z"}), "notAfter"),
        (_tampered({"notAfter": 1798761600}), "notAfter"),
        (_tampered({}, drop="kid"), "kid"),
        (_tampered({}, drop="x"), "'x'"),
        (_tampered({"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"}), "'x'"),
        (_tampered({"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="}), "'x'"),
        (_tampered({"x": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"}), "'x'"),
        (_tampered({"alg": "ES256"}), "alg"),
        (_tampered({"use": "enc"}), "use"),
        (_tampered({"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}), "private"),
    ],
    ids=[
        "tampered-kid", "swapped-x", "crv-Ed448", "crv-X25519", "kty-EC", "notBefore-late",
        "no-notAfter", "no-notBefore", "date-only", "non-UTC-offset", "month-13", "numeric-date",
        "no-kid", "no-x", "short-x", "padded-x", "non-url-safe-x", "alg", "use", "private-part",
    ],
)  # fmt: skip
def test_malformed_public_keys_are_refused(jwk: dict[str, Any], match: str) -> None:
    with pytest.raises(KeyringError, match=match):
        public_key_from_jwk(jwk)
    with pytest.raises(KeyringError, match=r"key #2: .*" + match):
        Keyring.from_public_document({"keys": [rfc8037_key().public_jwk(), jwk]})


@pytest.mark.parametrize("document", [{}, {"keys": {}}, {"keys": "x"}, [], {"keys": [[]]}])
def test_malformed_public_documents_are_refused(document: Any) -> None:
    with pytest.raises(KeyringError):
        Keyring.from_public_document(document)


def test_an_empty_public_document_is_an_empty_keyring() -> None:
    assert Keyring.from_public_document({"keys": []}).keys == ()


# --- the key file -------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    keyring = Keyring.generate(now=T0).rotated(now=T0 + DAY)
    path = tmp_path / "nested" / "dir" / KEYRING_FILE
    keyring.save(path)
    loaded = Keyring.load(path)
    assert [(k.kid, k.not_before, k.not_after) for k in loaded.keys] == [
        (k.kid, k.not_before, k.not_after) for k in keyring.keys
    ]
    assert all(k.private is not None for k in loaded.keys)
    signature = loaded.signing_key(T0 + DAY).sign(b"audit")
    assert keyring.signing_key(T0 + DAY).verify(signature, b"audit")
    stored = json.loads(path.read_text())
    assert stored["format"] == "twinmesh-keyring/1"
    assert [{k: v for k, v in e.items() if k != "d"} for e in stored["keys"]] == [
        k.public_jwk() for k in keyring.keys
    ]
    assert all(len(b64url_decode(e["d"])) == 32 for e in stored["keys"])


def test_public_only_keys_are_stored_without_d(tmp_path: Path) -> None:
    public = Keyring.from_public_document(Keyring.generate().public_document())
    public.save(tmp_path / KEYRING_FILE)
    (entry,) = json.loads((tmp_path / KEYRING_FILE).read_text())["keys"]
    assert "d" not in entry
    assert Keyring.load(tmp_path / KEYRING_FILE).keys[0].private is None


def test_saved_file_has_mode_0600_and_no_temporary_files_remain(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEYRING_FILE
    Keyring.generate().save(path)
    Keyring.generate().save(path)  # replaces
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == [KEYRING_FILE]


def test_save_without_replace_keeps_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    first = Keyring.generate()
    first.save(path)
    with pytest.raises(FileExistsError):
        Keyring.generate().save(path, replace=False)
    assert Keyring.load(path).keys[0].kid == first.keys[0].kid
    assert [p.name for p in tmp_path.iterdir()] == [KEYRING_FILE]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_accessible_by_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / KEYRING_FILE
    Keyring.generate().save(path)
    os.chmod(path, mode)
    with pytest.raises(KeyringError, match=f"mode {mode:o}.*chmod 600"):
        Keyring.load(path)


def test_a_missing_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist; run `twinmesh keys generate`"):
        Keyring.load(tmp_path / KEYRING_FILE)


def test_a_directory_or_fifo_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyringError, match="cannot be read"):
        Keyring.load(directory)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyringError, match="not a regular file"):
        Keyring.load(fifo)


def _entry() -> dict[str, Any]:
    key = rfc8037_key()
    return {**key.public_jwk(), "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"not json", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[]", "format"),
        (json.dumps({"keys": [_entry()]}).encode(), "format"),
        (json.dumps({"format": "twinmesh-keyring/2", "keys": []}).encode(), "format"),
        (json.dumps({"format": "twinmesh-keyring/1"}).encode(), "'keys' must be a list"),
        (json.dumps({"format": "twinmesh-keyring/1", "keys": ["x"]}).encode(), "key #1"),
        (
            json.dumps({"format": "twinmesh-keyring/1", "keys": [{**_entry(), "d": OTHER_X}]}),
            "key #1: .*does not match",
        ),
        (
            json.dumps({"format": "twinmesh-keyring/1", "keys": [{**_entry(), "d": "AAAA"}]}),
            "key #1: .*'d'",
        ),
        (
            json.dumps({"format": "twinmesh-keyring/1", "keys": [{**_entry(), "crv": "P-256"}]}),
            "key #1: .*Ed25519",
        ),
        (
            json.dumps({"format": "twinmesh-keyring/1", "keys": [{**_entry(), "kty": "oct"}]}),
            "key #1: .*Ed25519",
        ),
    ],
    ids=[
        "not-json", "not-utf8", "array", "no-format", "unknown-format", "no-keys", "key-not-object",
        "mismatched-d", "short-d", "wrong-crv", "wrong-kty",
    ],
)  # fmt: skip
def test_malformed_files_are_refused_naming_the_file(
    tmp_path: Path, content: bytes | str, match: str
) -> None:
    path = tmp_path / KEYRING_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    path.chmod(0o600)
    with pytest.raises(KeyringError, match=match) as failure:
        Keyring.load(path)
    assert str(path) in str(failure.value)


# --- load_or_create -----------------------------------------------------------------------


def test_load_or_create_creates_once_and_then_reuses(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEYRING_FILE
    first = load_or_create(path, validity=timedelta(days=30))
    (key,) = first.keys
    assert key.not_after - key.not_before == timedelta(days=30)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_or_create(path)
    assert [k.kid for k in second.keys] == [key.kid]


def test_load_or_create_refuses_an_unusable_existing_file(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    path.write_text("{}")
    path.chmod(0o600)
    with pytest.raises(KeyringError, match="format"):
        load_or_create(path)
    assert path.read_text() == "{}"


def test_a_parent_that_is_a_file_is_not_mistaken_for_an_existing_keyring(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "data"
    not_a_directory.write_text("")
    with pytest.raises(NotADirectoryError):
        Keyring.generate().save(not_a_directory / KEYRING_FILE, replace=False)
    with pytest.raises(KeyringError, match="cannot be created: Not a directory"):
        load_or_create(not_a_directory / KEYRING_FILE)


def test_concurrent_load_or_create_ends_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILE
    callers = 8
    barrier = threading.Barrier(callers)

    def start_together() -> str:
        barrier.wait()
        return load_or_create(path).signing_key().kid

    with ThreadPoolExecutor(callers) as pool:
        kids = set(pool.map(lambda _: start_together(), range(callers)))
    assert len(kids) == 1
    assert [k.kid for k in Keyring.load(path).keys] == list(kids)
    assert [p.name for p in tmp_path.iterdir()] == [KEYRING_FILE]


def test_load_or_create_that_loses_the_race_uses_the_winners_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / KEYRING_FILE
    winner = Keyring.generate()
    generate = Keyring.generate

    def generate_while_another_process_saves(
        validity: timedelta = DEFAULT_VALIDITY, *, now: datetime | None = None
    ) -> Keyring:
        winner.save(path)  # the other process finishes between our exists() and our link()
        return generate(validity, now=now)

    monkeypatch.setattr(
        keyring_module.Keyring, "generate", staticmethod(generate_while_another_process_saves)
    )
    loaded = load_or_create(path)
    assert [k.kid for k in loaded.keys] == [winner.keys[0].kid]
    assert [p.name for p in tmp_path.iterdir()] == [KEYRING_FILE]
