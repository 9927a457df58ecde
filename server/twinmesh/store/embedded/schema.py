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
"""

# (table, column, ALTER statement) for columns added after the first release.
COLUMN_UPGRADES: tuple[tuple[str, str, str], ...] = (
    ("twins", "metadata", "ALTER TABLE twins ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'"),
)
