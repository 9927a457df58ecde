"""Settings: ``TWINMESH_*`` environment variables over an optional TOML file over defaults.

This is the only module that reads the environment. Each setting ``foo_bar`` is the variable
``TWINMESH_FOO_BAR`` and the TOML key ``foo_bar``; the TOML file is named by ``--config`` or
``TWINMESH_CONFIG``. Precedence: explicit overrides (CLI flags) > environment > file > defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_VARIABLE = "TWINMESH_CONFIG"


class IssuerSettings(BaseModel):
    """One trusted issuer of access tokens (see :class:`twinmesh.auth.IssuerConfig`)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str
    audience: str
    jwks_uri: str | None = None
    jwks: dict[str, Any] | None = None
    algorithms: list[str] = ["ES256", "RS256", "EdDSA"]
    tenant_claim: str = "tenant"
    fixed_tenant: str | None = None
    roles_claim: str = "roles"


class PartnerSettings(BaseModel):
    """A partner organisation (federation): where it is, how to know its keys, what it may
    address here."""

    model_config = ConfigDict(extra="forbid")

    org: str = Field(description="The partner's organisation id (a DNS-like name).")
    base_url: str = Field(description="Its twinmesh, e.g. https://twins.partner.example.")
    keys: list[dict[str, Any]] | None = Field(
        default=None, description="Pinned public keys (its /.well-known/twinmesh/keys entries)."
    )
    keys_url: str | None = Field(
        default=None,
        description="Where to fetch its keys (default: <base_url>/.well-known/twinmesh/keys).",
    )
    tenants: list[str] = Field(
        default_factory=list, description="Our tenants this partner may query."
    )
    remote_tenant: str | None = Field(
        default=None, description="The partner's tenant our fan-out queries address."
    )
    timeout_s: float = Field(default=2.0, gt=0, le=60, description="Per-request timeout.")


class TenantSettings(BaseModel):
    """A tenant this server serves."""

    model_config = ConfigDict(extra="forbid")

    id: str
    disabled: bool = False
    audit_reads: Literal["off", "denied-only", "all"] = Field(
        default="denied-only",
        description="Reads the audit log records: off, denied-only (denials only) or all.",
    )
    audit_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Delete audit records older than this many days (unset: keep forever).",
    )


class Settings(BaseSettings):
    """Everything twinmesh can be configured with."""

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(
        env_prefix="TWINMESH_", extra="forbid", validate_default=True
    )

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port to listen on.")
    store: Literal["embedded", "neo4j"] = Field(
        default="embedded", description="Graph store: the embedded SQLite file or Neo4j."
    )
    data_dir: Path = Field(
        default=Path("data"), description="Directory of the embedded store's database file."
    )
    demo: bool = Field(default=False, description="Seed and serve the demo tenant.")
    neo4j_uri: str = Field(default="bolt://127.0.0.1:7687", description="Neo4j Bolt URI.")
    neo4j_user: str = Field(default="neo4j", description="Neo4j user name.")
    neo4j_password: SecretStr = Field(default=SecretStr(""), description="Neo4j password.")
    neo4j_database: str = Field(default="neo4j", description="Neo4j database name.")
    neo4j_retry_budget_s: float = Field(
        default=5.0, gt=0, description="How long transient Neo4j failures are retried."
    )
    auth_issuers: list[IssuerSettings] = Field(
        default_factory=list,
        description="Trusted OAuth2 issuers of access tokens (a TOML array of tables).",
    )
    auth_dev_issuer: bool = Field(
        default=False,
        description="Trust the built-in development issuer (on with --demo); any tenant it names "
        "is served.",
    )
    auth_leeway_s: float = Field(
        default=60.0, ge=0, le=300, description="Clock leeway for token exp/nbf/iat, seconds."
    )
    policies_dir: Path = Field(
        default=Path("policies"),
        description="Cedar schema (schema.cedarschema) and one folder of *.cedar per tenant.",
    )
    platform_tenant: str = Field(
        default="platform", description="Tenant whose administrators manage the tenants."
    )
    platform_admin_role: str = Field(
        default="platform-admin", description="Role of a platform administrator's token."
    )
    tenants: list[TenantSettings] = Field(
        default_factory=list, description="Tenants served to tokens of the trusted issuers."
    )
    org_id: str = Field(
        default="local.twinmesh", description="This organisation's id in federation."
    )
    public_origin: str = Field(
        default="http://127.0.0.1:8080",
        description="The origin partners sign requests for (checked as @authority).",
    )
    partners: list[PartnerSettings] = Field(
        default_factory=list, description="Partner organisations (federation)."
    )
    federation_hop_budget: int = Field(
        default=3, ge=0, le=8, description="How many organisations a traversal may cross."
    )
    keys_file: Path | None = Field(
        default=None,
        description="The organisation's Ed25519 keyring (twinmesh keys generate); default "
        "<data_dir>/org-keys.json, created on first start if missing.",
    )
    audit_checkpoint_interval_s: float = Field(
        default=300.0, gt=0, description="Seconds between signed audit checkpoints."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Server log level."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from overrides, the environment and the TOML file (argument or variable)."""
    path = config_file or (Path(v) if (v := os.environ.get(CONFIG_FILE_VARIABLE)) else None)
    if path is None:
        return Settings(**overrides)
    if not path.is_file():
        raise FileNotFoundError(f"The config file {path} does not exist.")

    class FileSettings(Settings):
        model_config: ClassVar[SettingsConfigDict] = {**Settings.model_config, "toml_file": path}

    return FileSettings(**overrides)
