"""Who a request acts for, as established by a verified credential.

A :class:`Principal` is produced only by verification code (:class:`~twinmesh.auth.tokens.
TokenVerifier` for access tokens, the federation layer for signed partner requests); request
data such as GraphQL arguments never changes it. Its ``tenant`` is the only tenant the request
may touch (SECURITY.md checklist item 25).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PrincipalKind = Literal["user", "partner", "service"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``kind`` is ``"service"`` for a client acting for itself (an RFC 9068 token whose ``sub``
    equals its ``client_id``, i.e. the client-credentials grant), ``"user"`` for a client acting
    for a resource owner, and ``"partner"`` for a federation partner organisation (set by the
    signed-request verifier, never by an access token). ``token_id`` is the token's ``jti``.
    """

    tenant: str
    subject: str
    roles: frozenset[str]
    client_id: str | None
    kind: PrincipalKind
    token_id: str | None
