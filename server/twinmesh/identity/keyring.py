"""The organisation's Ed25519 signing keyring: what this server signs with and how peers check it.

A :class:`Keyring` is an ordered set of :class:`OrgKey`\\ s, each identified by its RFC 7638
JWK thumbprint and valid for a window ``[not_before, not_after]`` (whole seconds, UTC). The
newest key that holds a private part and is valid now signs; every key, however old, still
verifies. Rotation adds a fresh key and shortens the older ones to a short overlap instead of
deleting them, so signatures made before a rotation (audit-log checkpoints, federation requests)
stay verifiable for as long as their key is published.

The file ``<data_dir>/org-keys.json`` is JSON ``{"format": "twinmesh-keyring/1", "keys": [...]}``
whose entries are :meth:`OrgKey.public_jwk` plus ``"d"``, the private seed. Like the development
issuer's key it is written atomically with mode 0600 and refused when group or others can read
it. :meth:`Keyring.public_document` is the private-free JWK Set that peers fetch.

Keys are plain ``cryptography`` Ed25519 objects; joserfc provides the thumbprint and strict
base64url decoding. The JWK handling is written here because joserfc's ``OKPKey`` carries no
validity window and the file needs one per key.
"""

from __future__ import annotations

import binascii
import dataclasses
import errno
import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from joserfc.jwk import thumbprint
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

KEYRING_FILE: Final = "org-keys.json"
KEYRING_FORMAT: Final = "twinmesh-keyring/1"
DEFAULT_VALIDITY: Final = timedelta(days=90)
MAX_VALIDITY: Final = timedelta(days=366)
DEFAULT_OVERLAP: Final = timedelta(days=7)

_ALGORITHM: Final = "EdDSA"
_TIMESTAMP_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class KeyringError(Exception):
    """A keyring, key file or public key document cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class OrgKey:
    """One Ed25519 key of the organisation and the window in which it is valid."""

    kid: str
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None
    not_before: datetime
    not_after: datetime

    def __post_init__(self) -> None:
        _require_aware(self.not_before, "not_before")
        _require_aware(self.not_after, "not_after")
        if self.not_before > self.not_after:
            raise KeyringError(f"key {self.kid}: notBefore is after notAfter")
        if self.kid != _thumbprint(self.public):
            raise KeyringError(f"key {self.kid}: kid is not the key's RFC 7638 thumbprint")
        if self.private is not None and _raw(self.private.public_key()) != _raw(self.public):
            raise KeyringError(f"key {self.kid}: the private part does not match the public key")

    def valid_at(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in ``[not_before, not_after]``."""
        return self.not_before <= moment <= self.not_after

    def sign(self, data: bytes) -> bytes:
        """The Ed25519 signature of ``data``; :class:`KeyringError` for a public-only key."""
        if self.private is None:
            raise KeyringError(f"key {self.kid} has no private part and cannot sign")
        return self.private.sign(data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``data`` (never raises)."""
        try:
            self.public.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK with its validity window (``notBefore``/``notAfter``)."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64(_raw(self.public)),
            "kid": self.kid,
            "alg": _ALGORITHM,
            "use": "sig",
            "notBefore": _format_time(self.not_before),
            "notAfter": _format_time(self.not_after),
        }


def public_key_from_jwk(jwk: Mapping[str, Any]) -> OrgKey:
    """The public-only :class:`OrgKey` of a :meth:`OrgKey.public_jwk` dictionary.

    Raises :class:`KeyringError` for anything else, including a JWK carrying a private part.
    """
    if not isinstance(jwk, Mapping):
        raise KeyringError("a key must be a JSON object")
    if "d" in jwk:
        raise KeyringError("a public key must not contain its private part 'd'")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyringError("a key must be an Ed25519 key (kty OKP, crv Ed25519)")
    for member, expected in (("alg", _ALGORITHM), ("use", "sig")):
        if member in jwk and jwk[member] != expected:
            raise KeyringError(f"a key's {member!r} must be {expected!r}")
    public = Ed25519PublicKey.from_public_bytes(_decode_32_bytes(jwk.get("x"), "x"))
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise KeyringError("a key must have a 'kid'")
    return OrgKey(
        kid=kid,
        public=public,
        private=None,
        not_before=_parse_time(jwk.get("notBefore"), "notBefore"),
        not_after=_parse_time(jwk.get("notAfter"), "notAfter"),
    )


class Keyring:
    """An immutable set of organisation keys, ordered by ``not_before`` (oldest first)."""

    def __init__(self, keys: Sequence[OrgKey]) -> None:
        # Stable: keys starting in the same second keep their order, so a key added by
        # rotate() stays the newest (and signs) even when the older one began that second.
        ordered = tuple(sorted(keys, key=lambda key: key.not_before))
        kids = [key.kid for key in ordered]
        if len(set(kids)) != len(kids):
            raise KeyringError("a keyring must not contain the same key twice")
        self._keys = ordered

    @property
    def keys(self) -> tuple[OrgKey, ...]:
        """Every key, oldest ``not_before`` first."""
        return self._keys

    def signing_key(self, at: datetime | None = None) -> OrgKey:
        """The newest key with a private part valid at ``at`` (default: now)."""
        moment = _now_or(at)
        for key in reversed(self._keys):
            if key.private is not None and key.valid_at(moment):
                return key
        raise KeyringError("no valid signing key; run `twinmesh keys rotate`")

    def find(self, kid: str) -> OrgKey | None:
        """The key whose kid is ``kid``, expired or not."""
        return next((key for key in self._keys if key.kid == kid), None)

    def public_document(self, at: datetime | None = None) -> dict[str, Any]:
        """The JWK Set of every key not yet expired at ``at`` (default: now), newest first."""
        moment = _now_or(at)
        return {
            "keys": [key.public_jwk() for key in reversed(self._keys) if moment <= key.not_after]
        }

    @classmethod
    def from_public_document(cls, document: Mapping[str, Any]) -> Keyring:
        """The public-only keyring of a :meth:`public_document` (e.g. fetched from a peer)."""
        keys = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(keys, list):
            raise KeyringError("a public key document must be an object with a 'keys' list")
        parsed = [_numbered(index, public_key_from_jwk, jwk) for index, jwk in enumerate(keys)]
        return cls(parsed[::-1])  # documents list the newest first; keyrings the oldest

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """The keyring stored at ``path``; refused if group or others can access the file."""
        try:
            data = _read_private_file(path)
        except FileNotFoundError as exc:
            raise KeyringError(f"{path} does not exist; run `twinmesh keys generate`") from exc
        except OSError as exc:
            raise KeyringError(f"{path} cannot be read: {exc.strerror or exc}") from exc
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise KeyringError(f"{path} is not a keyring: invalid JSON ({exc})") from exc
        if not isinstance(document, dict) or document.get("format") != KEYRING_FORMAT:
            raise KeyringError(f"{path} is not a keyring: 'format' must be {KEYRING_FORMAT!r}")
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise KeyringError(f"{path} is not a keyring: 'keys' must be a list")
        try:
            return cls([_numbered(index, _stored_key, e) for index, e in enumerate(entries)])
        except KeyringError as exc:
            raise KeyringError(f"{path}: {exc}") from exc

    def save(self, path: Path, *, replace: bool = True) -> None:
        """Write the keyring to ``path`` atomically with mode 0600, creating its directory.

        With ``replace=False`` an existing file is kept and :class:`FileExistsError` raised.
        """
        document = {"format": KEYRING_FORMAT, "keys": [_stored_entry(key) for key in self._keys]}
        _write_private_file(path, orjson.dumps(document, option=orjson.OPT_INDENT_2), replace)

    @classmethod
    def generate(
        cls, validity: timedelta = DEFAULT_VALIDITY, *, now: datetime | None = None
    ) -> Keyring:
        """A keyring of one fresh key valid from ``now`` (default: the current time)."""
        return cls([_new_key(_whole_seconds(_now_or(now)), validity)])

    def rotated(
        self,
        validity: timedelta = DEFAULT_VALIDITY,
        *,
        overlap: timedelta = DEFAULT_OVERLAP,
        now: datetime | None = None,
    ) -> Keyring:
        """This keyring plus a fresh key valid from ``now``; older keys end ``overlap`` later.

        Older keys are only shortened, never extended or removed, so signatures they made stay
        verifiable until the (new) end of their window.
        """
        if overlap < timedelta(0):
            raise KeyringError("the overlap must not be negative")
        start = _whole_seconds(_now_or(now))
        if self._keys and self._keys[-1].not_before > start:
            raise KeyringError(
                f"the newest key starts at {_format_time(self._keys[-1].not_before)}, after "
                f"now ({_format_time(start)}); check the system clock"
            )
        new_key = _new_key(start, validity)
        cutoff = _whole_seconds(start + overlap)
        older = [
            dataclasses.replace(key, not_after=cutoff) if key.not_after > cutoff else key
            for key in self._keys
        ]
        return Keyring([*older, new_key])


def load_or_create(path: Path, *, validity: timedelta = DEFAULT_VALIDITY) -> Keyring:
    """The keyring at ``path``, generated first if absent; concurrent callers share one key."""
    _check_validity(validity)
    if not path.exists():
        try:
            Keyring.generate(validity).save(path, replace=False)
        except FileExistsError:
            pass  # another process created it first: its keyring is loaded below
        except OSError as exc:
            raise KeyringError(f"{path} cannot be created: {exc.strerror or exc}") from exc
    return Keyring.load(path)


def _check_validity(validity: timedelta) -> None:
    if not timedelta(0) < validity <= MAX_VALIDITY:
        raise KeyringError(f"the validity must be positive and at most {MAX_VALIDITY.days} days")


def _new_key(start: datetime, validity: timedelta) -> OrgKey:
    _check_validity(validity)
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    return OrgKey(
        kid=_thumbprint(public),
        public=public,
        private=private,
        not_before=start,
        not_after=_whole_seconds(start + validity),
    )


def _stored_entry(key: OrgKey) -> dict[str, str]:
    entry = key.public_jwk()
    if key.private is not None:
        seed = key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        entry["d"] = _b64(seed)
    return entry


def _stored_key(entry: Any) -> OrgKey:
    if not isinstance(entry, dict):
        raise KeyringError("a key must be a JSON object")
    public_part = {name: value for name, value in entry.items() if name != "d"}
    key = public_key_from_jwk(public_part)
    if "d" not in entry:
        return key
    private = Ed25519PrivateKey.from_private_bytes(_decode_32_bytes(entry["d"], "d"))
    return dataclasses.replace(key, private=private)


def _numbered(index: int, parse: Callable[[Any], OrgKey], value: Any) -> OrgKey:
    """``parse(value)`` with the key's position added to a :class:`KeyringError`."""
    try:
        return parse(value)
    except KeyringError as exc:
        raise KeyringError(f"key #{index + 1}: {exc}") from exc


def _read_private_file(path: Path) -> bytes:
    # fstat the open descriptor, so the file checked is the file read; O_NONBLOCK so that a
    # FIFO in the key file's place is refused instead of blocking.
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise KeyringError(f"{path} is not a regular file")
        if mode & 0o077:
            raise KeyringError(
                f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):o}); "
                f"run: chmod 600 {path}"
            )
        return file.read()


def _write_private_file(path: Path, data: bytes, replace: bool) -> None:
    """Write to a private temporary file, then move (``replace``) or link it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError as exc:  # the parent is a file; FileExistsError means the key file
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path.parent) from exc
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # FileExistsError if the file exists: it is never overwritten
    finally:
        tmp.unlink(missing_ok=True)


def _thumbprint(public: Ed25519PublicKey) -> str:
    return thumbprint({"kty": "OKP", "crv": "Ed25519", "x": _b64(_raw(public))})


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).decode("ascii")


def _decode_32_bytes(value: Any, member: str) -> bytes:
    try:
        decoded = urlsafe_b64decode(value.encode("ascii")) if isinstance(value, str) else b""
    except (binascii.Error, UnicodeEncodeError, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise KeyringError(f"a key's {member!r} must be 32 bytes in unpadded base64url")
    return decoded


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any, member: str) -> datetime:
    if not isinstance(value, str) or not _TIMESTAMP_RE.fullmatch(value):
        raise KeyringError(f"a key's {member!r} must be a UTC time like 2026-11-22T10:00:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise KeyringError(f"a key's {member!r} is not a valid time: {value}") from exc


def _require_aware(moment: datetime, name: str) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _now_or(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    _require_aware(at, "the time")
    return at.astimezone(UTC)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
