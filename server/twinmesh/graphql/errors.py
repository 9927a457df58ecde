"""Give every GraphQL error a stable ``extensions.code``; mask the unexpected ones.

A :class:`~twinmesh.errors.TwinmeshError` keeps its public message and gains its code (plus
public details). Any other exception raised by a resolver is replaced by a generic message and
a correlation id; the original is logged with that id so operators can find it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from twinmesh.errors import INTERNAL, GraphQLInvalid, GraphQLParseFailed, TwinmeshError

log = logging.getLogger("twinmesh.graphql")

UNEXPECTED_MESSAGE = "Unexpected error. Quote the correlation id when reporting it."


def public_error(error: GraphQLError) -> GraphQLError:
    """The client-safe form of one error."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        # Parse, validation and variable-coercion errors come from graphql-core and name only
        # the document and its inputs (coercion errors wrap a GraphQLError as the original).
        if (error.extensions or {}).get("code"):
            return error
        kind = GraphQLParseFailed if error.message.startswith("Syntax Error") else GraphQLInvalid
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            original_error=original,
            extensions={**(error.extensions or {}), "code": kind.code},
        )
    if isinstance(original, TwinmeshError):
        extensions = {"code": original.code, **original.details}
        return GraphQLError(
            original.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions=extensions,
        )
    return GraphQLError(
        UNEXPECTED_MESSAGE,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions=unexpected_error_extensions(original, "in a resolver"),
    )


def unexpected_error_extensions(error: BaseException, where: str) -> dict[str, str]:
    """Log ``error`` under a new correlation id; the extensions a client may see instead."""
    correlation_id = uuid.uuid4().hex
    log.error("unexpected error %s (correlation id %s)", where, correlation_id, exc_info=error)
    return {"code": INTERNAL.code, "correlationId": correlation_id}


class ErrorCodes(SchemaExtension):
    """Rewrites result errors into their public form after each operation."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [public_error(e) for e in errors]


class DeniedProperties(SchemaExtension):
    """Lists, in ``extensions.deniedProperties``, the properties left out of the answer
    because the caller may not read them (twin id -> property names)."""

    def get_results(self) -> dict[str, Any]:
        access = getattr(self.execution_context.context, "access", None)
        denied = getattr(access, "denied_properties", None)
        return {"deniedProperties": denied} if denied else {}
