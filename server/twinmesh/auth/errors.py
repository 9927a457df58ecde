"""Authentication failures: one public message, a private machine-readable reason.

Every way a credential can fail maps to :class:`InvalidToken`, an
:class:`~twinmesh.errors.Unauthenticated` whose client-visible message and (empty) ``details``
are identical for all failures, so a caller learns nothing about *why* a token was refused (no
oracle for probing keys, issuers or clock windows). The ``reason`` attribute is for the audit
log and metrics only; it is deliberately not in ``details``, which clients see.
"""

from __future__ import annotations

from typing import Final

from twinmesh.errors import Unauthenticated

PUBLIC_MESSAGE: Final = "The access token is missing or invalid."

#: Every reason :class:`InvalidToken` can carry (stable strings for audit records and metrics).
REASONS: Final = frozenset(
    {
        "missing_token",  # no Authorization header / empty token
        "bad_scheme",  # Authorization header is not "Bearer <token>"
        "token_too_large",
        "malformed",  # not three base64url segments of JSON objects
        "bad_typ",  # header typ is not at+jwt / application/at+jwt
        "unsupported_header",  # crit (no JWS extension is understood), b64, zip
        "alg_not_allowed",  # alg missing, none, HS*, or not one we verify
        "missing_kid",
        "unknown_issuer",  # iss is not exactly a configured issuer
        "unknown_kid",  # kid is not in the issuer's current key set
        "alg_mismatch",  # header alg differs from the algorithm pinned for the key
        "jwks_unavailable",  # the issuer's keys cannot be fetched and the cache is past its cap
        "bad_signature",
        "expired",
        "not_yet_valid",  # nbf in the future beyond the leeway
        "iat_in_future",
        "bad_audience",
        "missing_claim",  # sub, client_id, jti, iat or exp absent or of the wrong type
        "bad_tenant",  # tenant claim absent or not a tenant id
        "tenant_mismatch",  # a fixed-tenant issuer's token names another tenant
        "bad_roles",
        "unknown_tenant",  # the token names a tenant this server does not serve
    }
)


class InvalidToken(Unauthenticated):
    """A credential was absent or did not verify; ``reason`` says why (server side only)."""

    def __init__(self, reason: str) -> None:
        if reason not in REASONS:  # a typo here would silently split audit statistics
            raise ValueError(f"unknown InvalidToken reason {reason!r}")
        super().__init__(PUBLIC_MESSAGE)
        self.reason = reason
        # Set when the token's signature verified: whose failure this is (for the audit log).
        self.tenant: str | None = None
        self.subject: str | None = None

    def __repr__(self) -> str:
        return f"InvalidToken(reason={self.reason!r})"
