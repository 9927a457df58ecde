"""The strawberry schema, assembled from the root types."""

from __future__ import annotations

import logging

import strawberry
from graphql.error import GraphQLError
from strawberry.types import ExecutionContext

from twinmesh.graphql.errors import DeniedProperties, ErrorCodes
from twinmesh.graphql.federation import (
    FederationQueries,
    FederationStatus,
    PartnerMutations,
    PartnerQueries,
)
from twinmesh.graphql.mutations import Mutation
from twinmesh.graphql.policies import PolicyMutations, PolicyQueries
from twinmesh.graphql.queries import Query
from twinmesh.graphql.subscriptions import Subscription
from twinmesh.graphql.tenants import TenantMutations, TenantQueries

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


@strawberry.type(name="Query")
class RootQuery(Query, PolicyQueries, TenantQueries, FederationQueries, PartnerQueries):
    """Twins, models, the tenant's policy sets, tenants and partners."""


@strawberry.type(name="Mutation")
class RootMutation(Mutation, PolicyMutations, TenantMutations, PartnerMutations):
    """Writes to twins, models, the tenant's policy sets, tenants and partners."""


schema = TwinSchema(
    query=RootQuery,
    mutation=RootMutation,
    subscription=Subscription,
    extensions=[ErrorCodes, DeniedProperties, FederationStatus],
)
