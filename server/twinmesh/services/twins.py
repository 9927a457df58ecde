"""Reading and writing twins and relationships on behalf of a tenant, validated by its models."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twinmesh.audit.records import AuditEvent
from twinmesh.domain import (
    JSONObject,
    NewRelationship,
    NewTwin,
    Relationship,
    TenantId,
    Twin,
    TwinUpdate,
    is_remote_ref,
    validate_identifier,
)
from twinmesh.errors import NotFound, ValidationFailed
from twinmesh.ontology import Interface, Violation, check_relationship, check_twin
from twinmesh.services.models import ModelRegistry
from twinmesh.services.patching import (
    apply_patch,
    merged_document,
    parse_patch,
    split_document,
    touched_name,
)
from twinmesh.store.port import GraphStore

PatchDocument = Sequence[Mapping[str, Any]]
# Called inside the write transaction with the current twin, its model and the property names
# the patch touches; raises (e.g. Forbidden) to refuse. Must be pure: stores may retry it.
UpdateCheck = Callable[[Twin, Interface, frozenset[str]], None]


class _ModelNotCached(Exception):
    """Raised inside a patch callback when this process has not loaded the twin's model."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.model = model


def _known_id(value: str, what: str, message: str) -> str:
    """A write's target id; one that cannot exist answers like one that does not."""
    try:
        return validate_identifier(value, what=what)
    except ValidationFailed:
        raise NotFound(message) from None


def _reject(violations: Sequence[Violation], what: str) -> None:
    if violations:
        first = violations[0]
        raise ValidationFailed(
            f"The {what} does not match its model: {first.message}"
            + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
            details={
                "violations": [
                    {"path": v.path, "code": v.code, "message": v.message} for v in violations
                ]
            },
        )


@dataclass(frozen=True, slots=True)
class TwinService:
    """Twin use cases; the tenant always comes from the caller's verified context."""

    store: GraphStore
    models: ModelRegistry

    async def get_twin(self, tenant: TenantId, twin_id: str) -> Twin | None:
        """The twin, or ``None`` when the tenant has none with that id (or the id is invalid)."""
        try:
            validate_identifier(twin_id, what="twin")
        except ValidationFailed:
            return None
        return await self.store.get_twin(tenant, twin_id)

    async def _interface_of(self, tenant: TenantId, twin: Twin) -> Interface:
        interface = await self.models.interface(tenant, twin.model)
        if interface is None:  # the model was deleted under the twin: refuse to guess
            raise ValidationFailed(
                f"Twin {twin.id!r} uses model {twin.model!r}, which is no longer uploaded."
            )
        return interface

    async def create_twin(
        self, tenant: TenantId, twin: NewTwin, *, audit: AuditEvent | None = None
    ) -> Twin:
        """Validate against the (active) model, then store."""
        validate_identifier(twin.id, what="twin")
        interface = await self.models.require_active(tenant, twin.model)
        resolved = await self.models.interfaces(tenant)
        _reject(
            check_twin(interface, twin.properties, twin.components, resolve=resolved.get),
            "twin",
        )
        return await self.store.create_twin(tenant, twin, audit=audit)

    async def create_relationship(
        self, tenant: TenantId, rel: NewRelationship, *, audit: AuditEvent | None = None
    ) -> Relationship:
        """Validate name, target model, multiplicity and properties, then store."""
        rel_id = rel.id or uuid.uuid4().hex
        validate_identifier(rel_id, what="relationship")
        source = await self.store.get_twin(tenant, rel.source_id)
        if source is None:
            raise NotFound(f"No source twin with id {rel.source_id!r} exists.")
        target_interface: Interface | None = None
        remote = is_remote_ref(rel.target)
        if not remote:
            target = await self.store.get_twin(tenant, rel.target)
            if target is None:
                raise NotFound(f"No target twin with id {rel.target!r} exists.")
            target_interface = await self._interface_of(tenant, target)
        existing = await self.store.list_relationships(tenant, rel.source_id, name=rel.name)
        _reject(
            check_relationship(
                await self._interface_of(tenant, source),
                rel.name,
                target=target_interface,
                target_is_remote=remote,
                properties=rel.properties,
                existing_count=len(existing),
            ),
            "relationship",
        )
        return await self.store.create_relationship(
            tenant,
            NewRelationship(
                source_id=rel.source_id,
                id=rel_id,
                name=rel.name,
                target=rel.target,
                properties=rel.properties,
            ),
            audit=audit,
        )

    # -- updates and deletes ---------------------------------------------------------------

    async def update_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        patch: PatchDocument,
        *,
        if_match: str | None = None,
        authorize: UpdateCheck | None = None,
        audit: AuditEvent | None = None,
    ) -> Twin:
        """Apply a JSON Patch (see :mod:`twinmesh.services.patching`) to the twin's property
        document under the store's write lock, validated as an update (writability)."""
        _known_id(twin_id, "twin", f"No twin with id {twin_id!r} exists.")
        operations = parse_patch(patch)
        for attempt in range(2):
            resolved = await self.models.interfaces(tenant)

            def apply(current: Twin, resolved: dict[str, Interface] = resolved) -> TwinUpdate:
                interface = resolved.get(current.model)
                if interface is None:
                    raise _ModelNotCached(current.model)
                document, paths = apply_patch(
                    merged_document(current.properties, current.components), operations
                )
                properties, components = split_document(interface, document)
                touched = frozenset(touched_name(interface, resolved.get, p) for p in paths)
                if authorize is not None:  # on the locked current twin: raising rolls back
                    authorize(current, interface, touched)
                _reject(
                    check_twin(
                        interface, properties, components, resolve=resolved.get, changed=touched
                    ),
                    "patched twin",
                )
                return TwinUpdate(properties, components, touched)

            try:
                return await self.store.patch_twin(
                    tenant, twin_id, apply, if_match=if_match, audit=audit
                )
            except _ModelNotCached as missing:
                # Another replica may have uploaded the model: reload once, then refuse.
                if attempt or await self.models.interface(tenant, missing.model) is None:
                    raise ValidationFailed(
                        f"Twin {twin_id!r} uses model {missing.model!r}, which is no longer "
                        "uploaded."
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def delete_twin(
        self,
        tenant: TenantId,
        twin_id: str,
        *,
        if_match: str | None = None,
        cascade: bool = False,
        audit: AuditEvent | None = None,
    ) -> None:
        """Delete a twin; refused while relationships touch it unless ``cascade``."""
        _known_id(twin_id, "twin", f"No twin with id {twin_id!r} exists.")
        await self.store.delete_twin(
            tenant, twin_id, if_match=if_match, cascade=cascade, audit=audit
        )

    async def delete_relationship(
        self,
        tenant: TenantId,
        source_id: str,
        rel_id: str,
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> None:
        message = f"Twin {source_id!r} has no relationship with id {rel_id!r}."
        _known_id(source_id, "twin", message)
        _known_id(rel_id, "relationship", message)
        await self.store.delete_relationship(
            tenant, source_id, rel_id, if_match=if_match, audit=audit
        )

    async def update_relationship(
        self,
        tenant: TenantId,
        source_id: str,
        rel_id: str,
        patch: PatchDocument,
        *,
        if_match: str | None = None,
        audit: AuditEvent | None = None,
    ) -> Relationship:
        """Apply a JSON Patch to a relationship's properties, validated against the
        properties its declaration gives it (writability included)."""
        message = f"Twin {source_id!r} has no relationship with id {rel_id!r}."
        _known_id(source_id, "twin", message)
        _known_id(rel_id, "relationship", message)
        operations = parse_patch(patch)
        source = await self.store.get_twin(tenant, source_id)
        if source is None:
            raise NotFound(message)
        interface = await self._interface_of(tenant, source)

        def apply(current: Relationship) -> JSONObject:
            properties, paths = apply_patch(current.properties, operations)
            _reject(
                check_relationship(
                    interface,
                    current.name,
                    target=None,
                    target_is_remote=is_remote_ref(current.target),
                    properties=properties,
                    existing_count=0,
                    changed=frozenset(p[0] for p in paths if p),
                ),
                "patched relationship",
            )
            return properties

        return await self.store.patch_relationship(
            tenant, source_id, rel_id, apply, if_match=if_match, audit=audit
        )
