"""Every SQL statement the embedded adapter sends, as constants.

Request data never appears in this text: it travels only as ``:named`` parameters. Each
statement on tenant data matches ``:tenant``, which the adapter binds in one place.
"""

# A twin row is read as (id, model, properties, components, etag, created_at, updated_at,
# metadata): the order the adapter's ``_twin`` expects.
GET_TWIN = (
    "SELECT id, model, properties, components, etag, created_at, updated_at, metadata "
    "FROM twins WHERE tenant = :tenant AND id = :id"
)
INSERT_TWIN = (
    "INSERT INTO twins (tenant, id, model, properties, components, etag, created_at, updated_at, "
    "metadata) VALUES (:tenant, :id, :model, :properties, :components, :etag, :created_at, "
    ":updated_at, :metadata)"
)
UPDATE_TWIN = (
    "UPDATE twins SET properties = :properties, components = :components, etag = :etag, "
    "updated_at = :updated_at, metadata = :metadata WHERE tenant = :tenant AND id = :id"
)
# Whether a twin has outgoing and incoming relationships (a delete without cascade refuses).
TWIN_RELATIONSHIP_COUNTS = (
    "SELECT (SELECT COUNT(*) FROM relationships WHERE tenant = :tenant AND source_id = :id), "
    "(SELECT COUNT(*) FROM relationships WHERE tenant = :tenant AND target = :id)"
)
# Outgoing relationships follow by ON DELETE CASCADE; incoming ones are deleted first.
DELETE_INCOMING = "DELETE FROM relationships WHERE tenant = :tenant AND target = :id"
DELETE_TWIN = "DELETE FROM twins WHERE tenant = :tenant AND id = :id"

GET_RELATIONSHIP = (
    "SELECT source_id, id, name, target, properties, etag FROM relationships "
    "WHERE tenant = :tenant AND source_id = :source_id AND id = :id"
)
INSERT_RELATIONSHIP = (
    "INSERT INTO relationships (tenant, source_id, id, name, target, properties, etag) "
    "VALUES (:tenant, :source_id, :id, :name, :target, :properties, :etag)"
)
LIST_OUTGOING = (
    "SELECT source_id, id, name, target, properties, etag FROM relationships "
    "WHERE tenant = :tenant AND source_id = :id AND (:name IS NULL OR name = :name) "
    "ORDER BY id"
)
LIST_INCOMING = (
    "SELECT source_id, id, name, target, properties, etag FROM relationships "
    "WHERE tenant = :tenant AND target = :id AND (:name IS NULL OR name = :name) "
    "ORDER BY source_id, id"
)
DELETE_RELATIONSHIP = (
    "DELETE FROM relationships WHERE tenant = :tenant AND source_id = :source_id AND id = :id"
)
UPDATE_RELATIONSHIP = (
    "UPDATE relationships SET properties = :properties, etag = :etag "
    "WHERE tenant = :tenant AND source_id = :source_id AND id = :id"
)

GET_MODEL = (
    "SELECT id, document, uploaded_at, decommissioned FROM models "
    "WHERE tenant = :tenant AND id = :id"
)
LIST_MODELS = (
    "SELECT id, document, uploaded_at, decommissioned FROM models "
    "WHERE tenant = :tenant ORDER BY id"
)
INSERT_MODEL = (
    "INSERT INTO models (tenant, id, document, uploaded_at, decommissioned) "
    "VALUES (:tenant, :id, :document, :uploaded_at, 0)"
)
DECOMMISSION_MODEL = "UPDATE models SET decommissioned = 1 WHERE tenant = :tenant AND id = :id"
MODEL_IN_USE = "SELECT 1 FROM twins WHERE tenant = :tenant AND model = :id LIMIT 1"
DELETE_MODEL = "DELETE FROM models WHERE tenant = :tenant AND id = :id"

# Which of a JSON list of twin ids ({"ids": [...]}) the tenant has: bulk imports check it once.
EXISTING_TWIN_IDS = (
    "SELECT id FROM twins WHERE tenant = :tenant "
    "AND id IN (SELECT value FROM json_each(:ids, '$.ids'))"
)

# Platform tenant records: keyed by the tenant itself.
SAVE_TENANT = (
    "INSERT INTO tenants (tenant, disabled, created_at) VALUES (:tenant, :disabled, :created_at) "
    "ON CONFLICT (tenant) DO UPDATE SET disabled = excluded.disabled"
)
GET_TENANT = "SELECT tenant, disabled, created_at FROM tenants WHERE tenant = :tenant"
LIST_TENANTS = "SELECT tenant, disabled, created_at FROM tenants ORDER BY tenant"

# The audit chain: the head row is read and written inside the change's transaction (SQLite
# serialises writers, so BEGIN IMMEDIATE is the chain lock).
GET_AUDIT_HEAD = "SELECT seq, hash FROM audit_heads WHERE tenant = :tenant"
SET_AUDIT_HEAD = (
    "INSERT INTO audit_heads (tenant, seq, hash) VALUES (:tenant, :seq, :hash) "
    "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)
INSERT_AUDIT_RECORD = (
    "INSERT INTO audit_records (tenant, seq, time, hash, record) "
    "VALUES (:tenant, :seq, :time, :hash, :record)"
)
READ_AUDIT = (
    "SELECT seq, hash, time, record FROM audit_records "
    "WHERE tenant = :tenant AND seq > :after AND seq <= :through ORDER BY seq LIMIT :limit"
)
AUDIT_SEQ_RANGE = (
    "SELECT (SELECT min(seq) FROM audit_records WHERE tenant = :tenant AND time >= :since), "
    "(SELECT max(seq) FROM audit_records WHERE tenant = :tenant AND time < :until)"
)
PRUNE_AUDIT = "DELETE FROM audit_records WHERE tenant = :tenant AND seq <= :through"
INSERT_CHECKPOINT = (
    "INSERT INTO audit_checkpoints (tenant, to_seq, from_seq, document) "
    "VALUES (:tenant, :to_seq, :from_seq, :document)"
)
LIST_CHECKPOINTS = (
    "SELECT document FROM audit_checkpoints WHERE tenant = :tenant "
    "AND to_seq >= :from_seq AND to_seq <= :to_seq ORDER BY to_seq, rowid"
)
LAST_CHECKPOINT = (
    "SELECT document FROM audit_checkpoints WHERE tenant = :tenant "
    "ORDER BY to_seq DESC, rowid DESC LIMIT 1"
)

# Policy versions: numbered per tenant inside the transaction that adds one; the newest is active.
LIST_POLICY_VERSIONS = (
    "SELECT version, text, sha256, source, created_at FROM policy_versions "
    "WHERE tenant = :tenant ORDER BY version"
)
LATEST_POLICY_VERSION = "SELECT max(version) FROM policy_versions WHERE tenant = :tenant"
INSERT_POLICY_VERSION = (
    "INSERT INTO policy_versions (tenant, version, text, sha256, source, created_at) "
    "VALUES (:tenant, :version, :text, :sha256, :source, :created_at)"
)

# Federation (platform data; the partner's org stands in the tenant column): replay nonces
# and partners registered over the API.
REMEMBER_NONCE = (
    "INSERT INTO federation_nonces (tenant, nonce, expires_at) "
    "VALUES (:tenant, :nonce, :expires_at) ON CONFLICT DO NOTHING"
)
FORGET_EXPIRED_NONCES = "DELETE FROM federation_nonces WHERE tenant = :tenant AND expires_at < :now"
SAVE_PARTNER = (
    "INSERT INTO partners (tenant, settings) VALUES (:tenant, :settings) "
    "ON CONFLICT (tenant) DO UPDATE SET settings = excluded.settings"
)
DELETE_PARTNER = "DELETE FROM partners WHERE tenant = :tenant"
LIST_PARTNERS = "SELECT tenant, settings FROM partners ORDER BY tenant"
