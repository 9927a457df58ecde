"""Authentication: RFC 9068 access-token verification, issuer key caching, the dev issuer.

Framework-free: the HTTP layer extracts the ``Authorization`` header and calls
:meth:`TokenVerifier.authenticate`; a failure is an :class:`InvalidToken` (an
:class:`~twinmesh.errors.Unauthenticated`, HTTP 401) whose ``reason`` belongs in the audit log.
"""

from twinmesh.auth.authenticator import Authenticator, TenantDisabled
from twinmesh.auth.dev_issuer import DEV_AUDIENCE, DEV_ISSUER, DevIssuer, DevIssuerKeyError
from twinmesh.auth.errors import PUBLIC_MESSAGE, REASONS, InvalidToken
from twinmesh.auth.jwks import JwksCache, JwksUnavailable, VerificationKey, parse_jwks
from twinmesh.auth.principal import Principal, PrincipalKind
from twinmesh.auth.tokens import DEFAULT_LEEWAY_S, IssuerConfig, TokenVerifier, parse_bearer

__all__ = [
    "DEFAULT_LEEWAY_S",
    "DEV_AUDIENCE",
    "DEV_ISSUER",
    "PUBLIC_MESSAGE",
    "REASONS",
    "Authenticator",
    "DevIssuer",
    "DevIssuerKeyError",
    "InvalidToken",
    "IssuerConfig",
    "JwksCache",
    "JwksUnavailable",
    "Principal",
    "PrincipalKind",
    "TenantDisabled",
    "TokenVerifier",
    "VerificationKey",
    "parse_bearer",
    "parse_jwks",
]
