"""The composition root: settings in, a wired application out.

Everything is built here from :class:`~twinmesh.config.Settings`; tests pass other adapters in
instead of monkeypatching.
"""

from __future__ import annotations

from dataclasses import dataclass

from twinmesh.auth import Authenticator, DevIssuer, IssuerConfig, TokenVerifier
from twinmesh.config import Settings
from twinmesh.federation.outbound import FederationClient
from twinmesh.federation.partners import PartnerRegistry
from twinmesh.federation.service import Federation
from twinmesh.identity import KEYRING_FILE, load_or_create
from twinmesh.policy import PolicyEngine, PolicyStore
from twinmesh.services.audit_log import AuditLog, TenantAuditSettings
from twinmesh.services.models import ModelRegistry
from twinmesh.services.policies import PolicyVersions
from twinmesh.services.reads import TwinReads
from twinmesh.services.tenants import TenantDirectory
from twinmesh.services.twins import TwinService
from twinmesh.store.embedded import EmbeddedStore
from twinmesh.store.neo4j import Neo4jStore
from twinmesh.store.port import GraphStore

EMBEDDED_FILE = "twinmesh.sqlite3"


@dataclass(frozen=True, slots=True)
class Services:
    """What the HTTP and GraphQL layers need, built once per process."""

    store: GraphStore
    models: ModelRegistry
    twins: TwinService
    reads: TwinReads
    auth: Authenticator
    tenants: TenantDirectory
    dev_issuer: DevIssuer | None
    policies: PolicyEngine
    policy_versions: PolicyVersions
    audit: AuditLog
    federation: Federation
    audit_checkpoint_interval_s: float = 300.0


def build_store(settings: Settings) -> GraphStore:
    """The configured graph store adapter (not yet opened)."""
    if settings.store == "neo4j":
        return Neo4jStore(
            settings.neo4j_uri,
            user=settings.neo4j_user,
            password=settings.neo4j_password.get_secret_value(),
            database=settings.neo4j_database,
            retry_budget_s=settings.neo4j_retry_budget_s,
        )
    return EmbeddedStore(settings.data_dir / EMBEDDED_FILE)


def build_services(settings: Settings, *, store: GraphStore | None = None) -> Services:
    """Wire the services over ``store`` (default: the one the settings name)."""
    store = store or build_store(settings)
    models = ModelRegistry(store)
    issuers = [
        IssuerConfig(**{**issuer.model_dump(), "algorithms": tuple(issuer.algorithms)})
        for issuer in settings.auth_issuers
    ]
    tenants = TenantDirectory(
        store,
        {tenant.id: not tenant.disabled for tenant in settings.tenants},
        platform_tenant=settings.platform_tenant,
        platform_admin_role=settings.platform_admin_role,
    )
    dev_issuer = None
    if settings.auth_dev_issuer or settings.demo:
        dev_issuer = DevIssuer.load_or_create(settings.data_dir)
        issuers.append(dev_issuer.issuer_config())
    policies = PolicyEngine(PolicyStore.from_directory(settings.policies_dir))
    keyring = load_or_create(settings.keys_file or settings.data_dir / KEYRING_FILE)
    audit = AuditLog(
        store,
        keyring,
        {
            t.id: TenantAuditSettings(t.audit_reads, t.audit_retention_days)
            for t in settings.tenants
        },
    )
    registry = PartnerRegistry(store, settings.partners)
    federation = Federation(
        org_id=settings.org_id,
        public_origin=settings.public_origin.rstrip("/"),
        registry=registry,
        client=FederationClient(settings.org_id, lambda: audit.keyring, registry),
        hop_budget=settings.federation_hop_budget,
    )
    return Services(
        store=store,
        models=models,
        twins=TwinService(store, models),
        reads=TwinReads(store, models),
        auth=Authenticator(
            TokenVerifier(issuers, leeway=settings.auth_leeway_s),
            tenants.enabled,
            any_tenant=dev_issuer is not None,
        ),
        tenants=tenants,
        dev_issuer=dev_issuer,
        policies=policies,
        policy_versions=PolicyVersions(store, policies.store),
        audit=audit,
        federation=federation,
        audit_checkpoint_interval_s=settings.audit_checkpoint_interval_s,
    )
