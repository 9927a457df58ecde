"""The twinmesh exception tree and its one mapping to GraphQL codes and HTTP statuses.

Every error a client can see is a :class:`TwinmeshError` with a stable ``code`` (the GraphQL
``extensions.code``) and a public message that a person can act on. Messages never carry
internals (queries, URIs, stack traces); those go to the server log only.

::

    TwinmeshError
    ├── Unauthenticated        no or invalid credentials                          401
    ├── Forbidden              a policy denied the request                        403
    ├── NotFound               the twin/relationship/model does not exist here    404
    │   └── ModelNotFound      a DTMI that is not in the tenant's registry        404
    ├── ValidationFailed       input breaks the ontology or the API's rules       400
    ├── BadRequest             not a well-formed GraphQL request over HTTP        400
    ├── GraphQLParseFailed     the GraphQL document does not parse                400
    ├── GraphQLInvalid         the document or its variables fail validation      400
    ├── Conflict               stale ifMatch etag, or the id is already taken     409
    ├── ModelInUse             a model cannot be deleted while twins use it       409
    ├── LimitExceeded          a size, depth or rate limit was hit                429
    ├── PartnerUnavailable     a federation partner did not answer in time        502
    └── StoreUnavailable       the graph store cannot be reached (retryable)      503

Anything else is an internal error: clients see ``INTERNAL`` and a correlation id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


class TwinmeshError(Exception):
    """Base of every error whose code and message may be shown to a client."""

    code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class Unauthenticated(TwinmeshError):
    """The request carries no credentials, or credentials that do not verify."""

    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(TwinmeshError):
    """The caller is known but a policy denies the action."""

    code = "FORBIDDEN"
    http_status = 403


class NotFound(TwinmeshError):
    """The addressed twin or relationship does not exist in the caller's tenant."""

    code = "NOT_FOUND"
    http_status = 404


class ModelNotFound(NotFound):
    """The DTMI is not in the caller's tenant's model registry."""

    code = "MODEL_NOT_FOUND"


class ValidationFailed(TwinmeshError):
    """The input breaks the ontology or the API's rules; ``details`` points at the offence."""

    code = "VALIDATION_FAILED"
    http_status = 400


class BadRequest(TwinmeshError):
    """The HTTP request is not a GraphQL request we take (method, media type, body)."""

    code = "BAD_REQUEST"
    http_status = 400


class GraphQLParseFailed(TwinmeshError):
    """The GraphQL document has a syntax error."""

    code = "GRAPHQL_PARSE_FAILED"
    http_status = 400


class GraphQLInvalid(TwinmeshError):
    """The document does not validate against the schema, or its variables do not coerce."""

    code = "GRAPHQL_VALIDATION_FAILED"
    http_status = 400


class Conflict(TwinmeshError):
    """A stale ``ifMatch`` etag, or an id that is already taken; nothing was changed."""

    code = "CONFLICT"
    http_status = 409


class ModelInUse(TwinmeshError):
    """A model cannot be deleted while twins of it exist."""

    code = "MODEL_IN_USE"
    http_status = 409


class LimitExceeded(TwinmeshError):
    """A request went past a configured size, depth, page or rate limit."""

    code = "LIMIT_EXCEEDED"
    http_status = 429


class PartnerUnavailable(TwinmeshError):
    """A federation partner did not answer, or not in time."""

    code = "PARTNER_UNAVAILABLE"
    http_status = 502


class StoreUnavailable(TwinmeshError):
    """The graph store cannot be reached; the request may be retried."""

    code = "STORE_UNAVAILABLE"
    http_status = 503


@dataclass(frozen=True, slots=True)
class ErrorMapping:
    """How one error code appears to clients."""

    code: str
    http_status: int


INTERNAL = ErrorMapping("INTERNAL", 500)

# The one table: error code -> GraphQL extensions.code and HTTP status.
ERROR_TABLE: dict[str, ErrorMapping] = {
    cls.code: ErrorMapping(cls.code, cls.http_status)
    for cls in (
        Unauthenticated,
        Forbidden,
        NotFound,
        ModelNotFound,
        ValidationFailed,
        BadRequest,
        GraphQLParseFailed,
        GraphQLInvalid,
        Conflict,
        ModelInUse,
        LimitExceeded,
        PartnerUnavailable,
        StoreUnavailable,
    )
}
ERROR_TABLE[INTERNAL.code] = INTERNAL


def mapping_for(error: BaseException) -> ErrorMapping:
    """The client-facing code and HTTP status for any exception (unknown ones are INTERNAL)."""
    if isinstance(error, TwinmeshError):
        return ERROR_TABLE[error.code]
    return INTERNAL
