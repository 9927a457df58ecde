"""Models (DTDL interfaces) as a tenant's registry stores them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twinmesh.domain.twins import JSONObject


@dataclass(frozen=True, slots=True)
class NewModel:
    """One interface to upload: its DTMI and its original DTDL document."""

    id: str
    document: JSONObject


@dataclass(frozen=True, slots=True)
class StoredModel:
    """An uploaded interface. Models are immutable; only the decommissioned flag changes."""

    id: str
    document: JSONObject
    uploaded_at: datetime
    decommissioned: bool


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """A tenant created over the platform API (tenants may also be declared in settings)."""

    id: str
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredPolicyVersion:
    """One version of a tenant's policy set as the store keeps it; the newest is active."""

    version: int
    text: str
    sha256: str
    source: str  # "disk", "api" or "rollback"
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PartnerRecord:
    """A partner organisation registered over the API; ``settings`` as PartnerSettings."""

    org: str
    settings: dict[str, Any]
