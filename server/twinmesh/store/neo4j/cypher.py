"""Every Cypher statement the Neo4j adapter sends, as constants.

Request data never appears in this text: it travels only as ``$parameters``. Each statement
that touches tenant data matches on ``$tenant``, which the adapter binds in one place.
"""

SCHEMA = (
    "CREATE CONSTRAINT twin_identity IF NOT EXISTS FOR (t:Twin) REQUIRE (t.tenant, t.id) IS UNIQUE",
    "CREATE INDEX twin_model IF NOT EXISTS FOR (t:Twin) ON (t.tenant, t.model)",
    "CREATE CONSTRAINT model_identity IF NOT EXISTS "
    "FOR (m:Model) REQUIRE (m.tenant, m.id) IS UNIQUE",
    "CREATE CONSTRAINT tenant_record_identity IF NOT EXISTS "
    "FOR (t:TenantRecord) REQUIRE t.tenant IS UNIQUE",
    "CREATE CONSTRAINT remote_twin_identity IF NOT EXISTS "
    "FOR (r:RemoteTwin) REQUIRE (r.tenant, r.ref) IS UNIQUE",
    "CREATE CONSTRAINT audit_head_identity IF NOT EXISTS "
    "FOR (h:AuditHead) REQUIRE h.tenant IS UNIQUE",
    "CREATE CONSTRAINT audit_record_identity IF NOT EXISTS "
    "FOR (a:AuditRecord) REQUIRE (a.tenant, a.seq) IS UNIQUE",
    "CREATE INDEX audit_record_time IF NOT EXISTS FOR (a:AuditRecord) ON (a.tenant, a.time)",
    "CREATE INDEX audit_checkpoint_seq IF NOT EXISTS "
    "FOR (c:AuditCheckpoint) ON (c.tenant, c.to_seq)",
    "CREATE CONSTRAINT nonce_identity IF NOT EXISTS "
    "FOR (n:FederationNonce) REQUIRE (n.tenant, n.nonce) IS UNIQUE",
    "CREATE CONSTRAINT partner_identity IF NOT EXISTS "
    "FOR (p:PartnerRecord) REQUIRE p.tenant IS UNIQUE",
    "CREATE CONSTRAINT policy_head_identity IF NOT EXISTS "
    "FOR (h:PolicyHead) REQUIRE h.tenant IS UNIQUE",
    "CREATE CONSTRAINT policy_version_identity IF NOT EXISTS "
    "FOR (p:PolicyVersion) REQUIRE (p.tenant, p.version) IS UNIQUE",
)

TWIN_FIELDS = (
    "t { .id, .model, .properties, .components, .etag, .created_at, .updated_at, .metadata } "
    "AS twin"
)
REL_FIELDS = "r { .source_id, .id, .name, .target, .properties, .etag } AS rel"

GET_TWIN = f"MATCH (t:Twin {{tenant: $tenant, id: $id}}) RETURN {TWIN_FIELDS}"

# Taking the write lock first makes the etag read that follows see the last committed value.
LOCK_TWIN = (
    "MATCH (t:Twin {tenant: $tenant, id: $id}) SET t._lock = true REMOVE t._lock "
    f"RETURN {TWIN_FIELDS}"
)

# A twin node is written whole from $node (document, metadata and p.<path> leaves); tenant and
# id are always set from their own parameters.
CREATE_TWIN = f"CREATE (t:Twin) SET t = $node, t.tenant = $tenant, t.id = $id RETURN {TWIN_FIELDS}"

# One SET with tenant and id inside the map: `SET t = $node, t.tenant = ...` drops and re-adds
# the constrained keys, which deadlocks concurrent patches of one twin.
REPLACE_TWIN = (
    "MATCH (t:Twin {tenant: $tenant, id: $id}) "
    "WITH t, $node AS node SET t = node {.*, tenant: $tenant, id: $id} "
    f"RETURN {TWIN_FIELDS}"
)

# How many relationships start and end at a twin (a delete without cascade refuses).
TWIN_RELATIONSHIP_COUNTS = (
    "MATCH (t:Twin {tenant: $tenant, id: $id}) "
    "RETURN COUNT { (t)-[:REL]->() } AS outgoing, COUNT { (t)<-[:REL]-() } AS incoming"
)

DELETE_TWIN = (
    "MATCH (t:Twin {tenant: $tenant, id: $id}) "
    "OPTIONAL MATCH (t)-[:REL]->(remote:RemoteTwin) "
    "DETACH DELETE t "
    "WITH DISTINCT remote WHERE remote IS NOT NULL AND NOT (remote)<-[:REL]-() "
    "DELETE remote"
)

GET_RELATIONSHIP = (
    f"MATCH (:Twin {{tenant: $tenant, id: $source_id}})-[r:REL {{id: $id}}]->() RETURN {REL_FIELDS}"
)

CREATE_LOCAL_RELATIONSHIP = (
    "MATCH (s:Twin {tenant: $tenant, id: $source_id}), (t:Twin {tenant: $tenant, id: $target}) "
    "CREATE (s)-[r:REL {tenant: $tenant, source_id: $source_id, id: $id, name: $name, "
    "target: $target, properties: $properties, etag: $etag}]->(t) "
    f"RETURN {REL_FIELDS}"
)

CREATE_REMOTE_RELATIONSHIP = (
    "MATCH (s:Twin {tenant: $tenant, id: $source_id}) "
    "MERGE (t:RemoteTwin {tenant: $tenant, ref: $target}) "
    "CREATE (s)-[r:REL {tenant: $tenant, source_id: $source_id, id: $id, name: $name, "
    "target: $target, properties: $properties, etag: $etag}]->(t) "
    f"RETURN {REL_FIELDS}"
)

LIST_OUTGOING = (
    "MATCH (:Twin {tenant: $tenant, id: $id})-[r:REL]->() "
    "WHERE $name IS NULL OR r.name = $name "
    f"RETURN {REL_FIELDS} ORDER BY r.id"
)

LIST_INCOMING = (
    "MATCH (:Twin {tenant: $tenant, id: $id})<-[r:REL]-(:Twin {tenant: $tenant}) "
    "WHERE $name IS NULL OR r.name = $name "
    f"RETURN {REL_FIELDS} ORDER BY r.source_id, r.id"
)

DELETE_RELATIONSHIP = (
    "MATCH (:Twin {tenant: $tenant, id: $source_id})-[r:REL {id: $id}]->(t) "
    "DELETE r "
    "WITH t WHERE t:RemoteTwin AND NOT (t)<-[:REL]-() "
    "DELETE t"
)

UPDATE_RELATIONSHIP = (
    "MATCH (:Twin {tenant: $tenant, id: $source_id})-[r:REL {id: $id}]->() "
    f"SET r.properties = $properties, r.etag = $etag RETURN {REL_FIELDS}"
)

MODEL_FIELDS = "m { .id, .document, .uploaded_at, .decommissioned } AS model"

GET_MODELS = f"UNWIND $ids AS id MATCH (m:Model {{tenant: $tenant, id: id}}) RETURN {MODEL_FIELDS}"
LIST_MODELS = f"MATCH (m:Model {{tenant: $tenant}}) RETURN {MODEL_FIELDS} ORDER BY m.id"
CREATE_MODELS = (
    "UNWIND $models AS model "
    "CREATE (m:Model {tenant: $tenant, id: model.id, document: model.document, "
    "uploaded_at: $now, decommissioned: false}) "
    f"RETURN {MODEL_FIELDS}"
)
DECOMMISSION_MODEL = (
    "MATCH (m:Model {tenant: $tenant, id: $id}) SET m.decommissioned = true "
    f"RETURN {MODEL_FIELDS}"
)
LOCK_MODEL = (
    "MATCH (m:Model {tenant: $tenant, id: $id}) SET m._lock = true REMOVE m._lock "
    "RETURN EXISTS { MATCH (t:Twin {tenant: $tenant, model: $id}) } AS in_use"
)
DELETE_MODEL = "MATCH (m:Model {tenant: $tenant, id: $id}) DELETE m"

PING = "RETURN 1 AS ok"

# Bulk import (one transaction): which batch ids are taken, lock the stored twins the batch's
# relationships use, find taken relationship ids, then write twins and edges laid out exactly as
# CREATE_TWIN and CREATE_*_RELATIONSHIP write them.
EXISTING_TWIN_IDS = "UNWIND $ids AS id MATCH (t:Twin {tenant: $tenant, id: id}) RETURN t.id AS id"
LOCK_TWIN_IDS = (
    "UNWIND $ids AS id MATCH (t:Twin {tenant: $tenant, id: id}) "
    "SET t._lock = true REMOVE t._lock RETURN t.id AS id"
)
EXISTING_RELATIONSHIP_IDS = (
    "UNWIND $keys AS key "
    "MATCH (:Twin {tenant: $tenant, id: key.source_id})-[r:REL {id: key.id}]->() "
    "RETURN r.source_id AS source_id, r.id AS id"
)
IMPORT_TWINS = (
    "UNWIND $rows AS row CREATE (t:Twin) SET t = row.node, t.tenant = $tenant, t.id = row.id"
)
IMPORT_LOCAL_RELATIONSHIPS = (
    "UNWIND $rows AS row "
    "MATCH (s:Twin {tenant: $tenant, id: row.source_id}) "
    "MATCH (t:Twin {tenant: $tenant, id: row.target}) "
    "CREATE (s)-[r:REL {tenant: $tenant, source_id: row.source_id, id: row.id, name: row.name, "
    "target: row.target, properties: row.properties, etag: row.etag}]->(t)"
)
IMPORT_REMOTE_RELATIONSHIPS = (
    "UNWIND $rows AS row "
    "MATCH (s:Twin {tenant: $tenant, id: row.source_id}) "
    "MERGE (t:RemoteTwin {tenant: $tenant, ref: row.target}) "
    "CREATE (s)-[r:REL {tenant: $tenant, source_id: row.source_id, id: row.id, name: row.name, "
    "target: row.target, properties: row.properties, etag: row.etag}]->(t)"
)

# Platform tenant records: keyed by the tenant itself.
SAVE_TENANT = (
    "MERGE (t:TenantRecord {tenant: $tenant}) ON CREATE SET t.created_at = $created_at "
    "SET t.disabled = $disabled"
)
TENANT_FIELDS = "t { id: t.tenant, .disabled, .created_at } AS tenant"
GET_TENANT = f"MATCH (t:TenantRecord {{tenant: $tenant}}) RETURN {TENANT_FIELDS}"
LIST_TENANTS = f"MATCH (t:TenantRecord) RETURN {TENANT_FIELDS} ORDER BY t.tenant"

# The audit chain. The head node is locked (a write) before it is read, so concurrent
# transactions of one tenant, on any replica, append one after another. MERGE under the
# uniqueness constraint creates the head exactly once.
LOCK_AUDIT_HEAD = (
    "MERGE (h:AuditHead {tenant: $tenant}) ON CREATE SET h.seq = 0, h.hash = $genesis "
    "SET h._lock = true REMOVE h._lock RETURN h.seq AS seq, h.hash AS hash"
)
APPEND_AUDIT = (
    "MATCH (h:AuditHead {tenant: $tenant}) SET h.seq = $seq, h.hash = $hash "
    "WITH h UNWIND $records AS r "
    "CREATE (:AuditRecord {tenant: $tenant, seq: r.seq, time: r.time, hash: r.hash, "
    "record: r.text})"
)
GET_AUDIT_HEAD = "MATCH (h:AuditHead {tenant: $tenant}) RETURN h.seq AS seq, h.hash AS hash"
READ_AUDIT = (
    "MATCH (a:AuditRecord {tenant: $tenant}) WHERE a.seq > $after AND a.seq <= $through "
    "RETURN a.seq AS seq, a.hash AS hash, a.time AS time, a.record AS text "
    "ORDER BY a.seq LIMIT $limit"
)
AUDIT_SEQ_RANGE = (
    "OPTIONAL MATCH (a:AuditRecord {tenant: $tenant}) WHERE a.time >= $since "
    "WITH min(a.seq) AS first "
    "OPTIONAL MATCH (b:AuditRecord {tenant: $tenant}) WHERE b.time < $until "
    "RETURN first, max(b.seq) AS last"
)
PRUNE_AUDIT = (
    "MATCH (a:AuditRecord {tenant: $tenant}) WHERE a.seq <= $through "
    "WITH a LIMIT $batch DELETE a RETURN count(*) AS pruned"
)
ADD_CHECKPOINT = (
    "CREATE (:AuditCheckpoint {tenant: $tenant, to_seq: $to_seq, from_seq: $from_seq, "
    "document: $document, created: timestamp()})"
)
LIST_CHECKPOINTS = (
    "MATCH (c:AuditCheckpoint {tenant: $tenant}) WHERE c.to_seq >= $from_seq "
    "AND c.to_seq <= $to_seq RETURN c.document AS document ORDER BY c.to_seq, c.created"
)
LAST_CHECKPOINT = (
    "MATCH (c:AuditCheckpoint {tenant: $tenant}) RETURN c.document AS document "
    "ORDER BY c.to_seq DESC, c.created DESC LIMIT 1"
)

# Policy versions: numbered inside the adding transaction, under a per-tenant lock node.
LOCK_POLICY_VERSIONS = (
    "MERGE (h:PolicyHead {tenant: $tenant}) SET h._lock = true REMOVE h._lock "
    "WITH h OPTIONAL MATCH (p:PolicyVersion {tenant: $tenant}) RETURN max(p.version) AS version"
)
LATEST_POLICY_VERSION = (
    "OPTIONAL MATCH (p:PolicyVersion {tenant: $tenant}) RETURN max(p.version) AS version"
)
ADD_POLICY_VERSION = (
    "CREATE (:PolicyVersion {tenant: $tenant, version: $version, text: $text, "
    "sha256: $sha256, source: $source, created_at: $created_at})"
)
LIST_POLICY_VERSIONS = (
    "MATCH (p:PolicyVersion {tenant: $tenant}) RETURN p { .version, .text, .sha256, .source, "
    ".created_at } AS version ORDER BY p.version"
)

# Federation (platform data; the partner's org stands in $tenant): replay nonces, partners.
REMEMBER_NONCE = (
    "MERGE (n:FederationNonce {tenant: $tenant, nonce: $nonce}) "
    "ON CREATE SET n.expires_at = $expires_at, n.first = $token "
    "RETURN n.first = $token AS fresh"
)
FORGET_EXPIRED_NONCES = (
    "MATCH (n:FederationNonce {tenant: $tenant}) WHERE n.expires_at < $now "
    "WITH n LIMIT 1000 DELETE n"
)
SAVE_PARTNER = "MERGE (p:PartnerRecord {tenant: $tenant}) SET p.settings = $settings"
DELETE_PARTNER = "MATCH (p:PartnerRecord {tenant: $tenant}) DELETE p RETURN count(*) AS deleted"
LIST_PARTNERS = (
    "MATCH (p:PartnerRecord) RETURN p.tenant AS org, p.settings AS settings ORDER BY org"
)
