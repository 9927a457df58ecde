"""Helpers shared by the policy tests (imported as ``policy.support``)."""

from __future__ import annotations

from pathlib import Path

from twinmesh.auth.principal import Principal

POLICIES = Path(__file__).resolve().parents[2] / "policies"
B = "dtmi:twinmesh:building:"


def dtmi(name: str) -> str:
    return f"{B}{name};1"


def user(*roles: str, subject: str = "u1", tenant: str = "demo") -> Principal:
    return Principal(tenant, subject, frozenset(roles), "app", "user", None)


def partner(org: str = "acme.example", tenant: str = "demo") -> Principal:
    return Principal(tenant, org, frozenset(), None, "partner", None)
