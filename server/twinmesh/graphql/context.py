"""The per-request GraphQL context: the caller's tenant and the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from strawberry.types import Info as StrawberryInfo

from twinmesh.auth import Principal
from twinmesh.bootstrap import Services
from twinmesh.domain import TenantId
from twinmesh.services.access import TenantAccess

if TYPE_CHECKING:
    from twinmesh.graphql.federation import FederationState


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Built once per request; resolvers take the tenant only from here."""

    services: Services
    tenant: TenantId
    principal: Principal
    access: TenantAccess  # the only way resolvers reach the services: every call authorised
    federation: FederationState  # the request's trail and partner calls


Info = StrawberryInfo[RequestContext, None]
