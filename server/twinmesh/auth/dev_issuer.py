"""The built-in development issuer: real RFC 9068 tokens for demos and tests.

It signs with an Ed25519 key (EdDSA) kept as a private JWK in ``<directory>/dev-issuer.jwk``
(created on first use with mode 0600, atomically, so two processes starting together agree on
one key; an existing file readable by group or others is refused). :meth:`DevIssuer.
issuer_config` hands the verifier the *public* key inline, so development tokens pass through
exactly the same :class:`~twinmesh.auth.tokens.TokenVerifier` path as an external IdP's.

Why hand-written: authlib ships an RFC 9068 *token generator* only as part of its OAuth server
framework (grants, clients, storage), far more than a local signer needs; the compact signing
itself is :func:`twinmesh.auth.compact.sign_compact` over joserfc's EdDSA implementation.

Trust it only in development/demo configurations: anyone who can read the key file can mint
tokens for any tenant.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from twinmesh.auth.compact import sign_compact
from twinmesh.auth.jwks import Clock
from twinmesh.auth.tokens import IssuerConfig
from twinmesh.domain.twins import validate_tenant_id

DEV_ISSUER: Final = "urn:twinmesh:dev"
DEV_AUDIENCE: Final = "twinmesh"
DEV_CLIENT_ID: Final = "twinmesh-dev"
DEV_ALGORITHM: Final = "EdDSA"
KEY_FILE_NAME: Final = "dev-issuer.jwk"
DEFAULT_TTL: Final = timedelta(hours=8)
MAX_TTL: Final = timedelta(days=30)


class DevIssuerKeyError(Exception):
    """The key file exists but cannot be used (unreadable, not an Ed25519 key, too open)."""


class DevIssuer:
    """Signs access tokens as ``urn:twinmesh:dev`` for audience ``twinmesh``."""

    def __init__(self, key: OKPKey, *, clock: Clock = time.time) -> None:
        if key.curve_name != "Ed25519" or not key.is_private:
            raise DevIssuerKeyError("the development issuer needs a private Ed25519 key")
        self._key = key
        self._kid = key.thumbprint()
        self._clock = clock

    @classmethod
    def load_or_create(cls, directory: Path, *, clock: Clock = time.time) -> DevIssuer:
        """The issuer whose key is ``directory/dev-issuer.jwk``, generating it if absent."""
        return cls(_load_or_create_key(directory / KEY_FILE_NAME), clock=clock)

    @property
    def kid(self) -> str:
        """The key id: the key's RFC 7638 thumbprint."""
        return self._kid

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set with the public key only."""
        public = dict(self._key.as_dict(private=False))
        public.update({"kid": self._kid, "alg": DEV_ALGORITHM, "use": "sig"})
        return {"keys": [public]}

    def issuer_config(self) -> IssuerConfig:
        """How a :class:`~twinmesh.auth.tokens.TokenVerifier` trusts this issuer."""
        return IssuerConfig(
            issuer=DEV_ISSUER,
            audience=DEV_AUDIENCE,
            jwks=self.public_jwks(),
            algorithms=(DEV_ALGORITHM,),
        )

    def issue_token(
        self,
        tenant: str,
        subject: str,
        roles: Iterable[str] = (),
        ttl: timedelta = DEFAULT_TTL,
        client_id: str = DEV_CLIENT_ID,
    ) -> str:
        """A signed ``at+jwt`` for ``subject`` in ``tenant`` valid for ``ttl``.

        Raises :class:`~twinmesh.errors.ValidationFailed` for a bad tenant id and
        :class:`ValueError` for an empty subject/client id/role or a ttl outside (0, 30 days].
        """
        validate_tenant_id(tenant)
        if isinstance(roles, str):  # a bare string would become one role per character
            raise ValueError("roles must be a collection of role names, not one string")
        role_list = sorted(set(roles))
        if not subject or not client_id or not all(role_list):
            raise ValueError("subject, client_id and roles must be non-empty strings")
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"ttl must be positive and at most {MAX_TTL}")
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "sub": subject,
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl.total_seconds()),
            "jti": secrets.token_urlsafe(16),
            "tenant": tenant,
            "roles": role_list,
        }
        header = {"typ": "at+jwt", "kid": self._kid}
        return sign_compact(header, claims, self._key, DEV_ALGORITHM)


def _load_or_create_key(path: Path) -> OKPKey:
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place (no overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = OKPKey.generate_key("Ed25519", private=True)
    data = dict(key.as_dict(private=True))
    data.update({"kid": key.thumbprint(), "alg": DEV_ALGORITHM, "use": "sig"})
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        # link() fails if another process created the key meanwhile; then theirs is used.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_key_file(path: Path) -> OKPKey:
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise DevIssuerKeyError(f"{path} is not a regular file")
    if mode & 0o077:
        raise DevIssuerKeyError(
            f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("kty") != "OKP" or "d" not in data:
            raise DevIssuerKeyError(f"{path} is not a private OKP JWK")
        key = OKPKey.import_key(data)
    except (OSError, ValueError, JoseError) as exc:
        raise DevIssuerKeyError(f"{path} cannot be read as a private JWK: {exc}") from exc
    if key.curve_name != "Ed25519":
        raise DevIssuerKeyError(f"{path} is not an Ed25519 key")
    return key
