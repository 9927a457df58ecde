"""Domain types shared by every layer: twins, relationships, models, tenants, policies."""

from twinmesh.domain.models import (
    NewModel,
    PartnerRecord,
    StoredModel,
    StoredPolicyVersion,
    TenantRecord,
)
from twinmesh.domain.twins import (
    JSONObject,
    JSONValue,
    NewRelationship,
    NewTwin,
    Relationship,
    TenantId,
    Twin,
    TwinUpdate,
    changed_names,
    is_remote_ref,
    new_etag,
    refuse_delete_while_related,
    stamp_metadata,
    validate_identifier,
    validate_tenant_id,
)

__all__ = [
    "JSONObject",
    "JSONValue",
    "NewModel",
    "NewRelationship",
    "NewTwin",
    "PartnerRecord",
    "Relationship",
    "StoredModel",
    "StoredPolicyVersion",
    "TenantId",
    "TenantRecord",
    "Twin",
    "TwinUpdate",
    "changed_names",
    "is_remote_ref",
    "new_etag",
    "refuse_delete_while_related",
    "stamp_metadata",
    "validate_identifier",
    "validate_tenant_id",
]
