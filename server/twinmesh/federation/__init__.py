"""Federation between twinmesh organisations: the signing profile of partner requests and answers.

:mod:`.signatures` signs and verifies (RFC 9421, Ed25519, RFC 9530 Content-Digest);
:mod:`.partners` knows the partners and their keys; :mod:`.outbound` and :mod:`.inbound` carry
federated GraphQL queries.
"""

from twinmesh.federation.signatures import (
    HOP_BUDGET,
    HOPS,
    MAX_AGE,
    MAX_SIGNATURE_HEADER_BYTES,
    MAX_SKEW,
    ON_BEHALF_OF,
    REQUEST_COMPONENTS,
    REQUEST_ID,
    RESPONSE_COMPONENTS,
    SIGNATURE_LABEL,
    TAG,
    TARGET_TENANT,
    KeyResolver,
    PartnerKey,
    Reason,
    SignatureRejected,
    VerifiedRequest,
    content_digest,
    key_id_for,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

__all__ = [
    "HOPS",
    "HOP_BUDGET",
    "MAX_AGE",
    "MAX_SIGNATURE_HEADER_BYTES",
    "MAX_SKEW",
    "ON_BEHALF_OF",
    "REQUEST_COMPONENTS",
    "REQUEST_ID",
    "RESPONSE_COMPONENTS",
    "SIGNATURE_LABEL",
    "TAG",
    "TARGET_TENANT",
    "KeyResolver",
    "PartnerKey",
    "Reason",
    "SignatureRejected",
    "VerifiedRequest",
    "content_digest",
    "key_id_for",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
]
