"""SQLite schema of the embedded store; applied idempotently on open.

:data:`SCHEMA` creates what is missing; :data:`COLUMN_UPGRADES` then adds columns that a data
file written by an older twinmesh lacks (``ALTER TABLE ... ADD COLUMN``, run only when
``PRAGMA table_info`` does not list the column).
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS twins (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    model       TEXT NOT NULL,
    properties  TEXT NOT NULL,
    components  TEXT NOT NULL,
    etag        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    metadata    TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS twins_by_model ON twins (tenant, model, id);

CREATE TABLE IF NOT EXISTS relationships (
    tenant      TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    target      TEXT NOT NULL,
    properties  TEXT NOT NULL,
    etag        TEXT NOT NULL,
    PRIMARY KEY (tenant, source_id, id),
    FOREIGN KEY (tenant, source_id) REFERENCES twins (tenant, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tenants (
    tenant      TEXT PRIMARY KEY,
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS models (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    document        TEXT NOT NULL,
    uploaded_at     TEXT NOT NULL,
    decommissioned  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS relationships_by_target ON relationships (tenant, target, source_id, id);

CREATE TABLE IF NOT EXISTS audit_heads (
    tenant      TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit_records (
    tenant      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    time        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (tenant, seq)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS audit_records_by_time ON audit_records (tenant, time);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    tenant      TEXT NOT NULL,
    to_seq      INTEGER NOT NULL,
    from_seq    INTEGER NOT NULL,
    document    TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_checkpoints_by_seq ON audit_checkpoints (tenant, to_seq);

CREATE TABLE IF NOT EXISTS federation_nonces (
    tenant      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, nonce)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS partners (
    tenant      TEXT PRIMARY KEY,
    settings    TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS policy_versions (
    tenant      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, version)
) WITHOUT ROWID;
"""

# (table, column, ALTER statement) for columns added after the first release.
COLUMN_UPGRADES: tuple[tuple[str, str, str], ...] = (
    ("twins", "metadata", "ALTER TABLE twins ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'"),
)
