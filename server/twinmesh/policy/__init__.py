"""Cedar access policies per tenant: decisions, property rules, list push-down, versions.

See :mod:`twinmesh.policy.engine` (decisions), :mod:`twinmesh.policy.residual` (push-down
translation) and :mod:`twinmesh.policy.store` (versions and hot reload).
"""

from twinmesh.policy.engine import PolicyEngine
from twinmesh.policy.model import (
    ACTIONS,
    DENY_ALL,
    Action,
    Decision,
    DenyAll,
    ResourceRef,
    TwinFilter,
    TwinWhere,
)
from twinmesh.policy.residual import Family
from twinmesh.policy.store import PolicyStore, PolicyVersion

__all__ = [
    "ACTIONS",
    "DENY_ALL",
    "Action",
    "Decision",
    "DenyAll",
    "Family",
    "PolicyEngine",
    "PolicyStore",
    "PolicyVersion",
    "ResourceRef",
    "TwinFilter",
    "TwinWhere",
]
