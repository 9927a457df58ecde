"""Per-tenant Cedar policy sets: versions, validation, activation, rollback and hot reload.

Policy sources live on disk as ``<root>/schema.cedarschema`` (one schema for every tenant)
and ``<root>/<tenant>/*.cedar`` (one tenant's policy set, the files joined in name order).
Every activation, from disk or through the admin API, becomes a new numbered version kept in
memory; the active version's parsed :class:`cedarpy.PolicySet` is cached so that decisions
never re-parse policy text.

Hot reload is polled: :meth:`PolicyStore.reload_if_changed` compares each tenant directory's
file names, sizes and mtimes with the last look, and re-reads, validates and activates a
tenant's files only when their content hash changed. An edit that does not validate is not
activated (the last good version stays active, the errors are kept in ``load_errors``); a
tenant whose first load fails has no active version, so every decision for it denies.

A server keeps its versions in the graph store (:mod:`twinmesh.services.policies`), so that
every replica serves the same active version and versions survive restarts: this class is then
the process's compiled cache of the store's versions, filled by :meth:`PolicyStore.install`.
Used on its own (tests, ``twinmesh policy`` tools) it numbers versions itself.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import cedarpy

from twinmesh.domain import StoredPolicyVersion
from twinmesh.errors import NotFound, ValidationFailed

SCHEMA_FILE = "schema.cedarschema"
POLICY_SUFFIX = ".cedar"
VersionSource = Literal["disk", "api", "rollback"]
_SOURCES: dict[str, VersionSource] = {"disk": "disk", "api": "api", "rollback": "rollback"}


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One version of a tenant's policy set."""

    tenant: str
    version: int
    text: str
    sha256: str
    source: VersionSource
    created_at: datetime
    policy_ids: tuple[str, ...]  # the policies' @id annotations, in source order


@dataclass(frozen=True, slots=True)
class CompiledPolicies:
    """A version with its parsed policy set and Cedar's internal id -> @id map."""

    version: PolicyVersion
    policies: cedarpy.PolicySet
    ids: Mapping[str, str]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def policy_annotations(text: str) -> dict[str, str]:
    """Cedar's generated policy id -> its ``@id`` annotation ("" when it has none).

    Raises ``ValueError`` when the text does not parse.
    """
    est = json.loads(cedarpy.policies_to_json_str(text))
    out: dict[str, str] = {}
    for key, policy in est.get("staticPolicies", {}).items():
        out[str(key)] = str(policy.get("annotations", {}).get("id") or "")
    for key in est.get("templates", {}):
        out[str(key)] = ""
    return out


class PolicyStore:
    """Versioned policy sets for every tenant, with one schema."""

    def __init__(self, schema_text: str, root: Path | None = None) -> None:
        self.schema_text = schema_text
        self.schema = cedarpy.Schema.from_str(schema_text)
        self.root = root
        self._lock = threading.RLock()
        self._versions: dict[str, list[PolicyVersion]] = {}
        self._active: dict[str, CompiledPolicies] = {}
        self._disk_seen: dict[str, tuple[tuple[str, int, int], ...]] = {}
        self._disk_hash: dict[str, str] = {}
        self.load_errors: dict[str, list[str]] = {}

    @classmethod
    def from_directory(cls, root: Path) -> PolicyStore:
        """Load ``root/schema.cedarschema`` and every tenant directory under ``root``."""
        store = cls((root / SCHEMA_FILE).read_text(encoding="utf-8"), root)
        store.reload_if_changed()
        return store

    # -- validation ---------------------------------------------------------------------------

    def validate(self, text: str) -> list[str]:
        """Problems that keep ``text`` from being activated (empty when it may be)."""
        try:
            annotations = policy_annotations(text)
        except ValueError as error:
            return [f"parse error: {error}"]
        errors: list[str] = []
        result = cedarpy.validate_policies(text, self.schema)
        for item in result.errors:
            where = annotations.get(item.policy_id) or item.policy_id
            errors.append(f"[{where}] {item.error}" if where else item.error)
        errors.sort()  # Cedar reports in no fixed order; answers should not flicker
        seen: set[str] = set()
        for key, policy_id in annotations.items():
            if not policy_id:
                errors.append(f'[{key}] every policy needs an @id("...") annotation')
            elif policy_id in seen:
                errors.append(f"[{policy_id}] duplicate @id")
            seen.add(policy_id)
        return errors

    # -- versions -----------------------------------------------------------------------------

    def activate(self, tenant: str, text: str, *, source: VersionSource = "api") -> int:
        """Validate ``text`` and make it the tenant's active policy set; its version number.

        Raises :class:`ValidationFailed` (listing the problems) when it does not validate.
        """
        errors = self.validate(text)
        if errors:
            raise ValidationFailed(
                "The policy set does not validate against the schema.",
                details={"errors": errors},
            )
        annotations = policy_annotations(text)
        with self._lock:
            versions = self._versions.setdefault(tenant, [])
            version = PolicyVersion(
                tenant=tenant,
                version=versions[-1].version + 1 if versions else 1,
                text=text,
                sha256=_sha256(text),
                source=source,
                created_at=datetime.now(UTC),
                policy_ids=tuple(annotations.values()),
            )
            compiled = self._compile(version, annotations)
            versions.append(version)
            self._active[tenant] = compiled
            return version.version

    def rollback(self, tenant: str, version: int) -> int:
        """Re-activate an earlier version's text as a new version; the new version number."""
        return self.activate(tenant, self.version(tenant, version).text, source="rollback")

    def install(self, tenant: str, stored: Sequence[StoredPolicyVersion]) -> None:
        """Mirror the store's versions of ``tenant``; the newest becomes active.

        A newest version that no longer compiles (say the schema changed under it) leaves the
        tenant with no active version, so every decision denies: never an older, wider set.
        """
        versions: list[PolicyVersion] = []
        for item in stored:
            try:
                annotations = policy_annotations(item.text)
            except ValueError:
                annotations = {}
            versions.append(
                PolicyVersion(
                    tenant=tenant,
                    version=item.version,
                    text=item.text,
                    sha256=item.sha256,
                    source=_SOURCES.get(item.source, "api"),
                    created_at=item.created_at,
                    policy_ids=tuple(annotations.values()),
                )
            )
        compiled: CompiledPolicies | None = None
        if versions and not self.validate(versions[-1].text):
            compiled = self._compile(versions[-1], policy_annotations(versions[-1].text))
        with self._lock:
            self._versions[tenant] = versions
            if compiled is None:
                self._active.pop(tenant, None)
            else:
                self._active[tenant] = compiled

    def latest_version(self, tenant: str) -> int | None:
        with self._lock:
            versions = self._versions.get(tenant)
            return versions[-1].version if versions else None

    def disk_text(self, tenant: str) -> str | None:
        """The tenant's policy set as its folder holds it now, or ``None``."""
        if self.root is None or not (self.root / tenant).is_dir():
            return None
        return self._read(tenant)

    def versions(self, tenant: str) -> list[PolicyVersion]:
        with self._lock:
            return list(self._versions.get(tenant, []))

    def version(self, tenant: str, version: int) -> PolicyVersion:
        with self._lock:
            for candidate in self._versions.get(tenant, []):
                if candidate.version == version:
                    return candidate
            raise NotFound(f"Tenant {tenant!r} has no policy set version {version}.")

    def tenants(self) -> list[str]:
        with self._lock:
            return sorted(self._versions)

    def active(self, tenant: str) -> CompiledPolicies | None:
        """The tenant's active compiled policy set, or ``None`` (then every request denies)."""
        with self._lock:
            return self._active.get(tenant)

    def compiled(self, tenant: str, version: int | None = None) -> CompiledPolicies | None:
        """The active set, or a given version compiled (for simulating against it)."""
        if version is None:
            return self.active(tenant)
        active = self.active(tenant)
        if active is not None and active.version.version == version:
            return active
        stored = self.version(tenant, version)
        return self._compile(stored, policy_annotations(stored.text))

    @staticmethod
    def _compile(version: PolicyVersion, annotations: Mapping[str, str]) -> CompiledPolicies:
        policies = cedarpy.PolicySet.from_str(version.text)
        return CompiledPolicies(version, policies, dict(annotations))

    # -- disk and hot reload ------------------------------------------------------------------

    def _tenant_dirs(self) -> list[str]:
        if self.root is None or not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def _listing(self, tenant: str) -> tuple[tuple[str, int, int], ...]:
        assert self.root is not None
        directory = self.root / tenant
        if not directory.is_dir():
            return ()
        files = sorted(directory.glob(f"*{POLICY_SUFFIX}"))
        out = []
        for path in files:
            stat = path.stat()
            out.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def adopt(self, tenant: str, template: str) -> bool:
        """Give ``tenant`` the policy set of the tenant folder ``template`` if it has none
        active yet (development tenants start with the demo policies); whether it did."""
        with self._lock:
            if self.active(tenant) is not None or self.root is None:
                return False
            if not (self.root / template).is_dir():
                return False
            self.activate(tenant, self._read(template), source="disk")
            return True

    def _read(self, tenant: str) -> str:
        assert self.root is not None
        files = sorted((self.root / tenant).glob(f"*{POLICY_SUFFIX}"))
        return "\n".join(path.read_text(encoding="utf-8") for path in files)

    def reload_if_changed(self) -> list[str]:
        """Activate changed on-disk policy sets; the tenants whose active set changed."""
        if self.root is None:
            return []
        changed: list[str] = []
        with self._lock:
            for tenant in sorted({*self._tenant_dirs(), *self._disk_seen}):
                listing = self._listing(tenant)
                if self._disk_seen.get(tenant) == listing:
                    continue
                self._disk_seen[tenant] = listing
                try:
                    text = self._read(tenant)
                except OSError as error:
                    self.load_errors[tenant] = [f"cannot read policy files: {error}"]
                    continue
                if self._disk_hash.get(tenant) == _sha256(text):
                    continue
                errors = self.validate(text)
                if errors:
                    self.load_errors[tenant] = errors
                    continue
                self.activate(tenant, text, source="disk")
                self._disk_hash[tenant] = _sha256(text)
                self.load_errors.pop(tenant, None)
                changed.append(tenant)
        return changed
