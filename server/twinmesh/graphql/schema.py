"""The strawberry schema, assembled from the root types."""

from __future__ import annotations

import logging

import strawberry
from graphql.error import GraphQLError
from strawberry.types import ExecutionContext

from twinmesh.graphql.errors import DeniedProperties, ErrorCodes
from twinmesh.graphql.mutations import Mutation
from twinmesh.graphql.queries import Query

log = logging.getLogger("twinmesh.graphql")


class TwinSchema(strawberry.Schema):
    """Client mistakes are logged at debug level: they are answered, not server faults.

    Unexpected errors are already logged at error level, with their correlation id, by
    :class:`~twinmesh.graphql.errors.ErrorCodes`.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            log.debug("request answered with an error: %s", error.message)


schema = TwinSchema(query=Query, mutation=Mutation, extensions=[ErrorCodes, DeniedProperties])
