"""The production store: Neo4j through the official async driver."""

from twinmesh.store.neo4j.adapter import Neo4jStore

__all__ = ["Neo4jStore"]
