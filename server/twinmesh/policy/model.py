"""Value types of the policy layer: actions, resource references, decisions and list filters.

These are plain frozen dataclasses so that services can build requests and read decisions
without importing ``cedarpy``; only :mod:`twinmesh.policy.engine` and
:mod:`twinmesh.policy.store` talk to the Cedar engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias, get_args

from twinmesh.store.plan import Predicate

NAMESPACE: Final = "TwinMesh"

Action = Literal[
    "readTwin",
    "createTwin",
    "updateTwin",
    "deleteTwin",
    "traverse",
    "readProperty",
    "writeProperty",
    "uploadModels",
    "deleteModel",
    "administerPolicies",
    "readAudit",
    "exportAudit",
]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

ResourceType = Literal["Twin", "Relationship", "Model", "PolicySet", "AuditLog"]

# The attributes the engine puts on a Twin entity (the schema declares exactly these).
TWIN_ATTRIBUTES: Final = frozenset({"model", "models", "tenant"})


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """What a request acts on, as the policy engine sees it.

    Build one with the class methods; ``attrs`` holds the Cedar attributes other than
    ``tenant``, which the engine always sets from the tenant being authorised.
    """

    type: ResourceType
    id: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    source: ResourceRef | None = None  # a relationship's source twin

    @classmethod
    def twin(cls, twin_id: str, model: str, ancestors: tuple[str, ...] = ()) -> ResourceRef:
        """A twin of ``model``; ``ancestors`` are the DTMIs ``model`` extends (transitively)."""
        models = sorted({model, *ancestors})
        return cls("Twin", twin_id, {"model": model, "models": models})

    @classmethod
    def relationship(cls, rel_id: str, name: str, source: ResourceRef) -> ResourceRef:
        """A relationship of ``source`` (a twin reference); ids are unique per source twin."""
        if source.type != "Twin":
            raise ValueError("a relationship's source is a twin")
        return cls("Relationship", f"{source.id}/{rel_id}", {"name": name}, source)

    @classmethod
    def model(cls, dtmi: str) -> ResourceRef:
        return cls("Model", dtmi)

    @classmethod
    def policy_set(cls) -> ResourceRef:
        """The tenant's policy set (the resource of ``administerPolicies``)."""
        return cls("PolicySet", "active")

    @classmethod
    def audit_log(cls) -> ResourceRef:
        return cls("AuditLog", "log")


@dataclass(frozen=True, slots=True)
class Decision:
    """An authorisation outcome.

    ``policy_ids`` are the ``@id`` annotations of the policies that decided (the satisfied
    permits on allow, the satisfied forbids on an explicit deny, none on a default deny).
    ``errors`` is non-empty when the engine failed; such a decision is always a deny.
    """

    allowed: bool
    policy_ids: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


class DenyAll:
    """The type of :data:`DENY_ALL`: no twin can be permitted, skip the query."""

    _instance: DenyAll | None = None

    def __new__(cls) -> DenyAll:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DENY_ALL"


DENY_ALL: Final = DenyAll()

TwinWhere: TypeAlias = Predicate | DenyAll | None
"""A pushed-down policy filter: a plan predicate, ``None`` (no restriction) or DENY_ALL."""


@dataclass(frozen=True, slots=True)
class TwinFilter:
    """The policy conditions of one (principal, action) over twins, as a plan predicate.

    ``where`` is AND-ed into ``TwinListQuery.where``. ``warnings`` lists the policies (by id)
    whose conditions could not be translated; each was narrowed, never widened: an
    untranslatable permit is dropped and an untranslatable forbid forbids every twin.
    """

    where: TwinWhere
    warnings: tuple[str, ...] = ()
