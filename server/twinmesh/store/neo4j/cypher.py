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

REPLACE_TWIN = (
    "MATCH (t:Twin {tenant: $tenant, id: $id}) SET t = $node, t.tenant = $tenant, t.id = $id "
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
