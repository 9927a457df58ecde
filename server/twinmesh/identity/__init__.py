"""The organisation's identity: the Ed25519 keyring it signs with (see :mod:`.keyring`).

Audit-log checkpoints are signed with :meth:`Keyring.signing_key`; peers verify with the keys of
:meth:`Keyring.public_document`, served at ``/.well-known/twinmesh/keys``.
"""

from twinmesh.identity.keyring import (
    DEFAULT_OVERLAP,
    DEFAULT_VALIDITY,
    KEYRING_FILE,
    KEYRING_FORMAT,
    MAX_VALIDITY,
    Keyring,
    KeyringError,
    OrgKey,
    load_or_create,
    public_key_from_jwk,
)

__all__ = [
    "DEFAULT_OVERLAP",
    "DEFAULT_VALIDITY",
    "KEYRING_FILE",
    "KEYRING_FORMAT",
    "MAX_VALIDITY",
    "Keyring",
    "KeyringError",
    "OrgKey",
    "load_or_create",
    "public_key_from_jwk",
]
