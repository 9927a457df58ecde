"""The graph store port and its adapters (embedded SQLite, Neo4j)."""
