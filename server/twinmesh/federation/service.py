"""This organisation in federation: its id, its public origin, its partners and its client."""

from __future__ import annotations

from dataclasses import dataclass

from twinmesh.federation.outbound import FederationClient
from twinmesh.federation.partners import PartnerRegistry


@dataclass(frozen=True, slots=True)
class Federation:
    org_id: str
    public_origin: str  # scheme://host[:port], what partners sign as @authority
    registry: PartnerRegistry
    client: FederationClient
    hop_budget: int
