"""The strawberry schema, assembled from the root types."""

from __future__ import annotations

import strawberry

from twinmesh.graphql.errors import ErrorCodes
from twinmesh.graphql.mutations import Mutation
from twinmesh.graphql.queries import Query

schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[ErrorCodes])
